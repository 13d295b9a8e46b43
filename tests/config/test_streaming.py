"""Under ASGI, static files and the patterns CSV are streamed from a worker thread a block at a time (config.streaming),
whole and unchanged, and Django's "must consume synchronous iterators" warning is never raised."""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import AsyncClient

from cases import services as case_services
from reports import patterns
from tests.deliberation.conftest import PARTIES

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


def cases_in_the_summary(world) -> None:
    for dispute_type in ("water", "land", "family"):
        case_services.case_open(
            user=world.alice, forum=world.jirga, title="A dispute", dispute_type=dispute_type, risk_level="medium",
            offence_class="civil", parties=PARTIES,
        )  # fmt: skip
    patterns.summarise(full=True, safety_lag=0)


async def test_the_patterns_csv_is_one_gzip_stream_a_browser_reads_whole(world):
    """Django's GZipMiddleware would compress each part of an asynchronous stream as a gzip stream of its own, of
    which a browser reads only the first (the header line): the CSV is compressed here, as one stream."""
    await sync_to_async(cases_in_the_summary)(world)
    client = AsyncClient()
    await client.aforce_login(world.dave)
    url = "/api/reports/patterns.csv?group_by=forum_kind,dispute_type,month"
    plain = await body_of(await client.get(url))
    response = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    stream = zlib.decompressobj(wbits=31)
    assert plain.count(b"\n") >= 3  # A header and lines: more than one part streamed.
    assert stream.decompress(await body_of(response)) == plain
    assert stream.eof
    assert stream.unused_data == b""
