"""Reads. Selectors own the scoping (a forum outside the caller's is never returned) and the joins."""

from django.db.models import Prefetch, QuerySet

from . import rules as case_rules
from .models import Forum, Membership, Rung


def forum_list_for_user(*, user) -> QuerySet[Forum]:
    """The forums the user works in; every forum for administrators; none for anyone else."""
    qs = Forum.objects.select_related("region", "region__parent", "ladder").prefetch_related(
        Prefetch("ladder__rungs", queryset=Rung.objects.order_by("level"))
    )
    if case_rules.is_administrator(user):
        return qs.filter(is_active=True)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(is_active=True, memberships__user=user).distinct()


def forum_get_for_user(*, user, forum_id: int) -> Forum | None:
    return forum_list_for_user(user=user).filter(pk=forum_id).first()


def membership_roles_for_user(*, user) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    for forum_id, role in Membership.objects.filter(user=user).values_list("forum_id", "role"):
        roles.setdefault(forum_id, set()).add(role)
    return roles


def user_roles(*, user) -> list[str]:
    """The user's roles for the pages: global ones first, then forum roles."""
    found: list[str] = []
    if case_rules.is_administrator(user):
        found.append("administrator")
    if case_rules.is_regulator(user):
        found.append("regulator")
    forum_roles = set(Membership.objects.filter(user=user).values_list("role", flat=True).distinct())
    for role in (Membership.Role.FACILITATOR, Membership.Role.MONITOR):
        if role in forum_roles:
            found.append(role.value)
    return found
