"""A live session on a jirga case: alice facilitates, bob monitors, two invited guests (one a victim or a
woman, put first when asked), and websocket clients for any of them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts import services as account_services
from cases import services as case_services
from config.asgi import application
from deliberation import services
from tests.conftest import db_url_for_subprocess, start_server, stop_server

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]


@dataclass
class Room:
    world: object
    case: object
    session: object
    guest: object  # A party representative.
    elder: object  # An elder, a woman: priority.

    def headers(self, user) -> list[tuple[bytes, bytes]]:
        return [ORIGIN, (b"authorization", f"Token {account_services.token_issue(user=user).key}".encode())]


def open_case(world, **overrides):
    return case_services.case_open(
        user=world.alice, forum=world.jirga, title="Water rights", dispute_type="water", risk_level="medium",
        offence_class="civil", parties=PARTIES, **overrides,
    )  # fmt: skip


def invite(world, session, name, **kwargs):
    _invitation, token = services.invitation_create(
        user=world.alice, session_id=session.pk, display_name=name, **kwargs
    )
    guest, _session = services.invitation_redeem(token=token)
    return guest


@pytest.fixture
def room(world) -> Room:
    case = open_case(world)
    session = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=world.alice, session_id=session.pk)
    guest = invite(world, session, "First party's representative")
    elder = invite(world, session, "Elder of the village", role="elder", priority=True)
    return Room(world, case, session, guest, elder)


class Client:
    """A websocket client of the session: receives in order, skips what a test does not ask about."""

    def __init__(self, communicator: WebsocketCommunicator, welcome: dict):
        self.communicator = communicator
        self.welcome = welcome
        self.participant = welcome["participant"]

    async def send(self, frame) -> None:
        if isinstance(frame, str):
            await self.communicator.send_to(text_data=frame)
        else:
            await self.communicator.send_json_to(frame)

    async def receive(self, wait: float = 5) -> dict:
        return json.loads(await self.communicator.receive_from(timeout=wait))

    async def next(self, kind: str | None = None, *, type: str = "event", wait: float = 5) -> dict:
        """The next frame of this type (and event kind), skipping presence events and others."""
        while True:
            frame = await self.receive(wait)
            if frame["type"] == type and (kind is None or frame.get("kind") == kind):
                return frame
            if frame["type"] == "error" and type != "error":
                raise AssertionError(f"unexpected error frame {frame}")

    async def error(self, wait: float = 5) -> dict:
        return await self.next(type="error", wait=wait)

    async def nothing(self, wait: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=wait)

    async def close(self) -> None:
        await self.communicator.disconnect()


async def connect(room: Room, user, *, after: int | None = None, session=None):
    session = session or room.session
    headers = await database_sync_to_async(room.headers)(user)
    path = f"/ws/sessions/{session.pk}/" + (f"?after={after}" if after is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _code = await communicator.connect(timeout=5)
    if not connected:
        return None
    welcome = json.loads(await communicator.receive_from(timeout=5))
    assert welcome["type"] == "welcome", welcome
    return Client(communicator, welcome)


@pytest.fixture
def two_servers(postgres, redis_url):
    """Two real uvicorn processes sharing the test database and Redis (the multi-process tests)."""
    env = {"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url}
    servers = [start_server(env), start_server(env)]
    yield servers
    for server in servers:
        stop_server(server)
