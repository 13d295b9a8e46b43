"""API throttles that fail open. Their counts live in the cache, which is Redis in production: when Redis is down
DRF's own throttles raise and every throttled request becomes a 500 (PITFALLS.md). Here the request goes through
unthrottled, and the outage is logged once a minute per process (config.degraded.outage), not once a request.

Anonymous callers are keyed on the client address resolved from the trusted proxies (config/proxies.py), never on
an `X-Forwarded-For` the client wrote itself (DRF's own get_ident believes that header)."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from config.degraded import outage
from config.proxies import client_ip


class FailOpen:
    """Put before a DRF throttle class: its cache failing lets the request through, and it counts an anonymous
    caller by the resolved client address."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]  # the throttle class after it
        except Exception as error:  # noqa: BLE001 - the cache is down; throttling must not take the API with it
            outage("The throttles' cache", error, consequence="API throttling is off")
            return True

    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class AnonThrottle(FailOpen, AnonRateThrottle):
    pass


class UserThrottle(FailOpen, UserRateThrottle):
    pass
