"""GET /healthz: is the database, the channel layer and the broker reachable? Reveals nothing else."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)
TIMEOUT = 2.0


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure means "down"; the reason goes to the log only.
        logger.warning("healthz: database unreachable", exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return "down"
    return "ok"


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz"})
    await layer.receive(channel)


def _channel_layer() -> str:
    try:
        async_to_sync(asyncio.wait_for)(_layer_roundtrip(), TIMEOUT)
    except Exception:  # noqa: BLE001
        logger.warning("healthz: channel layer unreachable", exc_info=True)
        return "down"
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT)
            # ensure_connection can succeed lazily; a round trip proves the broker answers.
            conn.default_channel.client.ping()
    except Exception:  # noqa: BLE001
        logger.warning("healthz: broker unreachable", exc_info=True)
        return "down"
    return "ok"


@never_cache
def healthz(request):
    if request.method not in ("GET", "HEAD"):
        from config.errors import error_body

        response = JsonResponse(error_body("method_not_allowed", "Only GET is allowed here."), status=405)
        response["Allow"] = "GET, HEAD"
        return response
    database = _database()
    body = {
        "status": "ok" if database == "ok" else "down",
        "database": database,
        "channel_layer": _channel_layer(),
        "broker": _broker(),
    }
    return JsonResponse(body, status=200 if database == "ok" else 503)
