"""Degrade, don't fall over: Redis carries hints (the cache, the channel layer, the Celery broker), PostgreSQL holds
the truth. While Redis is down the pages and the API keep working from PostgreSQL, and live sessions are refused at
the handshake with HTTP 503 instead of failing with a 500.

- `outage()` logs a helper's outage in one line, once a minute per helper and process, not once a request.
- `FailOpenRedisCache` is Django's Redis cache that answers "not cached" when Redis does not answer.
- `ChannelLayerGuard` wraps the websocket routes: a handshake while the channel layer is unreachable is answered
  503 (uvicorn's websocket denial response; a server without that extension answers 403).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Seconds a check of Redis may take before it counts as down (/healthz, /readyz and the websocket handshake).
PROBE_TIMEOUT = 1.0
LOG_EVERY = 60.0
_logged_at: dict[str, float] = {}


def outage(what: str, exc: BaseException, *, consequence: str = "carrying on without it") -> None:
    """Log that `what` is unreachable and what Sulh does meanwhile: one line, at most once a minute per process.
    The one outage log of every part that fails open (the cache, the throttles, the channel layer, the broker)."""
    now = time.monotonic()
    last = _logged_at.get(what)
    if last is not None and now - last < LOG_EVERY:
        return
    _logged_at[what] = now
    reason = str(exc).splitlines()[0][:200] if str(exc) else ""
    logger.warning("%s unreachable, %s: %s %s", what, consequence, type(exc).__name__, reason)


def caused_by_outage(exc: BaseException) -> bool:
    """Whether an exception comes from Redis (the broker, the result store, the channel layer) not answering: the
    request gets a 503 `service_unavailable` then, not a 500. Celery wraps the cause (RuntimeError, OperationalError)."""
    from kombu.exceptions import OperationalError

    seen: BaseException | None = exc
    for _depth in range(5):
        if seen is None:
            return False
        if isinstance(seen, (*_DOWN, OperationalError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- The cache ------------------------------------------------------------------------------------------------------

_DOWN = (redis.ConnectionError, redis.TimeoutError)


class FailOpenRedisCache(RedisCache):
    """Redis as a cache that fails open: with Redis unreachable a read is a miss and a write is dropped (logged once a
    minute). Everything Sulh keeps in the cache (throttle counts, summaries, the screening generation) can be
    recomputed or done without; none of it is worth a 500. `incr` still raises: a counter that silently counted
    nothing would look like a first attempt, so its callers decide (cases.settlements lets a lookup through)."""

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return False

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except _DOWN as exc:
            outage("The cache (Redis)", exc)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().touch(key, timeout, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return False

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return dict(super().get_many(keys, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return False

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        try:
            return list(super().set_many(data, timeout, version))
        except _DOWN as exc:
            outage("The cache (Redis)", exc)
            return list(data)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except _DOWN as exc:
            outage("The cache (Redis)", exc)

    def clear(self) -> None:
        try:
            super().clear()
        except _DOWN as exc:
            outage("The cache (Redis)", exc)


# --- The channel layer ----------------------------------------------------------------------------------------------

# A group nobody joins: discarding a channel from it is one cheap round trip on the layer's own connection.
_PROBE_GROUP = "sulh.probe"
_PROBE_CHANNEL = "sulh.probe"
# After a failed probe the layer counts as down for this long without asking again: a storm of reconnecting
# clients during an outage must not each wait for a timeout.
_DOWN_FOR = 1.0
_down_until = 0.0


async def layer_ping(layer) -> None:
    """One round trip to the layer's Redis that leaves nothing behind: a publication nobody hears (the pub/sub
    layer, whose group_discard never leaves the process) or the removal of a channel from a group it is not in."""
    if isinstance(layer, RedisPubSubChannelLayer):
        await layer.send(_PROBE_CHANNEL, {"type": "probe"})
    else:
        await layer.group_discard(_PROBE_GROUP, _PROBE_CHANNEL)


async def channel_layer_reachable() -> bool:
    """Whether the channel layer answers within PROBE_TIMEOUT."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    layer = get_channel_layer()
    if layer is None:
        return True
    try:
        await asyncio.wait_for(layer_ping(layer), PROBE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure of the layer means live sessions cannot work now
        _down_until = time.monotonic() + _DOWN_FOR
        outage("The channel layer (Redis)", exc)
        return False
    return True


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ChannelLayerGuard:
    """ASGI middleware for the websocket routes: refuses a handshake with 503 while the channel layer is unreachable,
    before any consumer starts (a consumer's first read of the layer would otherwise crash the handshake into a
    500 and a traceback). The refusal is logged by `outage()`: one line a minute, not one per handshake."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or await channel_layer_reachable():
            await self.app(scope, receive, send)
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            # The server cannot answer a handshake with an HTTP response of our choosing: a plain refusal (403).
            await send({"type": "websocket.close"})
            return
        from config.ws import language_of

        with translation.override(language_of(scope)):
            detail = _("Live sessions are unavailable for a moment. Please try again shortly.")
        # The contract's error shape (config.errors.error_body, which imports this module).
        body = json.dumps({"error": {"code": "service_unavailable", "detail": detail}}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"5")]
        await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
