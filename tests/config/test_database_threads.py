"""The database calls of the hot websocket paths (config.ws.on_database_threads), against a real PostgreSQL: a
connection that answered a moment ago is used without another health check, and a dead one is still replaced."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import OperationalError, connections

from config import ws

pytestmark = [pytest.mark.django_db(transaction=True)]


def _backend() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_a_kept_connection_is_checked_only_after_a_pause_and_a_dead_one_is_replaced(postgres, monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 60)  # Kept between calls, as in production.
    monkeypatch.setattr(ws, "RECHECK_SECONDS", 0.3)
    checks: list[int] = []

    def backend_counting_checks() -> int:
        conn = connections["default"]
        if not getattr(conn, "counting", False):  # This thread's connection wrapper: count its health checks.
            usable = conn.is_usable

            def is_usable() -> bool:
                checks.append(1)
                return usable()

            conn.is_usable = is_usable
            conn.counting = True
        return _backend()

    executor = ThreadPoolExecutor(1)
    call = ws.on_database_threads(backend_counting_checks, executor)
    try:
        first = await call()
        assert await call() == first  # Kept, and used again at once without a check.
        assert checks == []

        await database_sync_to_async(_terminate)(first)  # A database restart, say.
        await asyncio.sleep(0.4)
        second = await call()  # Idle past the window: checked, found dead, replaced; the call itself works.
        assert checks == [1]
        assert second != first

        await database_sync_to_async(_terminate)(second)
        with pytest.raises(OperationalError):  # Within the window the one call after a death fails (the trade-off)…
            await call()
        third = await call()  # … and the next gets a new connection.
        assert third not in (first, second)
    finally:
        await ws.on_database_threads(connections.close_all, executor)()
        executor.shutdown()
