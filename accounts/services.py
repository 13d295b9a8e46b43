"""Accounts: the users, their global roles and their API tokens.

Forum roles are memberships (cases.models.Membership); the global roles, administrator and regulator, are
Django groups, granted here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.errors import ForbiddenError, NotFoundError, SulhError

from . import broadcast
from .models import ApiToken, Gender, Profile
from .roles import ADMINISTRATOR, GLOBAL_ROLES, REGULATOR, TRANSLATORS

# last_used is written at most this often: a write per API call would double the cost of a read.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `key` is shown once, to its owner; the database keeps only its hash."""

    key: str
    token: ApiToken

    @property
    def expires(self) -> datetime:
        return self.token.expires


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def token_issue(*, user: User, name: str = "") -> IssuedToken:
    prefix = secrets.token_hex(4)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        digest=token_digest(key),
        expires=timezone.now() + timedelta(days=settings.SULH_TOKEN_TTL),
    )
    return IssuedToken(key=key, token=token)


def token_authenticate(*, key: str) -> ApiToken | None:
    """The live token with this key and an active user, or None. Marks it used (at most once a minute)."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(key), revoked__isnull=True, expires__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used is None or now - token.last_used >= TOKEN_TOUCH_EVERY:
        # Filtered on the old value so that concurrent calls write once.
        ApiToken.objects.filter(pk=token.pk, last_used=token.last_used).update(last_used=now)
        token.last_used = now
    return token


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked__isnull=True, expires__gt=timezone.now())


def _tokens_revoke(tokens: QuerySet[ApiToken]) -> int:
    now = timezone.now()
    with transaction.atomic():
        digests = list(tokens.filter(revoked__isnull=True).select_for_update().values_list("digest", flat=True))
        ApiToken.objects.filter(digest__in=digests).update(revoked=now)
        for digest in digests:
            # The sockets opened with the token close (config.ws groups them by the token's digest).
            broadcast.sockets_close_for_credential(credential=digest)
    return len(digests)


def token_revoke_one(*, user: User, token_id: int) -> None:
    """The owner revokes one of their tokens; anyone else's, or an unknown one, is a 404."""
    if not _tokens_revoke(ApiToken.objects.filter(pk=token_id, user=user)):
        raise NotFoundError()


def token_revoke(*, user: User, token: ApiToken | None = None) -> None:
    """Revoke one token of the user, or all of them."""
    tokens = ApiToken.objects.filter(user=user)
    if token is not None:
        tokens = tokens.filter(pk=token.pk)
    _tokens_revoke(tokens)


# --- Two-factor (TOTP, django-otp) ------------------------------------------------------------------


class OtpRequired(SulhError):
    status = 400
    code = "otp_required"


class OtpInvalid(SulhError):
    status = 400
    code = "otp_invalid"


def totp_device(*, user: User | AbstractBaseUser | AnonymousUser) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if they enrolled."""
    if not user.is_authenticated and not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def totp_verify(*, user: User, code: str) -> TOTPDevice:
    """The user's confirmed device when `code` is its current code; else OtpInvalid. django-otp refuses a code
    used before, and after each wrong code makes the next try wait (1, 2, 4 … seconds)."""
    device = totp_device(user=user)
    if device is None:
        raise OtpInvalid(_otp_invalid_text())
    _totp_check(device, code)
    return device


def _totp_check(device: TOTPDevice, code: str) -> None:
    allowed, why = device.verify_is_allowed()
    if not allowed:
        raise OtpInvalid(gettext("Too many wrong codes. Wait a few seconds and try again with a new code."))
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6) or not device.verify_token(code):
        raise OtpInvalid(_otp_invalid_text())


def totp_enrol_start(*, user: User) -> TOTPDevice:
    """An unconfirmed device with a fresh secret (one at a time; a new start replaces it)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_enrol_pending(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def totp_enrol_confirm(*, user: User, code: str) -> TOTPDevice:
    device = totp_enrol_pending(user=user)
    if device is None:
        raise OtpInvalid(_otp_invalid_text())
    _totp_check(device, code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def totp_disable(*, user: User, code: str) -> None:
    """Turn two-factor off, proven with a current code; refused while the user's role needs it."""
    if two_factor_required(user=user):
        raise ForbiddenError(gettext("Your role needs two-factor authentication: it cannot be turned off."))
    totp_verify(user=user, code=code)
    TOTPDevice.objects.filter(user=user).delete()


def _otp_invalid_text() -> str:
    return gettext("The code is not right. Enter the six digits your authenticator app shows now.")


def user_roles(*, user: User) -> set[str]:
    """Every role the user holds: global ones (groups; a superuser counts as administrator) and forum ones."""
    roles = set(user.groups.filter(name__in=GLOBAL_ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMINISTRATOR)
    # Forum roles are cases.Membership rows; read through the reverse relation (accounts imports no cases code).
    roles.update(user.memberships.values_list("role", flat=True))
    return roles


def can_translate(user: User | AnonymousUser) -> bool:
    """Who may change the translations at /rosetta/ (settings.ROSETTA_ACCESS_CONTROL_FUNCTION): administrators,
    and the members of the "translators" group (an administrator adds them in the admin)."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or user.groups.filter(name__in=(ADMINISTRATOR, TRANSLATORS)).exists())


def two_factor_required(*, user: User) -> bool:
    """Whether the policy (settings.SULH_REQUIRE_2FA) makes this user enrol a second factor."""
    required = set(settings.SULH_REQUIRE_2FA)
    return bool(required) and bool(user_roles(user=user) & required)


def two_factor_missing(*, user: User) -> bool:
    """The user must have a second factor and has none yet."""
    return two_factor_required(user=user) and totp_device(user=user) is None


def password_check(*, password: str, user: User | None = None) -> None:
    """Django's AUTH_PASSWORD_VALIDATORS; raises django.core.exceptions.ValidationError."""
    password_validation.validate_password(password, user)


def role_groups_ensure() -> None:
    """The global roles as groups; administrators get every permission on Sulh's own models."""
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATOR)
    Group.objects.get_or_create(name=REGULATOR)
    perms = Permission.objects.filter(
        content_type__app_label__in=[
            "cases",
            "deliberation",
            "audit",
            "auth",
            "accounts",
            "otp_totp",
            "django_celery_beat",
            "axes",
        ]
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
        password_check(password=password, user=user)
        user.set_password(password)
        user.save()
    return user


def user_deactivate(*, user: User) -> None:
    """Deactivation closes the user's sockets (accounts.signals) and revokes their token."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    token_revoke(user=user)


# --- What a user says of themselves ------------------------------------------------------------------------


def gender_of(*, user: Any) -> str:
    """The gender the user declared ("" when not said)."""
    return Profile.objects.filter(user=user).values_list("gender", flat=True).first() or ""


def gender_checked(gender: str, *, field: str = "gender") -> str:
    """A self-declared gender as given (a form, the API, an invitation, a party): one of Gender or blank, else a
    400 `invalid` naming `field`. The one rule every door that records a gender goes through."""
    if gender not in ("", *Gender.values):
        message = gettext("Choose a gender from the list, or leave it blank.")
        raise SulhError(message, code="invalid", fields={field: [message]})
    return gender


def gender_declare(*, user: Any, gender: str) -> Profile:
    """Declare (or take back, with "") one's own gender: only the user themselves, on their account page."""
    profile, _created = Profile.objects.update_or_create(user=user, defaults={"gender": gender_checked(gender)})
    return profile
