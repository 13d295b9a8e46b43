"""The channel layer Sulh runs on (config/settings.py): channels-redis's pub/sub layer, with a receiver that
survives a Redis restart.

channels-redis 4.3's pub/sub layer reads each process's subscriptions in one task, which ends for good when a
timeout escapes a reconnection (it re-raises asyncio.TimeoutError as if it were a cancellation), and redis-py does not
always subscribe again on the new connection: either way every socket of the process stops hearing its session
(tests/deliberation/test_processes.py, a Redis restart mid-session). Here only a cancellation ends the receiver; after
any other failure it subscribes again to everything once Redis answers, and hands every channel of the process a
`layer.resync` message, so that each socket reads what it missed meanwhile from the database. And a publication does not
wait for the process's subscriptions (_Shard.publish).
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis import pubsub

logger = logging.getLogger(__name__)

RETRY_SECONDS = 0.5


RESYNC = {"type": "layer.resync"}  # Handed to every channel of the process once the layer is back (config.ws).


class _Shard(pubsub.RedisSingleShardConnection):
    async def publish(self, channel, message) -> None:
        """As channels-redis's, without its lock: the lock guards the subscribing connection, while a publication goes
        through the connection pool. Behind it, every event of a session and every handshake's probe of the layer
        (config.degraded) waited for the subscriptions of a storm of arrivals, one after another, until the probes
        timed out and handshakes were refused as if Redis were down."""
        self._ensure_redis()
        await self._redis.publish(channel, message)

    async def _do_receiving(self) -> None:
        broken = False
        while True:
            try:
                if broken:
                    await self._subscribe_again()
                    broken = False
                    self._resync()
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: subscribe again once it answers
                broken = True
                logger.warning("Channel layer: receiving failed (%s); trying again", type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)

    async def _subscribe_again(self) -> None:
        """Every subscription of the process, made again on the new connection (redis-py does not always)."""
        async with self._lock:
            if self._pubsub is not None and self._subscribed_to:
                await self._pubsub.subscribe(*self._subscribed_to)

    def _resync(self) -> None:
        """Tell every channel of the process that what was published while Redis was away never reached it."""
        message = self.channel_layer.channel_layer.serialize(RESYNC)
        for queue in list(self.channel_layer.channels.values()):
            queue.put_nowait(message)


class _LoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shards: list[pubsub.RedisSingleShardConnection] = [_Shard(shard.host, self) for shard in self._shards]


class PubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer whose per-loop layers keep receiving through a Redis restart."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            pubsub._wrap_close(self, loop)
        return layer
