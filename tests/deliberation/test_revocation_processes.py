"""Revocation across real server processes: a right taken away in one process (here the test's, as an administrator's
page would) closes the affected sockets held by two other uvicorn processes within a second, through Redis."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from channels.db import database_sync_to_async
from django.utils import timezone

from accounts import services as account_services
from cases.models import Membership
from config.ws import CLOSE_LOGGED_OUT, CLOSE_NOT_ALLOWED
from deliberation import services
from tests.deliberation.conftest import invite, open_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

db = database_sync_to_async


async def open_socket(server, session_id: int, token: str):
    socket = await websockets.connect(
        f"{server.ws_url}/ws/sessions/{session_id}/",
        additional_headers={"Authorization": f"Token {token}"},
        origin=server.url,
        open_timeout=10,
    )
    welcome = json.loads(await socket.recv())
    assert welcome["type"] == "welcome"
    return socket


async def closed_within(socket, seconds: float = 1.0) -> tuple[int | None, float]:
    """The socket's close code and how long it took to come; fails past `seconds`. Frames before it are skipped."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        try:
            async for _frame in socket:
                pass
        except websockets.ConnectionClosed:
            pass
    return socket.close_code, time.monotonic() - start


async def test_every_process_closes_the_sockets_a_revocation_affects(world, two_servers):
    a, b = two_servers
    case = await db(open_case)(world)
    session = await db(services.session_schedule)(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    await db(services.session_start)(user=world.alice, session_id=session.pk)
    guest = await db(invite)(world, session, "First party's representative")
    tokens = {
        name: (await db(account_services.token_issue)(user=user)).key
        for name, user in (("alice", world.alice), ("bob", world.bob), ("guest", guest))
    }
    bob_on_a = await open_socket(a, session.pk, tokens["bob"])
    bob_on_b = await open_socket(b, session.pk, tokens["bob"])
    guest_on_b = await open_socket(b, session.pk, tokens["guest"])
    alice_on_a = await open_socket(a, session.pk, tokens["alice"])
    took = {}

    # bob's membership is removed: both his sockets close, in both processes.
    await db(lambda: Membership.objects.filter(user=world.bob, forum=world.jirga).delete())()
    for name, socket in (("bob on A", bob_on_a), ("bob on B", bob_on_b)):
        code, took[name] = await closed_within(socket)
        assert code == CLOSE_NOT_ALLOWED, name

    # alice ends the session (here, in the test's process): the guest's socket on process B closes.
    await db(services.session_end)(user=world.alice, session_id=session.pk)
    code, took["guest on B"] = await closed_within(guest_on_b)
    assert code == CLOSE_NOT_ALLOWED

    # alice stays, until she is deactivated.
    await alice_on_a.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(5):
        while json.loads(await alice_on_a.recv())["type"] != "pong":
            pass
    await db(account_services.user_deactivate)(user=world.alice)
    code, took["alice on A"] = await closed_within(alice_on_a)
    assert code == CLOSE_LOGGED_OUT
    print("seconds from the change to the close:", {k: round(v, 3) for k, v in took.items()})
