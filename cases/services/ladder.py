"""The escalation ladder: up one rung at a time with a reason naming what failed; a skip only for an imminent
risk with a written justification; down any number of rungs whenever cooperation returns (shared/DOMAIN.md);
review reminders."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainRuleError, ForbiddenError, NotFoundError, SulhError

from .. import ladder_stats, workflows
from .. import rules as case_rules
from ..models import (
    Case,
    Reminder,
    Rung,
)
from .common import StaleVersion, check_can_manage, event_append, lock_case


def case_escalate(
    *,
    user: User,
    case_id: int | str,
    direction: str,
    reason: str,
    version: int,
    to_level: int | None = None,
    justification: str = "",
) -> Case:
    """Move a case up or down its forum's ladder. Raises the contract's codes (409 stale_version; 422
    reason_required, rung_skip_not_allowed, already_at_top, already_at_base, case_not_open)."""
    reason = (reason or "").strip()
    justification = (justification or "").strip()
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
        if version != case.version:
            raise StaleVersion()
        if case.state in workflows.ENDED:
            raise DomainRuleError(_("Only an open case moves on the ladder."), code="case_not_open")
        if not reason:
            raise DomainRuleError(_("Say what failed, or what changed, at this rung."), code="reason_required")
        rungs = {rung.level: rung for rung in case.forum.ladder.rungs.all()}
        current = case.rung.level
        top, base = max(rungs), min(rungs)
        if direction == "up":
            if current >= top:
                raise DomainRuleError(_("The case is already at the top of the ladder."), code="already_at_top")
            target = current + 1 if to_level is None else to_level
            if target <= current or target > top:
                raise _bad_level(
                    _("Up moves go to a rung between %(low)s and %(high)s.") % {"low": current + 1, "high": top}
                )
            if target > current + 1 and not (case.risk_level == "imminent" and justification):
                raise DomainRuleError(
                    _(
                        "A case climbs one rung at a time; skipping rungs needs an imminent risk and a written justification."
                    ),
                    code="rung_skip_not_allowed",
                )
        elif direction == "down":
            if current <= base:
                raise DomainRuleError(_("The case is already at the base of the ladder."), code="already_at_base")
            target = current - 1 if to_level is None else to_level
            if target >= current or target < base:
                raise _bad_level(
                    _("Down moves go to a rung between %(low)s and %(high)s.") % {"low": base, "high": current - 1}
                )
        else:
            raise SulhError(_("direction is up or down."), code="invalid", fields={"direction": [_("up or down")]})
        rung = rungs.get(target)
        if rung is None:
            raise _bad_level(_("This ladder has no rung %(level)s.") % {"level": target})
        if rung.movable_by == Rung.MovableBy.ADMINISTRATOR and not case_rules.is_administrator(user):
            raise ForbiddenError(_("Only administrators may move a case onto this rung."))

        now = timezone.now()
        source = case.rung
        ladder_stats.record_move(case=case, source=source, target=rung, at=now)
        case.rung = rung
        case.version += 1
        # Every move sets a review date; at the base there is nothing left to step down from.
        case.review_due = None if target == base else (now + timedelta(days=case.forum.ladder.review_days)).date()
        case.save(update_fields=["rung", "version", "review_due"])
        data = {
            "from": source.level,
            "to": rung.level,
            "from_code": source.code,
            "to_code": rung.code,
            "reason": reason,
        }
        if justification:
            data["justification"] = justification
        if case.review_due:
            data["review_due"] = case.review_due.isoformat()
        event_append(
            case=case, kind="escalated" if direction == "up" else "de_escalated", actor=user, at=now, data=data
        )
        # A move answers every open suggestion about the ladder.
        Reminder.objects.filter(case=case, resolved_at__isnull=True).update(resolved_at=now)
    return case


def _bad_level(detail: str) -> SulhError:
    return SulhError(detail, code="invalid", fields={"to_level": [detail]})


def reminders_create_for_due_reviews(*, today: date | None = None) -> int:
    """Ask facilitators whether cases past their review date can step down. Safe to run twice: the
    unique (case, kind, due_on) constraint lets each review date give one reminder. Returns how many
    were created."""
    today = today or timezone.localdate()
    already = Reminder.objects.filter(
        case=OuterRef("pk"), kind=Reminder.Kind.CONSIDER_STEP_DOWN, due_on=OuterRef("review_due")
    )
    due = (
        Case.objects.filter(review_due__lte=today, rung__level__gt=1)
        .exclude(state__in=workflows.ENDED)
        .exclude(Exists(already))
    )
    now = timezone.now()
    fresh = []
    for case_id, review_due in due.values_list("id", "review_due").iterator():
        assert review_due is not None  # review_due__lte matches no NULL.
        fresh.append(
            Reminder(case_id=case_id, kind=Reminder.Kind.CONSIDER_STEP_DOWN, due_on=review_due, created_at=now)
        )
    # A concurrent run may insert the same rows between the query and here; the constraint keeps one.
    Reminder.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=1000)
    return len(fresh)


def reminder_dismiss(*, user: User, reminder_id: int) -> None:
    reminder = Reminder.objects.select_related("case__forum").filter(pk=reminder_id).first()
    if reminder is None:
        raise NotFoundError()
    check_can_manage(user=user, forum=reminder.case.forum)
    Reminder.objects.filter(pk=reminder.pk, resolved_at__isnull=True).update(resolved_at=timezone.now())
