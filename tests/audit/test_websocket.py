"""Joining a session's socket sends its transcript: one read per connection, through the door `websocket`, from
the connection's address."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from audit.models import ReadRecord
from config.asgi import application
from tests.deliberation.conftest import room  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]


async def test_joining_the_session_socket_records_a_transcript_read(room):  # noqa: F811
    headers = await database_sync_to_async(room.headers)(room.world.bob)
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/?after=0", headers=headers)
    communicator.scope["client"] = ("198.51.100.23", 50123)
    connected, _code = await communicator.connect(timeout=5)
    assert connected
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "welcome"
    await communicator.disconnect()
    reads = await database_sync_to_async(lambda: list(ReadRecord.objects.values_list(
        "user_id", "kind", "case_id", "object_id", "door", "ip")))()  # fmt: skip
    assert reads == [(room.world.bob.pk, "transcript", room.case.pk, room.session.pk, "websocket", "198.51.100.23")]


async def test_a_refused_handshake_records_nothing(room):  # noqa: F811
    headers = await database_sync_to_async(room.headers)(room.world.eve)
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/", headers=headers)
    connected, _code = await communicator.connect(timeout=5)
    assert not connected
    await communicator.disconnect()
    assert not await database_sync_to_async(ReadRecord.objects.exists)()
