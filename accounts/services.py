"""Accounts: the users, their global roles and their API tokens.

Forum roles are memberships (cases.models.Membership); the global roles, administrator and regulator, are
Django groups, granted here.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from rest_framework.authtoken.models import Token

from .roles import ADMINISTRATOR, GLOBAL_ROLES, REGULATOR


def token_issue(*, user: User) -> Token:
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: User) -> None:
    # Deleting the token closes the sockets opened with it (accounts.signals).
    Token.objects.filter(user=user).delete()


def role_groups_ensure() -> None:
    """The global roles as groups; administrators get every permission on Sulh's own models."""
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATOR)
    Group.objects.get_or_create(name=REGULATOR)
    perms = Permission.objects.filter(
        content_type__app_label__in=["cases", "deliberation", "auth", "authtoken", "django_celery_beat", "axes"]
    )
    admin_group.permissions.set(perms)


def role_grant(*, user: User, role: str) -> None:
    if role not in GLOBAL_ROLES:
        raise ValueError(f"unknown role {role!r}")
    role_groups_ensure()
    user.groups.add(Group.objects.get(name=role))
    if role == ADMINISTRATOR and not user.is_staff:
        user.is_staff = True  # Administrators work in the Django admin too.
        user.save(update_fields=["is_staff"])


@transaction.atomic
def user_ensure(*, username: str, password: str, first_name: str = "", reset_password: bool = False) -> User:
    """Create the user with `password` if missing. An existing user's password is changed only when
    `reset_password` asks for it: an operator's own password is never put back to a published one."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": first_name})
    if created or reset_password:
        user.set_password(password)
        user.save()
    return user


def user_deactivate(*, user: User) -> None:
    """Deactivation closes the user's sockets (accounts.signals) and revokes their token."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    token_revoke(user=user)
