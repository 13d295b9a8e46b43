"""The regulator summary on a real Celery worker (a separate process on the test database and Redis): the
refresh endpoint's task reaches it and reports its progress; a worker killed with SIGKILL half-way through
loses nothing, because each chunk commits with the watermark and the unacknowledged task comes back."""

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from cases.models import CaseEvent, PatternState
from devdata import synthetic
from tests.conftest import ROOT, _wait_for_other_sessions_to_end, db_url_for_subprocess, token_client
from tests.reports.pattern_totals import raw_rows, recount, summary_tables

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

VISIBILITY_TIMEOUT = 2  # Seconds before Redis gives an unacknowledged task to another worker.


class Worker:
    """`celery -A config worker` on its own queue, so that no other test's worker takes its tasks."""

    def __init__(self, redis_url: str, queue: str, **env: str):
        self.log = tempfile.NamedTemporaryFile(prefix="sulh-worker-", suffix=".log", delete=False)  # noqa: SIM115
        environment = {
            **os.environ,
            "DATABASE_URL": db_url_for_subprocess(),
            "REDIS_URL": redis_url,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "PATTERNS_SAFETY_LAG": "0",  # The test's events are seconds old.
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1"]
        command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING", "-Q", queue]
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def queue(settings) -> str:
    name = f"patterns-test-{uuid.uuid4().hex[:8]}"
    settings.PATTERNS_QUEUE = name
    return name


@pytest.fixture
def workers(postgres, redis_url, queue):
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(redis_url, queue, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    _wait_for_other_sessions_to_end()


def follow(client, task_id: str, *, until, timeout: float = 60, worker: Worker | None = None) -> dict:
    """Poll the task endpoint until `until(state)` holds; the last state."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/reports/tasks/{task_id}/")
        assert response.status_code == 200, response.content
        state = response.json()
        if until(state):
            return state
        assert state["state"] != "FAILURE", worker.output() if worker else state
        assert time.monotonic() < deadline, (state, worker.output() if worker else "")
        time.sleep(0.02)


def test_the_refresh_reaches_a_real_worker(world, open_case, workers):
    for dispute_type in ("water", "land", "water"):
        open_case(dispute_type=dispute_type)
    worker = workers()

    response = token_client(world.carol).post("/api/reports/patterns/refresh/")
    assert response.status_code == 202
    task_id = response.json()["task_id"]

    state = follow(token_client(world.dave), task_id, until=lambda s: s["state"] == "SUCCESS", worker=worker)
    assert state == {"state": "SUCCESS", "progress": 1.0}
    assert summary_tables() == recount()
    assert PatternState.objects.get().last_event_id == CaseEvent.objects.order_by("-id").first().pk


def test_a_worker_killed_in_the_middle_loses_nothing(world, workers):
    synthetic.generate(cases=300, seed=7, until=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    last_event = CaseEvent.objects.order_by("-id").first().pk
    # Chunks of 6 events: hundreds of small transactions, so the kill lands between or inside one of them.
    first = workers(PATTERNS_CHUNK_EVENTS="6")
    regulator = token_client(world.dave)

    task_id = token_client(world.carol).post("/api/reports/patterns/refresh/").json()["task_id"]
    follow(regulator, task_id, until=lambda s: s["state"] == "PROGRESS" and s["progress"] >= 0.2, worker=first)
    first.kill()
    killed = time.monotonic()
    _wait_for_other_sessions_to_end()  # Its database session is gone: whatever it had not committed, rolled back.

    # Killed half-way: the tables hold exactly the events up to the watermark, not one more or less.
    mark = PatternState.objects.get().last_event_id
    assert 0 < mark < last_event
    assert summary_tables() == recount(upto=mark)
    assert follow(regulator, task_id, until=lambda s: True)["state"] == "PROGRESS"  # Nobody runs it now.

    # The task was never acknowledged: once its visibility timeout has passed, Redis gives it to the next
    # worker, which carries on from the watermark.
    time.sleep(max(0.0, VISIBILITY_TIMEOUT + 0.5 - (time.monotonic() - killed)))
    second = workers()  # With the usual chunks: the rest in one go.
    state = follow(regulator, task_id, until=lambda s: s["state"] == "SUCCESS", worker=second)
    assert state["progress"] == 1.0
    assert PatternState.objects.get().last_event_id == last_event
    after_the_kill = raw_rows()
    assert summary_tables() == recount()

    # The same tables as a run that was never interrupted.
    from reports import patterns

    patterns.summarise(full=True, safety_lag=0)
    assert raw_rows() == after_the_kill
