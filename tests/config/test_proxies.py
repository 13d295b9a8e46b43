"""Client addresses are believed from `X-Forwarded-For` only when a configured proxy sent it (DJANGO_TRUSTED_PROXIES);
API throttles, django-axes lockouts, websocket handshakes and logs all use that one address. And the websocket
Origin must match scheme, host and port of an allowed origin."""

import logging

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services as account_services
from config import proxies
from config.asgi import application
from config.origins import origin_allowed
from config.throttling import AnonThrottle
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

# The test client connects from 127.0.0.1.
PEER = "127.0.0.1"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]


@pytest.mark.parametrize(
    ("trusted", "peer", "xff", "client"),
    [
        ([], "198.51.100.9", "203.0.113.5", "198.51.100.9"),  # Nobody trusted: the header is ignored.
        (["10.0.0.0/8"], "198.51.100.9", "203.0.113.5", "198.51.100.9"),  # An untrusted peer says it.
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.5", "203.0.113.5"),
        # Right to left past the trusted hops; what the client itself wrote further left is not believed.
        (["10.0.0.0/8"], "10.1.2.3", "1.1.1.1, 203.0.113.5, 10.9.9.9", "203.0.113.5"),
        (["10.0.0.0/8"], "10.1.2.3", "10.0.0.7, 10.9.9.9", "10.0.0.7"),  # Every hop trusted: the leftmost.
        (["10.0.0.0/8"], "10.1.2.3", "not-an-ip, 203.0.113.5", "203.0.113.5"),
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.5, garbage", "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "[2001:db8::1]:4711", "2001:db8::1"),
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.5:4711", "203.0.113.5"),
        (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
    ],
)
def test_it_resolves_the_client_address(settings, trusted, peer, xff, client):
    settings.TRUSTED_PROXIES = trusted
    assert proxies.resolve(peer, xff) == client


def test_a_bad_trusted_proxies_entry_stops_start_up(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import config.settings

    monkeypatch.setenv("DJANGO_TRUSTED_PROXIES", "10.0.0.0/8,not-a-network")
    with pytest.raises(ImproperlyConfigured, match="not-a-network"):
        importlib.reload(config.settings)
    monkeypatch.delenv("DJANGO_TRUSTED_PROXIES")
    importlib.reload(config.settings)


# --- API throttles --------------------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(monkeypatch):
    monkeypatch.setattr(AnonThrottle, "rate", "3/minute", raising=False)


def post_token(api, xff: str):
    # An empty body: a 400, no login attempt (so django-axes stays out of it), but the anonymous throttle counts.
    return api.post("/api/auth/token/", {}, format="json", HTTP_X_FORWARDED_FOR=xff)


def test_a_spoofed_forwarded_for_does_not_dodge_the_throttle(api, world, three_a_minute):
    statuses = [post_token(api, f"203.0.113.{n}").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert api.post("/api/auth/token/", {}, format="json").json()["error"]["code"] == "throttled"


def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(api, world, three_a_minute, behind_proxy):
    assert [post_token(api, "203.0.113.1").status_code for _ in range(4)] == [400, 400, 400, 429]
    # Another client behind the same proxy is not held back by the first one's requests.
    assert post_token(api, "203.0.113.2").status_code == 400
    # A client cannot pose as another by putting an address in front of what the proxy appended.
    assert post_token(api, "198.51.100.1, 203.0.113.1").status_code == 429


# --- django-axes --------------------------------------------------------------------------------------


def guess(api, xff: str, password: str = "guess"):
    return api.post(
        "/api/auth/token/", {"username": "alice", "password": password}, format="json", HTTP_X_FORWARDED_FOR=xff
    )


def test_a_spoofed_forwarded_for_does_not_dodge_the_lockout(api, world):
    # The fifth failure locks the username at this address, whatever each request claimed to come from.
    assert [guess(api, f"203.0.113.{n}").status_code for n in range(5)] == [400, 400, 400, 400, 429]
    response = guess(api, "198.51.100.77", PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"


def test_behind_a_trusted_proxy_the_lockout_is_the_clients_own(api, world, behind_proxy):
    from axes.models import AccessAttempt

    for _ in range(5):
        guess(api, "203.0.113.1")
    assert guess(api, "203.0.113.1", PASSWORD).status_code == 429
    # The attempts are recorded against the client behind the proxy, not the proxy.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.1"}
    # Another client behind the same proxy logs in as usual.
    assert guess(api, "203.0.113.2", PASSWORD).status_code == 200


def test_the_login_page_uses_the_same_address(client, world):
    for n in range(5):
        client.post("/login/", {"username": "alice", "password": "guess"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert response.status_code == 429


# --- Logs ---------------------------------------------------------------------------------------------


def test_log_lines_carry_the_resolved_address(api, world, caplog, behind_proxy):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "outside a request", None, None)
    proxies.ClientIPLogFilter().filter(record)
    assert record.client_ip == "-"

    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Catch()
    handler.addFilter(proxies.ClientIPLogFilter())
    logging.getLogger("django.request").addHandler(handler)
    try:
        # A 404 under /api/ is logged by Django as a warning, inside the request.
        api.get("/api/no/such/thing/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    assert seen
    assert {r.client_ip for r in seen} == {"203.0.113.9"}


# --- Websocket: origin and address ---------------------------------------------------------------------


@database_sync_to_async
def token_for_alice(world):
    return account_services.token_issue(user=world.alice).key


async def handshake(token: str, origin: bytes | None, *extra: tuple[bytes, bytes], client=None):
    headers = [(b"authorization", f"Token {token}".encode()), *extra]
    if origin is not None:
        headers.append((b"origin", origin))
    communicator = WebsocketCommunicator(application, "/ws/me/", headers=headers)
    if client is not None:
        communicator.scope["client"] = client
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        # The contract's non-browser client: an Origin equal to the server's base URL.
        (b"http://127.0.0.1:8000", None, True),
        (b"http://127.0.0.1:8000", b"127.0.0.1:8000", True),
        (b"http://localhost:8123", b"localhost:8123", True),  # A test live server on a random port.
        (b"http://LOCALHOST:8123", b"localhost:8123", True),
        (b"https://127.0.0.1:8000", None, False),  # Wrong scheme.
        (b"http://127.0.0.1:8001", None, False),  # Wrong port.
        (b"http://127.0.0.1", None, False),  # Port 80 is another port.
        (b"http://localhost:8123", b"localhost:8124", False),
        (b"https://localhost:8123", b"localhost:8123", False),
        (b"http://evil.example:8123", b"evil.example:8123", False),  # A Host outside ALLOWED_HOSTS.
        (b"http://127.0.0.1:8000/path", None, False),
        (b"http://127.0.0.1:99999", None, False),
        (b"http://[::1", None, False),
        (b"null", None, False),
        (b"", None, False),
        (None, None, False),
    ],
)
def test_the_origin_must_match_scheme_host_and_port(origin, host, allowed):
    headers = [(b"origin", origin)] if origin is not None else []
    if host:
        headers.append((b"host", host))
    scope = {"type": "websocket", "scheme": "ws", "client": ("127.0.0.1", 5000), "headers": headers}
    assert origin_allowed(scope) is allowed


@pytest.mark.django_db(transaction=True)
async def test_the_app_checks_the_origin_at_the_handshake(world):
    token = await token_for_alice(world)
    assert await handshake(token, b"http://127.0.0.1:8000")
    assert not await handshake(token, b"https://127.0.0.1:8000")  # Wrong scheme.
    assert not await handshake(token, b"http://127.0.0.1:8001")  # Wrong port.
    assert await handshake(token, b"http://localhost:8123", (b"host", b"localhost:8123"))


def test_trusted_origins_and_a_tls_proxy_are_honoured(settings):
    def allowed(origin: bytes, *extra: tuple[bytes, bytes], client=("127.0.0.1", 5000)) -> bool:
        headers = [(b"origin", origin), *extra]
        return origin_allowed({"type": "websocket", "scheme": "ws", "client": client, "headers": headers})

    settings.CSRF_TRUSTED_ORIGINS = ["https://sulh.example.org", "https://*.forums.example"]
    settings.ALLOWED_HOSTS = ["sulh.example.org", "127.0.0.1"]
    assert allowed(b"https://sulh.example.org")
    assert allowed(b"https://sulh.example.org:443")
    assert allowed(b"https://swat.forums.example")
    assert allowed(b"https://forums.example")
    assert not allowed(b"http://sulh.example.org")
    assert not allowed(b"https://sulh.example.org:8443")
    assert not allowed(b"https://forums.example.evil")
    assert not allowed(b"http://swat.forums.example")

    # Behind a TLS-terminating proxy the handshake reaches us as plain ws; the proxy says it was https.
    tls = (b"x-forwarded-proto", b"https")
    host = (b"host", b"sulh.example.org")
    settings.CSRF_TRUSTED_ORIGINS = []
    assert not allowed(b"https://sulh.example.org", host, tls, client=("10.0.0.2", 5000))
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert allowed(b"https://sulh.example.org", host, tls, client=("10.0.0.2", 5000))
    assert not allowed(b"http://sulh.example.org", host, tls, client=("10.0.0.2", 5000))
    # The same header from anyone else is not believed.
    assert not allowed(b"https://sulh.example.org", host, tls, client=("198.51.100.1", 5000))


@pytest.mark.django_db(transaction=True)
async def test_a_refused_handshake_is_one_log_line_with_the_real_address(world, caplog):
    token = await token_for_alice(world)
    spoof = (b"x-forwarded-for", b"203.0.113.66")
    with caplog.at_level(logging.INFO):
        assert not await handshake(token, b"https://127.0.0.1:8000", spoof, client=("198.51.100.1", 5000))
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "origin" in lines[0].getMessage()
    assert "198.51.100.1" in lines[0].getMessage()
    assert "203.0.113.66" not in lines[0].getMessage()
    assert not lines[0].exc_info

    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert not await handshake("not-a-token", b"http://127.0.0.1:8000", client=("198.51.100.1", 5000))
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert not lines[0].exc_info


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_live_server_logs_one_line_per_refused_handshake(postgres, redis_url):
    """uvicorn as `make run` starts it: no traceback, none of uvicorn's own lines, the peer's address not the one
    the client claimed."""
    import asyncio

    import websockets

    from tests.conftest import db_url_for_subprocess, start_server, stop_server

    server = start_server({"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url})
    try:
        before = len(server.output().splitlines())

        async def refused(origin: str) -> None:
            headers = {"Origin": origin, "Authorization": "Token nope", "X-Forwarded-For": "203.0.113.66"}
            with pytest.raises(websockets.InvalidStatus, match="403"):
                await websockets.connect(f"{server.ws_url}/ws/me/", additional_headers=headers, open_timeout=10)

        asyncio.run(refused(server.url.replace("http://", "https://")))  # Wrong scheme.
        asyncio.run(refused(server.url))  # Right origin, no valid token.
        lines = server.output().splitlines()[before:]
        assert len(lines) == 2, lines
        assert "origin" in lines[0]
        assert "not logged in" in lines[1]
        assert all("127.0.0.1" in line and "203.0.113.66" not in line for line in lines), lines
    finally:
        stop_server(server)
