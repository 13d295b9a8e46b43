"""The websocket handshake's Origin check: scheme, host and port must all match an allowed origin.

Allowed are the server's own origin, as Django's CSRF check decides it for a form post (the scheme of the
connection, `https` when a trusted proxy says so, and the handshake's Host header, which must be one of
ALLOWED_HOSTS), and every origin in CSRF_TRUSTED_ORIGINS (with Django's `https://*.example.com` subdomain form).
A non-browser client sends an Origin equal to the server's base URL (CONTRACT.md section 5), which is that same
origin. channels' AllowedHostsOriginValidator compared host names only, so `https://host:9999` passed for a server
on `http://host:8000`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from config.proxies import forwarded_proto, scope_client_ip

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None when it does not parse."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _headers(scope: dict[str, Any]) -> dict[bytes, str]:
    return {name.lower(): value.decode("latin-1") for name, value in scope.get("headers") or []}


def _connection_scheme(scope: dict[str, Any], headers: dict[bytes, str]) -> str:
    peer = str((scope.get("client") or ("", 0))[0] or "")
    proto = forwarded_proto(peer, headers.get(b"x-forwarded-proto"))
    if proto:
        return proto
    ssl_header = settings.SECURE_PROXY_SSL_HEADER
    if ssl_header:
        # The operator declared that the proxy's header says whether the connection is secure, as for pages.
        name, secure_value = ssl_header
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        if headers.get(header, "").split(",")[0].strip() == secure_value:
            return "https"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def _own_origin(scope: dict[str, Any], headers: dict[bytes, str]) -> tuple[str, str, int] | None:
    scheme = _connection_scheme(scope, headers)
    host = headers.get(b"host")
    if host is None:
        # Every HTTP/1.1 handshake carries a Host; an in-process test client may not: the server's base URL.
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else f"{settings.HOST}:{settings.PORT}"
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return _origin(scheme, host)


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = _headers(scope)
    raw = headers.get(b"origin")
    if not raw:
        return False
    try:
        parsed = urlsplit(raw)
    except ValueError:
        return False
    origin = _origin(parsed.scheme, parsed.netloc)
    if origin is None or parsed.path or parsed.query or parsed.fragment:
        return False
    if origin == _own_origin(scope, headers):
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_parts = urlsplit(trusted)
        if trusted_parts.netloc.startswith("*"):
            # Django's form: "https://*.example.com" trusts the domain and its subdomains, on the scheme's default
            # port unless one is given.
            domain, port = split_domain_port(trusted_parts.netloc[1:])
            wanted_port = int(port) if port else _DEFAULT_PORTS.get(trusted_parts.scheme)
            if (origin[0], origin[2]) == (trusted_parts.scheme, wanted_port) and is_same_domain(origin[1], domain):
                return True
        elif origin == _origin(trusted_parts.scheme, trusted_parts.netloc):
            return True
    return False


class OriginValidator:
    """ASGI middleware for websocket routes: a handshake from an origin not allowed is refused (HTTP 403), and the
    refusal is one log line."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            origin = _headers(scope).get(b"origin", "")
            logger.warning(
                "websocket handshake refused: origin %r not allowed on %s from %s",
                origin[:100],
                scope.get("path", "")[:200],
                scope_client_ip(scope),
            )
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


class RefusalLogFilter(logging.Filter):
    """For uvicorn's logger: uvicorn adds two INFO lines of its own to every refused handshake (`"WebSocket /ws/…"
    403` and `connection rejected (403 Forbidden)`); the one WARNING line above, with the reason, is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.msg.endswith(('" 403', "rejected (%d %s)")):
            return True  # Not one of them: the message is not even formatted.
        message = record.getMessage()
        return not (message.endswith('" 403') or message.startswith("connection rejected (403"))
