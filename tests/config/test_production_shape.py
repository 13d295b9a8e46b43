"""The production shape for real: uvicorn and a Celery worker as separate processes sharing
PostgreSQL and Redis, as the Procfile starts them."""

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
import websockets
from django.contrib.auth import get_user_model

from accounts import services as account_services
from tests.conftest import ROOT, db_url_for_subprocess, start_server, stop_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IDLE_SECONDS = 65


@pytest.fixture
def server(postgres, redis_url):
    server = start_server({"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url})
    yield server
    stop_server(server)


def make_token(username: str = "alice") -> str:
    user = get_user_model().objects.create_user(username, password="x" * 12)
    return account_services.token_issue(user=user).key


async def open_socket(server, token: str):
    return await websockets.connect(
        f"{server.ws_url}/ws/me/",
        additional_headers={"Authorization": f"Token {token}", "Origin": server.url},
        open_timeout=10,
    )


async def still_answers(socket) -> bool:
    await socket.send(json.dumps({"type": "ping"}))
    return json.loads(await asyncio.wait_for(socket.recv(), 5)) == {"type": "pong"}


def test_idle_websockets_stay_open_for_a_minute(server):
    token = make_token()

    async def scenario():
        sockets = [await open_socket(server, token) for _ in range(5)]
        for socket in sockets:
            assert json.loads(await socket.recv())["type"] == "welcome"
        # channels-redis with redis-py 8 used to drop idle sockets every ~5 s (PITFALLS.md).
        await asyncio.sleep(IDLE_SECONDS)
        answers = [await still_answers(socket) for socket in sockets]
        for socket in sockets:
            await socket.close()
        return answers

    assert asyncio.run(scenario()) == [True] * 5


def test_the_handshake_refuses_strangers_with_403(server):
    async def scenario():
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{server.ws_url}/ws/me/", additional_headers={"Origin": server.url})
        return refused.value.response.status_code

    assert asyncio.run(scenario()) == 403


def deactivate_and_close(user) -> None:
    # Runs in a worker thread, which opens its own database connection: close it, or the test database
    # cannot be dropped at the end of the run.
    from django.db import connections

    try:
        account_services.user_deactivate(user=user)
    finally:
        connections.close_all()


def test_deactivation_in_one_process_closes_sockets_in_another(server):
    token = make_token()
    alice = get_user_model().objects.get(username="alice")

    async def scenario():
        socket = await open_socket(server, token)
        await socket.recv()
        await asyncio.to_thread(deactivate_and_close, alice)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
        return closed.value.rcvd.code

    assert asyncio.run(scenario()) == 4401


def test_a_real_celery_worker_runs_tasks(postgres, redis_url):
    env = {**os.environ, "DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            "1",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
            "-Q",
            "celery",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        from config.celery import ping

        started = time.monotonic()
        result = ping.delay()
        assert result.get(timeout=60) == "pong"
        assert time.monotonic() - started < 60
    finally:
        worker.terminate()
        worker.wait(timeout=20)
