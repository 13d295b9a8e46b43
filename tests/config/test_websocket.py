"""Websocket doors: authentication and origin at the handshake, and sockets closing on logout.

Run against config.asgi.application, the same stack the server runs (origin validation, session and
token authentication), with whatever channel layer the settings give: in-memory when embedded, real
Redis under CI.
"""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

from accounts import services as account_services
from config.asgi import application
from config.ws import CLOSE_LOGGED_OUT

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def token_headers(user) -> list[tuple[bytes, bytes]]:
    return [ORIGIN, (b"authorization", f"Token {account_services.token_issue(user=user).key}".encode())]


async def connect(headers, path="/ws/me/"):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


@database_sync_to_async
def make_world():
    User = get_user_model()
    alice = User.objects.create_user("alice", password="x" * 12)
    return alice


@database_sync_to_async
def headers_for(user):
    return token_headers(user)


@database_sync_to_async
def session_cookie_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return session.session_key


async def test_a_token_client_with_the_right_origin_is_welcomed():
    alice = await make_world()
    communicator, connected, _ = await connect(await headers_for(alice))
    assert connected
    assert await communicator.receive_json_from(timeout=5) == {"type": "welcome", "user": alice.pk}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_an_anonymous_client_is_refused_at_the_handshake():
    communicator, connected, _ = await connect([ORIGIN])
    assert not connected
    await communicator.disconnect()


async def test_a_bad_token_is_refused():
    communicator, connected, _ = await connect([ORIGIN, (b"authorization", b"Token not-a-token")])
    assert not connected
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", None])
async def test_a_foreign_or_missing_origin_is_refused(origin):
    alice = await make_world()
    headers = [h for h in await headers_for(alice) if h[0] != b"origin"]
    if origin is not None:
        headers.append((b"origin", origin))
    communicator, connected, _ = await connect(headers)
    assert not connected
    await communicator.disconnect()


async def test_a_browser_session_cookie_is_accepted():
    alice = await make_world()
    key = await session_cookie_for(alice)
    communicator, connected, _ = await connect([ORIGIN, (b"cookie", f"sessionid={key}".encode())])
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "welcome"
    await communicator.disconnect()


async def test_garbage_frames_get_error_frames_and_the_socket_stays_open():
    alice = await make_world()
    communicator, connected, _ = await connect(await headers_for(alice))
    await communicator.receive_json_from(timeout=5)
    for frame, code in [
        ("{nope", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": 3}', "malformed"),
        ('{"type": "dance"}', "unknown_type"),
        ("x" * (17 * 1024), "frame_too_large"),
    ]:
        await communicator.send_to(text_data=frame)
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "error"
        assert reply["code"] == code
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from(timeout=5))["code"] == "malformed"
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_revoking_the_token_closes_its_sockets():
    alice = await make_world()
    communicator, connected, _ = await connect(await headers_for(alice))
    await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(account_services.token_revoke)(user=alice)
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}


async def test_logging_out_closes_that_browser_sessions_sockets_only():
    from django.test import AsyncClient

    alice = await make_world()
    browser = AsyncClient()
    await browser.aforce_login(alice)
    key = browser.cookies["sessionid"].value
    in_browser, connected, _ = await connect([ORIGIN, (b"cookie", f"sessionid={key}".encode())])
    assert connected
    await in_browser.receive_json_from(timeout=5)
    on_phone, connected, _ = await connect(await headers_for(alice))
    await on_phone.receive_json_from(timeout=5)

    response = await browser.post("/logout/")
    assert response.status_code == 302

    assert (await in_browser.receive_output(timeout=5)) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}
    await on_phone.send_json_to({"type": "ping"})
    assert await on_phone.receive_json_from(timeout=5) == {"type": "pong"}
    await on_phone.disconnect()


async def test_deactivating_a_user_closes_all_their_sockets():
    alice = await make_world()
    first, _, _ = await connect(await headers_for(alice))
    await first.receive_json_from(timeout=5)
    second, _, _ = await connect(await headers_for(alice))
    await second.receive_json_from(timeout=5)

    await database_sync_to_async(account_services.user_deactivate)(user=alice)

    for communicator in (first, second):
        assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}


async def test_a_token_socket_closes_when_its_token_expires():
    """A socket does not outlive the token it was opened with: it closes as a revoked token's does (4401)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ApiToken

    alice = await make_world()
    headers = await headers_for(alice)
    await database_sync_to_async(ApiToken.objects.filter(user=alice).update)(
        expires=timezone.now() + timedelta(seconds=2)
    )
    communicator, connected, _ = await connect(headers)
    assert connected
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}  # Still valid: open.
    assert (await communicator.receive_output(timeout=6)) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}
    again, connected, _ = await connect(headers)  # And the expired token opens nothing.
    assert not connected
    await again.disconnect()


async def test_a_browser_socket_closes_when_its_session_reaches_its_lifetime(settings):
    """A browser session lives SESSION_COOKIE_AGE from its login, however active: its sockets close then."""
    import time

    from config.sessions import LOGIN_AT

    alice = await make_world()
    key = await session_cookie_for(alice)

    @database_sync_to_async
    def logged_in_long_ago():
        store = SessionStore(session_key=key)
        store[LOGIN_AT] = time.time() - settings.SESSION_COOKIE_AGE + 2  # Two seconds of its lifetime left.
        store.save()

    await logged_in_long_ago()
    communicator, connected, _ = await connect([ORIGIN, (b"cookie", f"sessionid={key}".encode())])
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "welcome"
    assert (await communicator.receive_output(timeout=6)) == {"type": "websocket.close", "code": CLOSE_LOGGED_OUT}
