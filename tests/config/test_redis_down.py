"""Redis down, PostgreSQL up: the pages and the API keep working, live sessions are refused with 503, and /healthz and
/readyz say so (issue 16, item 4). Redis is really unreachable here: the cache, the channel layer and the broker
point at a port where nothing listens."""

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connection

from accounts import services as account_services
from cases.models import Membership
from tests.cases.conftest import new_case_body
from tests.conftest import db_url_for_subprocess, start_server, stop_server
from tests.factories import PASSWORD

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # Nothing listens on port 1.
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture(params=["config.layers.PubSubChannelLayer", "channels_redis.core.RedisChannelLayer"])
def redis_down(request, settings, redis_url):
    """Every use of Redis by the app (cache, channel layer, broker) aimed at a closed port, as production configures
    them from REDIS_URL (config/settings.py), with either channel layer (CHANNEL_LAYER_BACKEND)."""
    from config.celery import app

    settings.CACHES = {
        "default": {
            "BACKEND": "config.degraded.FailOpenRedisCache",
            "LOCATION": CLOSED_PORT_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": request.param,
            "CONFIG": {"hosts": [{"address": CLOSED_PORT_URL, "socket_timeout": None, "socket_connect_timeout": 1}]},
        }
    }
    channel_layers.backends.clear()
    old_broker = app.conf.broker_url
    app.conf.broker_url = CLOSED_PORT_URL
    import config.degraded

    config.degraded._down_until = 0.0
    config.degraded._logged_at.clear()
    yield
    app.conf.broker_url = old_broker
    channel_layers.backends.clear()
    config.degraded._down_until = 0.0


@pytest.mark.django_db
def test_the_api_reads_and_writes(world, redis_down, as_user, api):
    assert api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").status_code == 200
    client = as_user(world.alice)
    assert client.get("/api/forums/").status_code == 200
    created = client.post("/api/cases/", new_case_body(world.jirga), format="json")
    assert created.status_code == 201, created.content[:300]
    case = client.get(f"/api/cases/{created.json()['id']}/")
    assert case.status_code == 200
    assert case.json()["state"] == "intake"


@pytest.mark.django_db
def test_reports_are_read_without_their_cache(world, redis_down, as_user):
    response = as_user(world.dave).get("/api/reports/patterns/?group_by=region")
    assert response.status_code == 200, response.content[:300]
    assert "cells" in response.json()


@pytest.mark.django_db
def test_pages_render_and_people_log_in_and_out(client, world, redis_down):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert "Welcome, alice" in response.content.decode()
    assert "Swat Jirga" in client.get("/").content.decode()
    # Logging out tells the user's sockets to close, through the channel layer: it must not take the page down.
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_removing_a_membership_still_works(world, redis_down, django_capture_on_commit_callbacks, caplog):
    """The removal asks the user's sockets to recheck through the channel layer; that message is lost, not the
    change (no socket can be open while the layer is down: handshakes are refused)."""
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        Membership.objects.filter(user=world.bob, forum=world.jirga).delete()
    assert not Membership.objects.filter(user=world.bob).exists()
    assert "channel layer (Redis) unreachable" in caplog.text


@pytest.mark.django_db
def test_healthz_says_degraded_and_readyz_refuses(client, redis_down):
    started = time.monotonic()
    health = client.get("/healthz")
    ready = client.get("/readyz")
    assert time.monotonic() - started < 5
    expected = {"status": "ok", "database": "ok", "channel_layer": "down", "broker": "down", "degraded": True}
    assert health.status_code == 200
    assert health.json() == expected
    assert ready.status_code == 503
    assert ready.json() == expected


@pytest.mark.django_db
def test_the_outage_is_logged_once_a_minute_in_one_line(client, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="config.degraded"):
        for _ in range(5):
            client.get("/healthz")
    lines = [r for r in caplog.records if r.name == "config.degraded"]
    assert len(lines) == 2  # The channel layer and the broker, once each.
    assert all(r.exc_info is None for r in lines)


@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client, redis_url):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["degraded"] is False


@pytest.mark.django_db
def test_a_down_database_makes_readyz_503_too(client, postgres):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@database_sync_to_async
def token_headers(user):
    return [ORIGIN, (b"authorization", f"Token {account_services.token_issue(user=user).key}".encode())]


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_handshake_is_refused_with_503(redis_down):
    from django.contrib.auth import get_user_model

    from config.asgi import application

    alice = await database_sync_to_async(get_user_model().objects.create_user)("alice", password="x" * 12)
    communicator = WebsocketCommunicator(application, "/ws/me/", headers=await token_headers(alice))
    # The servers Sulh runs on (uvicorn) can answer a handshake with an HTTP response of the app's choosing.
    communicator.scope["extensions"] = {"websocket.http.response": {}}
    records: list[logging.LogRecord] = []
    listener = logging.Handler(logging.WARNING)
    listener.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(listener)
    try:
        await communicator.send_input({"type": "websocket.connect"})
        start = await communicator.receive_output(timeout=5)
        body = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)
    finally:
        logging.getLogger().removeHandler(listener)
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 503
    assert json.loads(body["body"])["error"]["code"] == "service_unavailable"
    # One line for the refusal, no traceback.
    assert [(r.name, r.exc_info) for r in records] == [("config.degraded", None)]
    assert "unreachable" in records[0].getMessage()


@pytest.mark.django_db(transaction=True)
async def test_without_the_denial_extension_the_handshake_is_a_plain_refusal(redis_down):
    from django.contrib.auth import get_user_model

    from config.asgi import application

    alice = await database_sync_to_async(get_user_model().objects.create_user)("alice", password="x" * 12)
    communicator = WebsocketCommunicator(application, "/ws/me/", headers=await token_headers(alice))
    connected, _code = await communicator.connect(timeout=5)
    assert not connected
    await communicator.wait(timeout=5)


def call(server, method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_server_without_redis_serves_pages_and_api_and_refuses_live_sessions_with_503(world, redis_url):
    """uvicorn serving config.asgi with REDIS_URL pointing where nothing listens: the production settings as they are,
    not overridden in-process."""
    server = start_server({"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": CLOSED_PORT_URL})
    try:
        status, body = call(server, "GET", "/healthz")
        assert (status, body["degraded"], body["channel_layer"], body["broker"]) == (200, True, "down", "down")
        assert call(server, "GET", "/readyz")[0] == 503

        # (The token endpoint is tested in-process above: this server hashes passwords for real, the tests do not.)
        token = token_client_key(world.alice)
        assert call(server, "GET", "/api/forums/", token=token)[0] == 200
        status, body = call(server, "POST", "/api/cases/", new_case_body(world.jirga), token=token)
        assert status == 201, body

        with urllib.request.urlopen(server.url + "/login/", timeout=20) as page:
            assert page.status == 200
            assert 'name="username"' in page.read().decode()

        # Queuing background work needs the broker: a 503 that says so, not a 500.
        carol = token_client_key(world.carol)
        status, body = call(server, "POST", "/api/reports/patterns/refresh/", {}, token=carol)
        assert status == 503, body
        assert body["error"]["code"] == "service_unavailable"
        status, body = call(server, "GET", f"/api/reports/tasks/{uuid.uuid4()}/", token=carol)
        assert status == 503, body
        assert body["error"]["code"] == "service_unavailable"

        async def handshake() -> int:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(
                    f"{server.ws_url}/ws/me/",
                    additional_headers={"Authorization": f"Token {token}", "Origin": server.url},
                    open_timeout=10,
                )
            return refused.value.response.status_code

        assert asyncio.run(handshake()) == 503
        assert asyncio.run(handshake()) == 503
        output = server.output()
        assert "Traceback" not in output, output[-3000:]
        assert " 500 " not in output
    finally:
        stop_server(server)


def token_client_key(user) -> str:
    return account_services.token_issue(user=user).key
