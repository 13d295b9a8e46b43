"""GET /healthz and GET /readyz: is the database, the channel layer and the broker reachable? Reveal nothing else.

/healthz answers 200 while the database answers (the process is alive and serves pages and the API) and 503 when it
does not. `degraded` is true when the channel layer or the broker is down: the pages and the API still work from
PostgreSQL, live sessions are refused (503) and queued work waits. /readyz has the same body and answers 503 when
degraded too: it is what a load balancer polls to take a node out. Each check gives up after a second.
"""

from __future__ import annotations

import asyncio
import contextlib

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.degraded import PROBE_TIMEOUT, outage

TIMEOUT = PROBE_TIMEOUT


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the reason goes to the log only.
        # One line a minute, not a traceback at every poll of a load balancer.
        outage("healthz: the database", exc)
        connection.close_if_unusable_or_obsolete()
        return "down"
    return "ok"


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz"})
    await layer.receive(channel)
    if isinstance(layer, RedisPubSubChannelLayer):
        # The pub/sub layer keeps a channel subscribed until a receive on it is cancelled (as a consumer's is when
        # its socket closes): without this every poll of /healthz would leave one behind.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.01)


def _channel_layer() -> str:
    try:
        async_to_sync(asyncio.wait_for)(_layer_roundtrip(), TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        outage("healthz: the channel layer", exc)
        return "down"
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from config.celery import app

    try:
        # No retries: the default one waits two seconds before trying again.
        with app.connection_for_write(connect_timeout=TIMEOUT) as conn:
            conn.ensure_connection(max_retries=0, timeout=TIMEOUT)
            # ensure_connection can succeed lazily; a round trip proves the broker answers.
            conn.default_channel.client.ping()
    except Exception as exc:  # noqa: BLE001
        outage("healthz: the broker", exc)
        return "down"
    return "ok"


def _checks() -> tuple[dict[str, object], bool]:
    """The body both endpoints answer, and whether the database answered."""
    database = _database()
    channel_layer = _channel_layer()
    broker = _broker()
    body: dict[str, object] = {
        "status": "ok" if database == "ok" else "down",
        "database": database,
        "channel_layer": channel_layer,
        "broker": broker,
        "degraded": "down" in (channel_layer, broker),
    }
    return body, database == "ok"


def _method_not_allowed(request):
    if request.method in ("GET", "HEAD"):
        return None
    from config.errors import error_body

    response = JsonResponse(error_body("method_not_allowed", "Only GET is allowed here."), status=405)
    response["Allow"] = "GET, HEAD"
    return response


@never_cache
def healthz(request):
    """200 while the database answers, degraded or not; 503 when it does not."""
    refused = _method_not_allowed(request)
    if refused is not None:
        return refused
    body, database_ok = _checks()
    return JsonResponse(body, status=200 if database_ok else 503)


@never_cache
def readyz(request):
    """200 only when every part answers: a load balancer takes a node whose answer is 503 out of rotation."""
    refused = _method_not_allowed(request)
    if refused is not None:
        return refused
    body, database_ok = _checks()
    return JsonResponse(body, status=200 if database_ok and not body["degraded"] else 503)
