"""The world the synthetic cases happen in: regions, forums (on the default ladder) and their synthetic staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from cases import services
from cases.models import Membership, Rung

from .vocabulary import FACILITATORS_PER_FORUM, MONITORS_PER_FORUM, SESSIONS, VOCABULARY


@dataclass(frozen=True)
class ForumInfo:
    """What the generator needs of a forum, read once."""

    id: int
    kind: str
    prefix: str
    region_id: int  # The district: recurrences are looked for within it.
    people: dict
    villages: tuple[str, ...]
    base_rung_id: int
    base_level: int
    rungs: tuple[tuple[int, int, str], ...]  # (level, id, code), base first, as far as facilitators may move.
    guests: tuple[int, ...]  # Accounts of invited party representatives and elders, reused across sessions.
    review_days: int
    facilitators: tuple[int, ...]
    monitors: tuple[int, ...]
    usernames: dict  # Of the monitors, as `monitor_assigned` names them.
    weight: int


def world_ensure() -> list[ForumInfo]:
    """The regions, forums (on the default ladder) and their synthetic staff. Idempotent, by code and name."""
    User = get_user_model()
    ladder = services.ladder_default()
    forums = []
    # Read at once what a run after the first finds there: each run adding cases would otherwise ask for the
    # staff and their memberships one by one (a tenth of a run adding 2,000 cases).
    users = dict(User.objects.filter(username__startswith="synthetic-").values_list("username", "pk"))
    granted = set(
        Membership.objects.filter(user__username__startswith="synthetic-").values_list("user_id", "forum_id", "role")
    )
    for entry in VOCABULARY["districts"]:
        (province_code, province_name), (district_code, district_name) = entry["province"], entry["district"]
        province = services.region_ensure(code=province_code, name=province_name)
        district = services.region_ensure(code=district_code, name=district_name, parent=province)
        for name, kind, weight in entry["forums"]:
            forum = services.forum_ensure(name=name, kind=kind, region=district, ladder=ladder)
            staff: dict[str, list[int]] = {}
            usernames = {}
            for role, count in (
                (Membership.Role.FACILITATOR, FACILITATORS_PER_FORUM),
                (Membership.Role.MONITOR, MONITORS_PER_FORUM),
            ):
                staff[role] = []
                for number in range(1, count + 1):
                    username = f"synthetic-{district_code}-{forum.kind}-{role}-{number}"
                    pk = users.get(username) or _staff_create(User, username)
                    if (pk, forum.pk, role) not in granted:
                        services.membership_grant(user=User.objects.get(pk=pk), forum=forum, role=role)
                    staff[role].append(pk)
                    usernames[pk] = username
            staff["guest"] = []
            for number in range(1, SESSIONS["guests_per_forum"] + 1):
                username = f"synthetic-{district_code}-{forum.kind}-guest-{number}"
                staff["guest"].append(users.get(username) or _staff_create(User, username))
            rungs: list[tuple[int, int, str]] = []  # (level, id, code)
            for rung in forum.ladder.rungs.order_by("level"):
                if rungs and rung.movable_by == Rung.MovableBy.ADMINISTRATOR:
                    break  # Synthetic staff are facilitators: they climb no higher than they may.
                rungs.append((rung.level, rung.pk, rung.code))
            forums.append(
                ForumInfo(
                    id=forum.pk,
                    kind=forum.kind,
                    prefix=services.REFERENCE_PREFIX[forum.kind],
                    region_id=district.pk,
                    people=VOCABULARY["people"][entry["people"]],
                    villages=tuple(entry["villages"]),
                    base_rung_id=rungs[0][1],
                    base_level=rungs[0][0],
                    rungs=tuple(rungs),
                    guests=tuple(staff["guest"]),
                    review_days=forum.ladder.review_days,
                    facilitators=tuple(staff[Membership.Role.FACILITATOR]),
                    monitors=tuple(staff[Membership.Role.MONITOR]),
                    usernames={pk: usernames[pk] for pk in staff[Membership.Role.MONITOR]},
                    weight=weight,
                )
            )
    return forums


def _staff_create(User, username: str) -> int:
    """A synthetic member of staff, who cannot log in: an unusable password, and a name that says what they are."""
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user.pk


def history_present() -> bool:
    """Whether synthetic cases were added here before (in any of the synthetic world's forums)."""
    from cases.models import Case

    names = [name for entry in VOCABULARY["districts"] for name, _kind, _weight in entry["forums"]]
    return Case.objects.filter(forum__name__in=names).exists()
