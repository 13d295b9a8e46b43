"""Response headers that keep a page's content where it belongs: Content-Security-Policy, Permissions-Policy and
`Cache-Control: no-store`. (Referrer-Policy, X-Frame-Options and nosniff come from Django's SecurityMiddleware.)

Scripts load only from Sulh's own static files. The few inline `<script type="importmap">` blocks (data telling
the browser where the modules' hashed files are) carry the request's nonce: `{{ request.csp_nonce }}`. Inline
`style="…"` attributes are allowed (the bar charts' widths); `<style>` elements are not.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import SimpleLazyObject

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def content_security_policy(nonce: str, *, api_docs: bool = False) -> str:
    # The offline API docs (drf-spectacular's Swagger UI, served split so its script is a file) bring one
    # <style> element of their own: only that page allows inline styles.
    styles = "'self' 'unsafe-inline'" if api_docs else "'self'; style-src-attr 'unsafe-inline'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src {styles}",
            "img-src 'self' data:",
            "font-src 'self'",
            # Same-origin websockets ('self' covers ws:// and wss:// of this host in CSP Level 3).
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        nonce = SimpleLazyObject(lambda: secrets.token_urlsafe(18))
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if request.path.startswith(self.static_prefix):
            # Static files name no one and are cached for long (whitenoise); they need no policy of their own.
            return response
        response.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(str(nonce), api_docs=request.path.startswith("/api/docs/")),
        )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # Pages and API answers carry names of parties and users: no copy in the browser's or a proxy's cache
        # (a shared computer's back button after logging out shows nothing).
        cache_control = response.headers.get("Cache-Control", "")
        if "no-store" not in cache_control:
            response.headers["Cache-Control"] = "no-store"
        return response
