"""The channel layer Sulh runs on (config/layers.py), against a real Redis."""

from __future__ import annotations

import asyncio
import uuid

from config.layers import PubSubChannelLayer


async def test_a_publication_does_not_wait_for_a_subscription(redis_url):
    """An event is published while the process is still subscribing sockets to their groups (a storm of
    arrivals): the publication goes through the pool and reaches its listeners; behind channels-redis's shard lock
    it waited for every subscription in turn."""
    layer = PubSubChannelLayer(hosts=[redis_url])
    group = f"session.test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        shard = layer._get_layer()._shards[0]
        async with shard._lock:  # A subscription waiting for Redis's answer holds it.
            await asyncio.wait_for(layer.group_send(group, {"type": "session.event", "seq": 1}), 2)
            message = await asyncio.wait_for(layer.receive(channel), 2)
        assert message == {"type": "session.event", "seq": 1}
    finally:
        await layer.flush()
