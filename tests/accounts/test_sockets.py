"""Websockets follow the tokens and sessions they were opened with: a revoked, expired token or an idle session
opens nothing, and revoking a token closes its sockets (issue 16, item 8)."""

import time
from datetime import timedelta

import pytest
import time_machine
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from accounts import services
from config.asgi import application
from config.sessions import LOGIN_AT, SEEN_AT
from config.ws import CLOSE_LOGGED_OUT

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def connect(headers):
    communicator = WebsocketCommunicator(application, "/ws/me/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def with_token(key: str):
    return [ORIGIN, (b"authorization", f"Token {key}".encode())]


@database_sync_to_async
def alice_with_two_tokens():
    alice = get_user_model().objects.create_user("alice", password="x" * 12)
    return alice, services.token_issue(user=alice), services.token_issue(user=alice)


@database_sync_to_async
def session_for(user, *, idle_minutes: float = 0, age_hours: float = 0) -> str:
    now = time.time()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session[LOGIN_AT] = now - age_hours * 3600
    session[SEEN_AT] = now - idle_minutes * 60
    session.create()
    return session.session_key


async def test_revoking_a_token_closes_its_sockets_and_no_others():
    alice, laptop, phone = await alice_with_two_tokens()
    on_laptop, connected = await connect(with_token(laptop.key))
    assert connected
    await on_laptop.receive_json_from(timeout=5)
    on_phone, connected = await connect(with_token(phone.key))
    assert connected
    await on_phone.receive_json_from(timeout=5)

    await database_sync_to_async(services.token_revoke_one)(user=alice, token_id=laptop.token.pk)

    assert await on_laptop.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}
    await on_phone.send_json_to({"type": "ping"})
    assert await on_phone.receive_json_from(timeout=5) == {"type": "pong"}
    await on_phone.disconnect()

    refused, connected = await connect(with_token(laptop.key))
    assert not connected
    await refused.disconnect()


async def test_an_expired_token_opens_no_socket():
    _alice, laptop, _phone = await alice_with_two_tokens()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        communicator, connected = await connect(with_token(laptop.key))
    assert not connected
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("idle_minutes", "age_hours", "opens"),
    [(1, 1, True), (31, 1, False), (1, 12.5, False)],
    ids=["active", "idle", "too_old"],
)
async def test_a_browser_session_socket_follows_the_session_lifetimes(idle_minutes, age_hours, opens):
    alice, _laptop, _phone = await alice_with_two_tokens()
    key = await session_for(alice, idle_minutes=idle_minutes, age_hours=age_hours)
    communicator, connected = await connect([ORIGIN, (b"cookie", f"sessionid={key}".encode())])
    assert connected is opens
    await communicator.disconnect()


@database_sync_to_async
def seen_at(key: str) -> float:
    return SessionStore(session_key=key)[SEEN_AT]


async def test_what_a_person_sends_keeps_their_session_alive_but_pings_do_not():
    alice, _laptop, _phone = await alice_with_two_tokens()
    key = await session_for(alice, idle_minutes=20)
    before = await seen_at(key)
    communicator, connected = await connect([ORIGIN, (b"cookie", f"sessionid={key}".encode())])
    assert connected
    await communicator.receive_json_from(timeout=5)

    await communicator.send_json_to({"type": "ping"})
    await communicator.receive_json_from(timeout=5)
    assert await seen_at(key) == before

    await communicator.send_json_to({"type": "dance"})
    await communicator.receive_json_from(timeout=5)
    assert await seen_at(key) > before + 19 * 60
    await communicator.disconnect()
