"""Under ASGI, static files and the patterns CSV are streamed from a worker thread a block at a time (config.streaming),
whole and unchanged, and Django's "must consume synchronous iterators" warning is never raised."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from django.conf import settings
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)


async def body_of(response) -> bytes:
    assert response.is_async  # Not a synchronous iterator read whole in a thread.
    return b"".join([part async for part in response.streaming_content])


async def test_a_static_file_streams_whole_without_the_warning():
    expected = (Path(settings.BASE_DIR) / "static" / "css" / "sulh.css").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await AsyncClient().get("/static/css/sulh.css")
        assert response.status_code == 200
        assert await body_of(response) == expected
        part = await AsyncClient().get("/static/css/sulh.css", headers={"Range": "bytes=10-109"})
        assert part.status_code == 206
        assert await body_of(part) == expected[10:110]


async def test_the_patterns_csv_streams_under_asgi(world):
    client = AsyncClient()
    await client.aforce_login(world.dave)
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=Warning)
        response = await client.get("/api/reports/patterns.csv?group_by=forum_kind")
        assert response.status_code == 200
        lines = (await body_of(response)).decode().splitlines()
    assert lines[0].startswith("forum_kind,opened,closed,resolved")
