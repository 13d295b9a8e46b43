"""Recording a read. Every door that shows a case, an agreement, a transcript, a party list or an export with
names calls `read_record` once the caller's right to see it has been checked: one INSERT, no other query."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.http import HttpRequest

from config.proxies import client_ip, scope_client_ip

from .models import ReadRecord

Kind = ReadRecord.Kind
Door = ReadRecord.Door


def _clean_ip(raw: str | None) -> str | None:
    """An address PostgreSQL's inet accepts, or None (a unix socket, a test client without one)."""
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def request_ip(request: HttpRequest) -> str | None:
    """The client's address as resolved from the trusted proxies (config.proxies)."""
    return _clean_ip(client_ip(request))


def scope_ip(scope: dict[str, Any]) -> str | None:
    """The same for a websocket connection's ASGI scope."""
    return _clean_ip(scope_client_ip(scope))


def read_record(
    *,
    user: Any,
    kind: str,
    door: str,
    case_id: int | None = None,
    object_id: int | None = None,
    request: HttpRequest | None = None,
    ip: str | None = None,
) -> ReadRecord:
    """Append one read to the log. `kind` and `door` are the model's choices (a wrong one is a programming error,
    not a client's). The address comes from `request` unless `ip` is given."""
    if kind not in Kind.values:
        raise ValueError(f"unknown read kind {kind!r}")
    if door not in Door.values:
        raise ValueError(f"unknown door {door!r}")
    if ip is None and request is not None:
        ip = request_ip(request)
    else:
        ip = _clean_ip(ip)
    return ReadRecord.objects.create(user_id=user.pk, kind=kind, door=door, case_id=case_id, object_id=object_id, ip=ip)
