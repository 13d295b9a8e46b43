"""How API clients and token websockets prove who they are: `Authorization: Token <key>`, looked up by its hash."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from config.errors import ForbiddenError

from . import services
from .models import ApiToken


class OtpEnrolmentRequired(ForbiddenError):
    code = "otp_enrolment_required"


def enrolment_required_error() -> OtpEnrolmentRequired:
    return OtpEnrolmentRequired(
        _("Your role needs two-factor authentication. Set it up on your account page in the browser first.")
    )


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        token = services.token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid, has expired or was revoked."))
        if services.two_factor_missing(user=token.user):
            raise enrolment_required_error()
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def websocket_auth(key: str | None, user: Any) -> tuple[Any, str, float | None] | None:
    """For a websocket handshake: with a token `key`, its user, the credential the socket is grouped under (the
    key's digest, which revoking the token closes: accounts.services.token_revoke) and when the token expires (a
    POSIX time: the socket closes then); with a session's `user`, that user, no credential (config.ws groups by the
    session key) and no end (config.ws knows the browser session's). None refuses the socket: an unknown, expired
    or revoked token, or a user whose role needs a second factor they have not set up."""
    if key is not None:
        token = services.token_authenticate(key=key)
        if token is None or services.two_factor_missing(user=token.user):
            return None
        return token.user, token.digest, token.expires.timestamp()
    if services.two_factor_missing(user=user):
        return None
    return user, "", None
