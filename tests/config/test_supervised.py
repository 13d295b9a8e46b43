"""The production shape is supervised: `make run` with DATABASE_URL and REDIS_URL starts the Procfile under
supervisord (deploy/procfile.py), which starts again whichever of web, worker and beat dies and leaves the others
alone; Ctrl-C stops them all. Tested for real: supervisord, uvicorn and Celery against the test database and Redis,
each process killed with SIGKILL in turn."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest
from django.db import connection
from supervisor.xmlrpc import SupervisorTransport

from tests.conftest import ROOT, _wait_for_other_sessions_to_end, db_url_for_subprocess, free_port, need

pytestmark = [pytest.mark.slow]

PROCESSES = ("web", "worker", "beat")


def load_procfile_module():
    spec = importlib.util.spec_from_file_location("sulh_deploy_procfile", ROOT / "deploy" / "procfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_supervisor_runs_every_procfile_entry_and_restarts_it(tmp_path):
    procfile = load_procfile_module()
    config = configparser.RawConfigParser()
    config.read_string(procfile.render(tmp_path))
    entries = procfile.entries()
    assert set(entries) == set(PROCESSES)
    for name, line in entries.items():
        program = config[f"program:{name}"]
        assert line in program["command"]
        assert program["autorestart"] == "true"
        assert program["stdout_logfile"] == "/dev/stdout"
        assert program["directory"] == str(ROOT)
    assert config["supervisord"]["nodaemon"] == "true"
    # Nothing is written into the repository: the socket and pid file live in the runtime directory.
    assert str(tmp_path) in config["unix_http_server"]["file"]


def test_a_systemd_unit_runs_each_procfile_entry_and_restarts_it():
    procfile = load_procfile_module()
    units = ROOT / "deploy" / "systemd"
    for name in procfile.entries():
        unit = configparser.RawConfigParser(strict=False)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read(units / f"sulh-{name}.service")
        service = unit["Service"]
        assert service["ExecStart"].endswith(f"deploy/procfile.py run {name}")
        assert service["Restart"] == "always"
        assert service["EnvironmentFile"]
        # The settings come from the EnvironmentFile; the unit itself holds no secret and no URL.
        for line in (units / f"sulh-{name}.service").read_text().splitlines():
            if line.startswith("Environment="):
                assert "SECRET" not in line.upper(), line
                assert "://" not in line, line


class Supervised:
    def __init__(self, runtime: Path, process: subprocess.Popen, url: str, log: Path):
        self.runtime = runtime
        self.process = process
        self.url = url
        self.log = log
        self.config = runtime / "supervisord.conf"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def info(self, name: str) -> dict:
        """What supervisorctl status shows, asked over supervisord's socket (as supervisorctl does)."""
        transport = SupervisorTransport(None, None, f"unix://{self.runtime / 'supervisor.sock'}")
        try:
            return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor.getProcessInfo(name)
        except OSError:
            return {}

    def pid(self, name: str) -> int:
        return int(self.info(name).get("pid", 0))

    def wait_running(self, name: str, *, other_than: int = 0, timeout: float = 30) -> int:
        """The process's pid once supervisord reports it RUNNING (and, after a kill, a new one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            info = self.info(name)
            if info.get("statename") == "RUNNING" and info["pid"] != other_than:
                return int(info["pid"])
            time.sleep(0.2)
        raise AssertionError(f"{name} not RUNNING again within {timeout} s: {self.info(name)}\n{self.output()}")

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status
        except OSError:
            return 0

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthz() == 200:
                return
            time.sleep(0.3)
        raise AssertionError(f"/healthz did not answer 200 within {timeout} s\n{self.output()}")


def kill_9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def worker_answers(timeout: float = 30) -> bool:
    from config.celery import ping

    return ping.apply_async().get(timeout=timeout) == "pong"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in all but name.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and ") Z " not in stat.read_text()


@pytest.mark.django_db(transaction=True)
def test_each_process_killed_comes_back_and_ctrl_c_stops_all():
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        need("Redis", "set REDIS_URL=redis://… to run this test")
    if connection.vendor != "postgresql":
        need("PostgreSQL", "set DATABASE_URL=postgres://… to run this test")
    runtime = Path(tempfile.mkdtemp(prefix="sulh-test-supervisor-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url_for_subprocess(),
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SULH_RUNTIME_DIR": str(runtime),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = runtime / "output.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "deploy/procfile.py", "supervise"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    supervised = Supervised(runtime, process, f"http://127.0.0.1:{port}", log)
    groups: set[int] = set()
    try:
        pids = {name: supervised.wait_running(name, timeout=40) for name in PROCESSES}
        groups.update(pids.values())
        supervised.wait_healthy()
        assert worker_answers()

        # web: killed, started again, serving; the others untouched.
        kill_9(pids["web"])
        new_web = supervised.wait_running("web", other_than=pids["web"])
        groups.add(new_web)
        supervised.wait_healthy()
        assert supervised.pid("worker") == pids["worker"]
        assert supervised.pid("beat") == pids["beat"]

        # worker: killed, started again, and runs a task.
        kill_9(pids["worker"])
        new_worker = supervised.wait_running("worker", other_than=pids["worker"])
        groups.add(new_worker)
        assert worker_answers()
        assert supervised.pid("web") == new_web

        # beat: killed and started again.
        kill_9(pids["beat"])
        new_beat = supervised.wait_running("beat", other_than=pids["beat"])
        groups.add(new_beat)
        assert supervised.pid("web") == new_web
        assert supervised.pid("worker") == new_worker
        assert supervised.healthz() == 200

        # Ctrl-C stops supervisord and everything it runs.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, supervised.output()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in (new_web, new_worker, new_beat)):
            time.sleep(0.2)
        assert not any(alive(pid) for pid in (new_web, new_worker, new_beat)), supervised.output()
        assert supervised.healthz() == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        # A worker killed with SIGKILL leaves its pool processes behind; end them (and anything else left).
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _wait_for_other_sessions_to_end(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
