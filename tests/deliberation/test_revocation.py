"""Revocation that bites (issue 16): changing a role, removing a membership, deactivating a user, revoking a token
and ending a session each close the affected sockets within a second, through the real Redis channel layer, and
every later read (the session, its transcript, the case: page and API, and the websocket handshake) follows the
rights as they are now."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client as PageClient

from accounts import services as account_services
from cases.models import Membership
from config.ws import CLOSE_LOGGED_OUT, CLOSE_NOT_ALLOWED
from deliberation import services
from tests.conftest import token_client
from tests.deliberation.conftest import connect

pytestmark = [pytest.mark.django_db(transaction=True)]

db = database_sync_to_async


async def closed_within(client, seconds: float = 1.0) -> tuple[int, float]:
    """The close code the socket gets, and how long after the call it came; fails past `seconds`. Events sent before
    the close are still delivered: they are skipped."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        while True:
            message = await client.communicator.receive_output(timeout=seconds)
            if message["type"] == "websocket.close":
                return message["code"], time.monotonic() - start


async def still_open(client) -> bool:
    await client.send({"type": "ping"})
    return (await client.next(type="pong"))["type"] == "pong"


def reads(user, room) -> dict[str, int]:
    """What each door answers the user now: the session and its transcript (API and pages) and the case."""
    api = token_client(user)
    page = PageClient()
    page.force_login(user)
    session, case = room.session.pk, room.case.pk
    return {
        "api session": api.get(f"/api/sessions/{session}/").status_code,
        "api transcript": api.get(f"/api/sessions/{session}/transcript/").status_code,
        "api case sessions": api.get(f"/api/cases/{case}/sessions/").status_code,
        "api case": api.get(f"/api/cases/{case}/").status_code,
        "api timeline": api.get(f"/api/cases/{case}/timeline/").status_code,
        "api checks": api.get(f"/api/cases/{case}/compliance-checks/").status_code,
        "room page": page.get(f"/sessions/{session}/").status_code,
        "transcript page": page.get(f"/sessions/{session}/transcript/").status_code,
        "print page": page.get(f"/sessions/{session}/transcript/print/").status_code,
        "case page": page.get(f"/cases/{case}/").status_code,
    }


NOTHING = {
    "api session": 404, "api transcript": 404, "api case sessions": 404, "api case": 404, "api timeline": 404,
    "api checks": 404,
    "room page": 404, "transcript page": 404, "print page": 404, "case page": 404,
}  # fmt: skip


async def test_a_role_changed_away_from_the_session_closes_the_socket_and_every_door(room):
    """bob monitors the jirga and is in the session; an administrator makes him the forum's legal reviewer instead.
    His socket closes within a second; he reads the case as a legal reviewer, but no longer the session."""
    bob = await connect(room, room.world.bob)
    alice = await connect(room, room.world.alice)

    @db
    def change_role():
        membership = Membership.objects.get(user=room.world.bob, forum=room.world.jirga)
        membership.role = Membership.Role.LEGAL_REVIEWER
        membership.save()

    await change_role()
    code, _took = await closed_within(bob)
    assert code == CLOSE_NOT_ALLOWED
    assert await still_open(alice)
    assert await connect(room, room.world.bob) is None
    assert await db(reads)(room.world.bob, room) == {
        **NOTHING, "api case": 200, "api timeline": 200, "case page": 200, "api case sessions": 200, "api checks": 403,
    }  # fmt: skip
    await alice.close()


async def test_a_removed_membership_shuts_every_door(room):
    bob = await connect(room, room.world.bob)
    await db(lambda: Membership.objects.filter(user=room.world.bob).delete())()
    code, _took = await closed_within(bob)
    assert code == CLOSE_NOT_ALLOWED
    assert await db(reads)(room.world.bob, room) == NOTHING
    assert await connect(room, room.world.bob) is None


async def test_a_deactivated_user_is_logged_out_of_every_socket(room):
    """bob is on two devices; deactivating him closes both, and his token no longer opens anything."""
    phone = await connect(room, room.world.bob)
    laptop = await connect(room, room.world.bob)
    alice = await connect(room, room.world.alice)
    token = await db(lambda: account_services.token_issue(user=room.world.bob).key)()

    await db(account_services.user_deactivate)(user=room.world.bob)
    assert (await closed_within(phone))[0] == CLOSE_LOGGED_OUT
    assert (await closed_within(laptop))[0] == CLOSE_LOGGED_OUT
    assert await still_open(alice)

    def api_now():
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.get(f"/api/sessions/{room.session.pk}/transcript/").status_code

    assert await db(api_now)() == 401
    assert await connect(room, room.world.bob) is None
    await alice.close()


async def test_a_revoked_token_closes_the_sockets_it_opened_and_no_other(room):
    """bob logs one API client out: the sockets opened with that token close; his other device stays."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.deliberation.conftest import ORIGIN, Client

    token = await db(lambda: account_services.token_issue(user=room.world.bob).key)()
    communicator = WebsocketCommunicator(
        application, f"/ws/sessions/{room.session.pk}/",
        headers=[ORIGIN, (b"authorization", f"Token {token}".encode())],
    )  # fmt: skip
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    with_token = Client(communicator, {"participant": None})
    other_device = await connect(room, room.world.bob)

    def log_out():
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.post("/api/auth/logout/").status_code == 204
        return client.get(f"/api/sessions/{room.session.pk}/").status_code

    assert await db(log_out)() == 401
    assert (await closed_within(with_token))[0] == CLOSE_LOGGED_OUT
    assert await still_open(other_device)
    await other_device.close()


async def test_guests_lose_the_session_when_it_ends_and_the_facilitator_prints_it(room):
    """The party representative and the elder see `ended`, then their sockets close within a second; afterwards
    they reach neither the room, nor the transcript, nor the socket. alice and bob (the forum's members) stay and
    keep reading; only alice, a facilitator of the forum, gets the printable transcript."""
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    alice = await connect(room, room.world.alice)
    bob = await connect(room, room.world.bob)
    await guest.send({"type": "say", "body": "We accept the apology.", "client_id": "g1"})
    await guest.next("said")

    await db(services.session_end)(user=room.world.alice, session_id=room.session.pk)
    assert (await guest.next("ended"))["kind"] == "ended"
    assert (await closed_within(guest))[0] == CLOSE_NOT_ALLOWED
    assert (await closed_within(elder))[0] == CLOSE_NOT_ALLOWED
    assert await still_open(alice)
    assert await still_open(bob)

    for who in (room.guest, room.elder):
        assert await connect(room, who) is None
        guest_reads = await db(reads)(who, room)
        assert all(status == 404 for status in guest_reads.values()), guest_reads
    alice_reads = await db(reads)(room.world.alice, room)
    assert alice_reads == dict.fromkeys(NOTHING, 200)
    bob_reads = await db(reads)(room.world.bob, room)
    assert bob_reads == {**dict.fromkeys(NOTHING, 200), "print page": 404}
    await alice.close()
    await bob.close()


def test_the_printable_transcript_names_everyone_in_isolated_text(room):
    """What alice hands out: every line said, each name and line isolated for right-to-left text, print CSS, no
    controls on paper; the room and the transcript page link to it for her."""
    from deliberation.models import Participant

    guest = Participant.objects.get(session=room.session, user=room.guest)
    services.say(session_id=room.session.pk, participant_id=guest.pk, body="ہم معافی قبول کرتے ہیں")
    services.session_end(user=room.world.alice, session_id=room.session.pk)
    page = PageClient()
    page.force_login(room.world.alice)
    response = page.get(f"/sessions/{room.session.pk}/transcript/print/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<bdi class="body">ہم معافی قبول کرتے ہیں</bdi>' in html
    assert "<bdi>First party&#x27;s representative</bdi>" in html
    assert "<bdi>Elder of the village</bdi>" in html
    assert "transcript-print.css" in html
    assert "onclick" not in html
    assert (
        f"/sessions/{room.session.pk}/transcript/print/" in page.get(f"/sessions/{room.session.pk}/").content.decode()
    )


def test_only_the_forums_facilitators_print(room, world):
    """Another facilitator of the forum may print (they share the forum's work); the monitor, the administrator, the
    regulator, the outsider and the other forum's facilitator get a 404 (not told the session exists)."""
    from cases import services as case_services

    grace = type(world.alice).objects.create(username="grace")
    case_services.membership_grant(user=grace, forum=world.jirga, role=Membership.Role.FACILITATOR)
    expected = {"alice": 200, "grace": 200, "bob": 404, "carol": 404, "dave": 404, "eve": 404, "frank": 404}
    seen = {}
    for name in expected:
        user = grace if name == "grace" else getattr(world, name)
        page = PageClient()
        page.force_login(user)
        seen[name] = page.get(f"/sessions/{room.session.pk}/transcript/print/").status_code
    assert seen == expected


async def test_a_demoted_facilitator_attends_but_no_longer_runs_the_room(room):
    """alice facilitates the session; an administrator makes her a monitor of the jirga instead. She still attends
    (monitors do), but her participant row from before grants nothing: proposing, giving the floor and ending the
    session are refused, on the socket and through the API."""
    alice = await connect(room, room.world.alice)

    @db
    def demote():
        membership = Membership.objects.get(user=room.world.alice, forum=room.world.jirga)
        membership.role = Membership.Role.MONITOR
        membership.save()

    await demote()
    assert await still_open(alice)
    await alice.send({"type": "propose", "text": "A truce for a year", "client_id": "p1"})
    assert (await alice.error())["code"] == "forbidden"
    await alice.send({"type": "give_floor", "participant": alice.participant})
    assert (await alice.error())["code"] == "forbidden"
    ended = await db(lambda: token_client(room.world.alice).post(f"/api/sessions/{room.session.pk}/end/"))()
    assert ended.status_code == 403
    await alice.close()
