"""Shared fixtures: named users in named roles, real services when the environment provides them.

Tests that need PostgreSQL or Redis ask for the `postgres` or `redis_url` fixture. Without
DATABASE_URL / REDIS_URL they skip with a reason; under CI=true they fail instead, so CI can never
pass by skipping what it was meant to prove.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.roles import ADMINISTRATOR, REGULATOR
from cases import services
from cases.models import Membership

from .factories import PASSWORD, ForumFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(what: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {reason}")
    pytest.skip(f"{what} not available: {reason}")


@pytest.fixture(scope="session", autouse=True)
def _channel_layer_of_this_worker(worker_id):
    """Each xdist worker, and the servers it starts (they inherit the environment), has channel-layer groups of its
    own: two workers' sessions share ids ("session-1" in both test databases) and one Redis, and would otherwise
    hear each other's events."""
    from channels.layers import channel_layers
    from django.conf import settings

    prefix = f"sulh-test-{worker_id}"
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG")
    if config is not None:
        config["prefix"] = prefix
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets a channel layer of its own: channels-redis keeps asyncio locks bound to the event loop
    that first used them (per process, not per socket), and pytest-asyncio gives every test a new loop; a lock
    still held when one test ends fails the next test's sockets ("bound to a different event loop")."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """Tests close their connections after each use: a connection kept open (CONN_MAX_AGE) by a thread of
    the websocket tests would stop the test database from being dropped."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture
def postgres(db) -> None:
    if connection.vendor != "postgresql":
        need("PostgreSQL", "set DATABASE_URL=postgres://… to run this test")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        need("Redis", "set REDIS_URL=redis://… to run this test")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        need("Redis", f"{url} does not answer ({exc})")
    return url


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # The real hasher is slow by design; tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reference_data(request) -> None:
    """Transactional tests empty every table between tests, data migrations' rows included; put back the
    reference data that migrations ship (the default ladder, the prohibited practices)."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) and "transactional_db" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from cases import guardrails
    from cases.models import ProhibitedPractice

    services.ladder_default()
    if not ProhibitedPractice.objects.exists():
        guardrails.load_practices()


@pytest.fixture(autouse=True)
def _fresh_cache(settings, request) -> None:
    # Throttle counters live in the cache; one test's requests must not throttle the next. A private
    # in-memory cache per test, because clearing the shared Redis one would flush the whole database
    # under the feet of other test processes.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@dataclass
class World:
    """Named people: alice facilitates and bob monitors the jirga; carol administers; dave regulates;
    eve belongs to nothing; frank facilitates another forum."""

    jirga: object
    sulha: object
    other: object
    alice: object
    bob: object
    carol: object
    dave: object
    eve: object
    frank: object


@pytest.fixture
def world(db) -> World:
    account_services.role_groups_ensure()
    jirga = ForumFactory(name="Swat Jirga", kind="jirga")
    sulha = ForumFactory(name="Irbid Sulha", kind="sulha")
    other = ForumFactory(name="Elsewhere Committee", kind="muslahathi")
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    carol = UserFactory(username="carol")
    dave = UserFactory(username="dave")
    eve = UserFactory(username="eve")
    frank = UserFactory(username="frank")
    for forum in (jirga, sulha):
        services.membership_grant(user=alice, forum=forum, role=Membership.Role.FACILITATOR)
    services.membership_grant(user=bob, forum=jirga, role=Membership.Role.MONITOR)
    services.membership_grant(user=frank, forum=other, role=Membership.Role.FACILITATOR)
    account_services.role_grant(user=carol, role=ADMINISTRATOR)
    account_services.role_grant(user=dave, role=REGULATOR)
    return World(jirga, sulha, other, alice, bob, carol, dave, eve, frank)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")
    return client


@pytest.fixture
def as_user():
    return token_client


@pytest.fixture
def tokens_outlive_the_simulation(settings):
    """For tests that replay months or years of a forum's work (time_machine) with one API client throughout: its
    token must not expire on the way. Expiry itself is tested in tests/accounts/test_tokens.py."""
    settings.SULH_TOKEN_TTL = 36500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: str = ""

    def output(self) -> str:
        return Path(self.log).read_text(errors="replace") if self.log else ""

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


def start_server(env_overrides: dict[str, str], *, workers: int = 1) -> Server:
    """A real uvicorn process serving config.asgi, as `make run` starts it."""
    import urllib.request

    port = free_port()
    # Its output goes to a file: a pipe nobody reads fills up, and the server then blocks writing a log line.
    log = tempfile.NamedTemporaryFile(prefix="sulh-server-", suffix=".log", delete=False)  # noqa: SIM115
    env = {
        **os.environ, **env_overrides, "PORT": str(port), "DJANGO_SETTINGS_MODULE": "config.settings",
        "SULH_DB_APPLICATION_NAME": SERVER_APPLICATION,
    }  # fmt: skip
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            # As `make run`: the app alone decides whom to believe about client addresses (config/proxies.py).
            "--no-proxy-headers",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {Path(log.name).read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return Server(url, process, log.name)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not answer /healthz within 30 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if server.log:
        Path(server.log).unlink(missing_ok=True)
    _wait_for_other_sessions_to_end()


SERVER_APPLICATION = "sulh-test-server"


def _wait_for_other_sessions_to_end(timeout: float = 5.0) -> None:
    """PostgreSQL ends a dead server's backends a moment after the process exits; they would keep the test
    database from being dropped at the end ("being accessed by other users"). Wait, then end the stragglers —
    only the servers' (by their application_name): this process's own connections from other threads or
    Playwright's greenlet may still be used by the tests that follow (end_every_other_connection ends them
    once, before the database is dropped)."""
    if connection.vendor != "postgresql":
        return
    others = (
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        f"AND application_name = '{SERVER_APPLICATION}'"
    )
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(f"SELECT count(*) {others}")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture(scope="session", autouse=True)
def end_every_other_connection(django_db_setup, django_db_blocker):
    """After the last test, before pytest-django drops the test database: end every other connection to it
    (a thread's or Playwright greenlet's that Django never closes), which would make the drop fail."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


def db_url_for_subprocess() -> str:
    """The test database (pytest-django renames it) as a URL another process can open."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


__all__ = ["PASSWORD", "Server", "start_server", "stop_server", "db_url_for_subprocess", "token_client", "free_port"]
