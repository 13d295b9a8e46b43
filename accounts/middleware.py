"""Browser sessions that end (idle or too old), and the roles that must set up a second factor first."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from config.errors import error_body
from config.sessions import session_expired, session_touch

from . import services
from .authentication import enrolment_required_error


class SessionLifetimeMiddleware:
    """Logs a browser session out after `SULH_SESSION_IDLE_MINUTES` without a request, or `SESSION_COOKIE_AGE`
    seconds after its login; the request then goes on as anonymous (a page asks to log in, the API answers 401).
    Logging out also closes the session's websockets (accounts.signals)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            if session_expired(session):
                logout(request)
                messages.info(request, _("Your session ended. Log in again to go on."))
            else:
                session_touch(session)
        return self.get_response(request)


class RequireTwoFactorMiddleware:
    """Users holding a role listed in `SULH_REQUIRE_2FA` reach nothing but the two-factor set-up (and logging
    out) until they have a device. API calls get 403 `otp_enrolment_required`; token calls are refused by the
    token authentication (accounts.authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SULH_REQUIRE_2FA and request.user.is_authenticated and not self._exempt(request):
            if services.two_factor_missing(user=request.user):
                if request.path.startswith("/api/"):
                    exc = enrolment_required_error()
                    return JsonResponse(error_body(exc.code, exc.detail), status=exc.status)
                messages.warning(request, _("Your role needs two-factor authentication. Set it up to go on."))
                return redirect("account-two-factor")
        return self.get_response(request)

    @staticmethod
    def _exempt(request: HttpRequest) -> bool:
        path = request.path
        allowed = (reverse("account-two-factor"), reverse("logout"), reverse("api-logout"), reverse("api-token"))
        return path in allowed or path.startswith(("/i18n/", "/healthz", "/" + settings.STATIC_URL.lstrip("/")))
