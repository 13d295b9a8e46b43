"""A bare Channels group relay, without persistence: the baseline that bench/bench_fanout.py compares Sulh's
live sessions with (scenario b).

Every websocket joins one group on connect; every text frame it sends is group_sent to that group, and every
member sends it on to its socket unchanged (the sender included). No authentication, no database, none of
Sulh's settings or apps: only Channels and the same channels_redis layer settings as config/settings.py.

    BENCH_RELAY_REDIS_URL=redis://127.0.0.1:6379/6 BENCH_RELAY_GROUP=bench-fanout-1234 \\
        .venv/bin/python -m uvicorn relay_asgi:application --app-dir bench --port 8101 --lifespan off

bench/bench_fanout.py starts two of these itself. With BENCH_RELAY_LEAN=1 in the environment its consumer
dispatches messages as Sulh's do (config/ws.py: SulhConsumer.dispatch), without the hop onto the database thread
that Channels makes before every message: the stricter baseline.
"""

from __future__ import annotations

import gc
import os

import django
from django.conf import settings

REDIS_URL = os.environ.get("BENCH_RELAY_REDIS_URL", "redis://127.0.0.1:6379/6")
GROUP = os.environ.get("BENCH_RELAY_GROUP", "bench-fanout")

# The least Django a Channels consumer needs (it closes old database connections around every message it
# dispatches, so settings must exist), with the same layer configuration as config/settings.py (the same
# CHANNEL_LAYER_BACKEND, pub/sub unless it says core)
# (socket_timeout None: PITFALLS.md, channels_redis #422). No database, no apps of Sulh's.
settings.configure(
    INSTALLED_APPS=["channels"],
    DATABASES={},
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": {
                "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "core": "channels_redis.core.RedisChannelLayer",
            }[os.environ.get("CHANNEL_LAYER_BACKEND", "pubsub")],
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "capacity": 5000,
                "expiry": 60,
                "group_expiry": 7 * 86400,
            },
        }
    },
    USE_TZ=True,
)
django.setup()

from channels.consumer import get_handler_name  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(GROUP, {"type": "relay.message", "text": text_data})

    async def relay_message(self, event) -> None:
        await self.send(text_data=event["text"])

    if os.environ.get("BENCH_RELAY_LEAN") == "1":

        async def dispatch(self, message) -> None:
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)


_consumer = RelayConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        return await _consumer(scope, receive, send)
    if scope["type"] == "http":
        # A small 200, so that a probe gets an answer.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"relay\n"})
    return None


# As config/asgi.py does: what start-up loaded lives for the whole process; keep it out of full collections.
gc.freeze()
