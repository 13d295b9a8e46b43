"""One error shape for every door: {"error": {"code", "detail", "fields"?}}.

Services raise `SulhError` subclasses carrying the contract's code; the DRF exception handler, the
Django error handlers and the websocket error frame all turn them into the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from config.degraded import caused_by_outage, outage

logger = logging.getLogger(__name__)


class SulhError(Exception):
    """A refusal a client can cause; never a server fault."""

    status = 400
    code = "bad_request"
    # A subclass may give a lazy translation: it is made a str in the language of the request that raises it.
    default_detail: str | Promise = "The request was refused."

    def __init__(self, detail: str | None = None, *, code: str | None = None, fields: dict | None = None):
        self.detail = str(detail or self.default_detail)
        if code:
            self.code = code
        self.fields = fields
        super().__init__(self.detail)


class DomainRuleError(SulhError):
    """A rule of the domain refused the request (422)."""

    status = 422
    code = "rule_refused"


class ConflictError(SulhError):
    status = 409
    code = "conflict"


class ForbiddenError(SulhError):
    status = 403
    code = "forbidden"
    default_detail = "You may not do this."


class NotFoundError(SulhError):
    status = 404
    code = "not_found"
    default_detail = "Not found."


class PayloadTooLarge(SulhError):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (DJANGO_MAX_BODY_BYTES)."""

    status = 413
    code = "payload_too_large"
    default_detail = _lazy("The request body is too large.")


def error_body(code: str, detail: str, fields: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail: Any) -> Any:
    """Turn DRF's nested ErrorDetail structures into plain lists of strings."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


_DRF_CODES = {
    drf.ParseError: "malformed",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    request = context.get("request")
    if request is not None:
        # Errors are plain JSON even on views that render something else (the OpenAPI schema).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    # Imported here: rest_framework.views loads the authentication classes, which may import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, SulhError):
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
    if caused_by_outage(exc):
        # Redis (the broker, the result store) is down: what needed it cannot be done now; nothing else is wrong.
        outage("Redis", exc)
        unavailable = _("This is unavailable for a moment. Please try again shortly.")
        return Response(error_body("service_unavailable", unavailable), status=503, headers={"Retry-After": "5"})
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected fault: let Django log it and answer 500 through handler500 (JSON for /api/).
        return None
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = error_body("invalid", _("The request has invalid fields."), fields)
        response.status_code = 400
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc, drf.APIException) else str(exc)
    if isinstance(exc, drf.ParseError):
        # The parser's own message names library internals; a person needs to know what to fix.
        detail = _("The request body is not valid JSON.")
    response.data = error_body(code, str(_flatten(detail)))
    return response


# An unknown path is a 404 for every caller and method: a POST without a CSRF token must not make it a 403.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/readyz"))


def _page_or_json(request: HttpRequest, status: int, code: str, detail: str, template: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body(code, detail), status=status)
    return render(request, template, {"detail": detail}, status=status)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        # Django reports a body over DATA_UPLOAD_MAX_MEMORY_SIZE as a suspicious 400; it is a 413.
        return _page_or_json(request, 413, PayloadTooLarge.code, str(PayloadTooLarge.default_detail), "errors/400.html")
    return _page_or_json(request, 400, "bad_request", _("The request could not be understood."), "errors/400.html")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page_or_json(request, 403, "forbidden", _("You may not do this."), "errors/403.html")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page_or_json(request, 404, "not_found", _("Not found."), "errors/404.html")


def handler500(request: HttpRequest) -> HttpResponse:
    return _page_or_json(request, 500, "server_error", _("Something went wrong on our side."), "errors/500.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page_or_json(
        request,
        403,
        "csrf_failed",
        _("The form expired or came from another site. Reload and try again."),
        "errors/403.html",
    )


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes calls this when an address and username have failed too often."""
    detail = _("Too many failed logins. Wait a few minutes and try again.")
    if _wants_json(request):
        return JsonResponse(error_body("too_many_attempts", detail), status=429)
    return render(request, "registration/locked_out.html", {"detail": detail}, status=429)
