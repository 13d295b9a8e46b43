"""Who is on the other end: the client's address, trusted from `X-Forwarded-For` only when a configured proxy says it.

`DJANGO_TRUSTED_PROXIES` lists the proxies' addresses or networks (empty by default: nothing is trusted and the
peer's own address is the client). `X-Forwarded-For` is read right to left, skipping the trusted hops; the first
untrusted address is the client. A client talking to us directly can write anything in that header, so from an
untrusted peer it is ignored. DRF's throttles, django-axes, the websocket handshake and the logs all use the one
address resolved here (PITFALLS.md: uvicorn and DRF would each otherwise trust the header on their own).
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from functools import lru_cache
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

# request.META keys: the resolved client, and the address of the peer that actually connected.
CLIENT_IP = "SULH_CLIENT_IP"
PEER_IP = "SULH_PEER_ADDR"

_current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("sulh_client_ip", default="-")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # "[::1]:443"
        raw = raw[1 : raw.index("]")]
    elif raw.count(":") == 1:  # "203.0.113.7:51234"
        raw = raw.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(raw: str) -> bool:
    address = _address(raw)
    return address is not None and any(address in network for network in trusted_networks())


def resolve(peer: str, forwarded_for: str | None) -> str:
    """The client's address given the connecting peer and the `X-Forwarded-For` it sent."""
    if not forwarded_for or not is_trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Garbage in the header: what is left of it can't be trusted; the last good hop is the client.
            break
        client = str(address)
        if not is_trusted(client):
            break
    return client


def forwarded_proto(peer: str, header: str | None) -> str | None:
    """`X-Forwarded-Proto` when a trusted proxy sent it (its first value), else None."""
    if not header or not is_trusted(peer):
        return None
    proto = header.split(",")[0].strip().lower()
    return proto if proto in ("http", "https") else None


def client_ip(request: HttpRequest) -> str:
    """The resolved client address of a request (django-axes calls this: AXES_CLIENT_IP_CALLABLE)."""
    meta = request.META
    if CLIENT_IP not in meta:
        peer = meta.get("REMOTE_ADDR") or ""
        meta[PEER_IP] = peer
        meta[CLIENT_IP] = resolve(peer, meta.get("HTTP_X_FORWARDED_FOR"))
    return str(meta[CLIENT_IP])


def scope_client_ip(scope: dict[str, Any]) -> str:
    """The resolved client address of a websocket (or any ASGI) connection."""
    client = scope.get("client") or ("", 0)
    headers = dict(scope.get("headers") or [])
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
    return resolve(str(client[0] or ""), forwarded)


@sync_and_async_middleware
def client_ip_middleware(get_response: Any) -> Any:
    """Early in MIDDLEWARE: every later layer (axes, throttles, views, logs) sees the resolved client address,
    in REMOTE_ADDR too; the connecting peer stays in META["SULH_PEER_ADDR"]. Sync and async alike, so that it
    adds no thread switch under ASGI."""

    def _enter(request: HttpRequest) -> contextvars.Token[str]:
        ip = client_ip(request)
        request.META["REMOTE_ADDR"] = ip
        return _current_ip.set(ip)

    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            token = _enter(request)
            try:
                return await get_response(request)
            finally:
                _current_ip.reset(token)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:  # type: ignore[misc]  # the async one above
            token = _enter(request)
            try:
                return get_response(request)
            finally:
                _current_ip.reset(token)

    return middleware


class ClientIPLogFilter(logging.Filter):
    """Gives every log record `client_ip`: the resolved address of the request being served, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "client_ip"):
            # Django logs a request's outcome (django.request) after the middleware returned, with the request.
            request = getattr(record, "request", None)
            meta = getattr(request, "META", None)
            record.client_ip = meta[CLIENT_IP] if isinstance(meta, dict) and CLIENT_IP in meta else _current_ip.get()
        return True
