"""Writes. Every change to forums, memberships and roles goes through here, whichever door asked."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import Forum, Ladder, Membership, Region, Rung
from .roles import ADMINISTRATOR, GLOBAL_ROLES, REGULATOR

User = get_user_model()

DEFAULT_LADDER_NAME = "Default ladder"
# The pyramid of shared/DOMAIN.md, rung 1 at the base. Migration 0002 creates it; this copy restores it
# if it was ever deleted (migrations keep their own frozen data).
DEFAULT_RUNGS = [
    (1, "dialogue", "Dialogue", "Restorative dialogue between the parties, facilitated by the forum."),
    (2, "mediation", "Mediation", "Shuttle mediation by elders or the jaha; guarantors engaged."),
    (3, "decision", "Decision", "A binding forum decision (arbitration, faisla) the parties mandated."),
    (
        4,
        "guarantees",
        "Guarantees",
        "Guarantees called in: deposit forfeited, guarantors act, written compliance plan.",
    ),
    (5, "police", "Police", "Referral to the police or a state-linked council (DRC, SHO, FIR)."),
    (6, "court", "Court", "Court proceedings, protective orders (incapacitation)."),
]


def token_issue(*, user) -> Token:
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user) -> None:
    # Deleting the token closes the sockets opened with it (cases.signals).
    Token.objects.filter(user=user).delete()


@transaction.atomic
def ladder_default() -> Ladder:
    """The six-rung default ladder every forum starts with."""
    ladder, created = Ladder.objects.get_or_create(name=DEFAULT_LADDER_NAME)
    if created:
        Rung.objects.bulk_create(
            Rung(ladder=ladder, level=level, code=code, name=name, description=description)
            for level, code, name, description in DEFAULT_RUNGS
        )
    return ladder


def region_ensure(*, code: str, name: str, parent: Region | None = None) -> Region:
    kind = Region.Kind.DISTRICT if parent else Region.Kind.PROVINCE
    region, _created = Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": parent})
    return region


def forum_ensure(*, name: str, kind: str, region: Region, ladder: Ladder | None = None) -> Forum:
    forum, _created = Forum.objects.get_or_create(
        name=name, defaults={"kind": kind, "region": region, "ladder": ladder or ladder_default()}
    )
    return forum


def membership_grant(*, user, forum: Forum, role: str) -> Membership:
    membership, _created = Membership.objects.get_or_create(user=user, forum=forum, role=role)
    return membership


def role_groups_ensure() -> None:
    """The global roles as groups; administrators get every permission on Sulh's own models."""
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATOR)
    Group.objects.get_or_create(name=REGULATOR)
    perms = Permission.objects.filter(
        content_type__app_label__in=["cases", "deliberation", "auth", "authtoken", "django_celery_beat", "axes"]
    )
    admin_group.permissions.set(perms)


def role_grant(*, user, role: str) -> None:
    if role not in GLOBAL_ROLES:
        raise ValueError(f"unknown role {role!r}")
    role_groups_ensure()
    user.groups.add(Group.objects.get(name=role))
    if role == ADMINISTRATOR and not user.is_staff:
        user.is_staff = True  # Administrators work in the Django admin too.
        user.save(update_fields=["is_staff"])


@transaction.atomic
def user_ensure(*, username: str, password: str, first_name: str = "") -> User:
    """Create the user if missing; always (re)set the password."""
    user, _created = User.objects.get_or_create(username=username, defaults={"first_name": first_name})
    user.set_password(password)
    user.save()
    return user


def user_deactivate(*, user) -> None:
    """Deactivation closes the user's sockets (cases.signals) and revokes their token."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    token_revoke(user=user)
