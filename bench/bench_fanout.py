"""Benchmark: fan-out latency of a live dialogue session, against raw Redis pub/sub and a bare Channels relay.

Usage (from the repository's root; needs PostgreSQL and Redis):

    .venv/bin/python bench/bench_fanout.py
    .venv/bin/python bench/bench_fanout.py --participants 500 --scenarios a,b

One speaker sends --messages messages (default 500) at a steady --rate (default 40 per second, below the 50
a second that the session's rate limit of 100 frames in 2 seconds allows, so that timing jitter never trips
it) to --participants listeners (default 50); for each message and each listener it measures the delivery
latency from the speaker's send to the listener's receipt.
All clients run in this one process (asyncio), so both ends are timed with the same time.perf_counter().
The first --warmup messages (default 50) are sent and checked but left out of the latency figures.

Scenarios (--scenarios, default a,b,c), measured one after the other and printed as one table:

  a  raw Redis pub/sub: one redis.asyncio publisher, N redis.asyncio subscribers of one channel
     (bench-fanout-<random>); no websockets, no servers. The floor.
  b  a bare Channels group relay without persistence (bench/relay_asgi.py: join one group, group_send every
     frame, every member sends it on) with the same channels_redis layer settings as config/settings.py,
     served by two uvicorn processes (Redis db 6, a random group name); the N clients, the speaker among
     them, are split across both. BENCH_RELAY_LEAN=1 in the environment makes it dispatch as Sulh's consumers
     do, without Channels' hop onto the database thread before every message (bench/relay_asgi.py): the stricter
     baseline.
  c  Sulh itself: two uvicorn processes serving config.asgi:application in production mode (DJANGO_DEBUG=0,
     a random DJANGO_SECRET_KEY; DJANGO_SECURE_SSL_REDIRECT=0 because the benchmark speaks plain HTTP to
     127.0.0.1) on a PostgreSQL database of its own (--database-url, default sulh_bench_fanout: created if
     missing and migrated) and Redis db 5. The set-up makes a forum, a facilitator (the speaker) and N-1
     monitors with tokens, opens a case, and creates and starts a session through the HTTP API; the clients
     connect to /ws/sessions/{id}/ split across both servers, the speaker sends `say` frames and every client
     (the speaker included) takes the `said` events. It also checks that every client saw the session's seqs
     strictly increasing without gaps between the first and the last `said` it got, and that the transcript
     holds every message. --debug runs Sulh with DJANGO_DEBUG=1 instead. When the session endpoint does not
     answer yet, (c) is skipped with a line saying why. --sulh-env NAME=VALUE passes more settings to Sulh's
     servers, e.g. --sulh-env DATABASE_CONN_MAX_AGE=60 to keep database connections open between messages.

Per scenario: p50, p99, p99.9 and max delivery latency (ms), deliveries per second (every receipt over the
wall time from the first send to the last receipt), loss (expected deliveries minus those received within
--drain seconds of the last progress), duplicates and out-of-order receipts, and the 1-minute load average
when the scenario started. Below the table, per scenario: pauses of this process's garbage collector, how
far the speaker fell behind its schedule, the CPU the benchmark process and each server used (a benchmark
process near 100% means the clients themselves were the bottleneck: a warning says so), the latencies of the
clients on the speaker's server and on the other one, the Redis commands and (c) the PostgreSQL connections
opened while measured, and anything unexpected (sockets closed by a server, error frames, seq gaps, server
tracebacks). --log-dir keeps the servers' logs.

Other processes on the machine skew the figures (the clients, both servers, Redis and PostgreSQL share its
cores): run it on a quiet machine, and more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import gc
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib import error as urlerror
from urllib import request as urlrequest
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
NAN = float("nan")
USER_PREFIX = "bench-fanout-"
FORUM_NAME = "Bench Fan-out Jirga"
CASE_TITLE = "Fan-out benchmark"
SERVERS: list[subprocess.Popen] = []  # Every server started, so that none outlives the benchmark.


# --- Recording --------------------------------------------------------------------------------------------


class Recorder:
    """Send and receipt times of one run, in arrays (no objects for the garbage collector to walk)."""

    def __init__(self, clients: int, messages: int) -> None:
        self.clients, self.messages = clients, messages
        self.sent_at = array("d", [NAN]) * messages
        self.received_at = [array("d", [NAN]) * messages for _ in range(clients)]
        self.highest = [-1] * clients
        self.expected = clients * messages
        self.received = self.duplicates = self.out_of_order = self.foreign = 0
        self.first_send = self.last_receipt = 0.0
        self.schedule_lag = 0.0
        self.slowed = 0  # slow_down refusals (Sulh): each frame sent again after its retry_after.
        self.hold_until = 0.0  # After a slow_down the speakers send nothing new before this (time.perf_counter()).
        self.all_in = asyncio.Event()

    def sent(self, counter: int, at: float) -> None:
        self.sent_at[counter] = at
        if counter == 0:
            self.first_send = at

    def receipt(self, client: int, counter: int, at: float) -> None:
        if not 0 <= counter < self.messages:
            self.foreign += 1
            return
        row = self.received_at[client]
        if not math.isnan(row[counter]):  # Seen before.
            self.duplicates += 1
            return
        row[counter] = at
        if counter < self.highest[client]:
            self.out_of_order += 1
        else:
            self.highest[client] = counter
        self.received += 1
        self.last_receipt = at
        if self.received >= self.expected:
            self.all_in.set()

    def loss_breakdown(self) -> str:
        """Where the missing deliveries are: whole messages nobody got, or clients that missed some."""
        missing_per_message = [0] * self.messages
        clients_missing = []
        for index, row in enumerate(self.received_at):
            missed = [counter for counter in range(self.messages) if math.isnan(row[counter])]
            for counter in missed:
                missing_per_message[counter] += 1
            if missed:
                clients_missing.append((index, len(missed), missed[0]))
        nobody = [counter for counter, missing in enumerate(missing_per_message) if missing == self.clients]
        text = f"loss: {len(nobody)} messages reached no client"
        if nobody:
            text += f" (counters {nobody[0]}..{nobody[-1]})"
        partial = [(index, count, first) for index, count, first in clients_missing if count > len(nobody)]
        if partial:
            worst = sorted(partial, key=lambda item: -item[1])[:5]
            text += f"; {len(partial)} clients missed others, e.g. " + ", ".join(
                f"client {index} missed {count} from #{first}" for index, count, first in worst
            )
        return text

    def latencies_ms(self, warmup: int, clients: range | None = None) -> list[float]:
        sent = self.sent_at
        out = []
        for index in clients if clients is not None else range(self.clients):
            row = self.received_at[index]
            for counter in range(warmup, self.messages):
                received = row[counter]
                if not (math.isnan(received) or math.isnan(sent[counter])):
                    out.append((received - sent[counter]) * 1000.0)
        out.sort()
        return out


class GcWatch:
    """Pauses of this process's garbage collector while a run is measured."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: list[tuple[int, float]] = []
        self.active = False

    def __call__(self, phase: str, info: dict) -> None:
        if not self.active:
            return
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self.started) * 1000.0))

    def summary(self) -> str:
        if not self.pauses:
            return "no collections"
        full = [ms for generation, ms in self.pauses if generation == 2]
        longest = max(ms for _generation, ms in self.pauses)
        return f"{len(self.pauses)} collections ({len(full)} full), longest {longest:.1f} ms"


GC_WATCH = GcWatch()


@dataclass
class Result:
    scenario: str
    clients: int
    messages: int
    warmup: int
    load1: float
    recorder: Recorder | None = None
    skipped: str = ""
    gc: str = ""
    cpu: str = ""
    own_cpu: float = 0.0
    redis_commands: int = 0
    rate: float = 0.0
    split: bool = False  # Clients alternate between two servers, the speaker (client 0) on the first.
    notes: list[str] = field(default_factory=list)


def body_of(counter: int, at: float) -> str:
    """The text a message carries: a counter and the send time (the time is informative; the table uses
    the send time kept in this process)."""
    return f"fanout {counter} {at:.6f}"


def counter_of(body: str) -> int:
    try:
        return int(body.split(" ", 2)[1])
    except (AttributeError, IndexError, ValueError):
        return -1


def say_frame(run: str, counter: int, at: float) -> str:
    return json.dumps({"type": "say", "body": body_of(counter, at), "client_id": f"fanout-{run}-{counter}"})


async def speak(recorder: Recorder, rate: float, send) -> None:
    """Send recorder.messages messages at a steady rate: message i is due at start + i / rate. A late send
    is not made up by bunching: it goes as soon as it can but never sooner than 1 / rate after the one before, and
    the lag is recorded. Told to slow down (Sulh's slow_down), the speakers send nothing new for its retry_after."""
    interval = 1.0 / rate
    start = last = time.perf_counter()
    for counter in range(recorder.messages):
        due = start + counter * interval
        while (delay := max(due, last + interval if counter else due, recorder.hold_until) - time.perf_counter()) > 0:  # noqa: ASYNC110, E501 - a schedule
            await asyncio.sleep(delay)
        now = last = time.perf_counter()
        recorder.schedule_lag = max(recorder.schedule_lag, now - due)
        recorder.sent(counter, now)
        await send(counter, now)


async def drain(recorder: Recorder, idle: float) -> None:
    """Wait for every expected delivery, or until nothing more arrived for `idle` seconds."""
    seen, changed = -1, time.perf_counter()
    while not recorder.all_in.is_set():
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (Ctrl-C).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):
                await recorder.all_in.wait()
        if recorder.received != seen:
            seen, changed = recorder.received, time.perf_counter()
        elif time.perf_counter() - changed > idle:
            return


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return NAN
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Measured:
    """Around each measured run: collect and freeze what set-up made (PITFALLS.md), watch this process's
    garbage collector, and take the CPU time the benchmark process and the servers used."""

    def __init__(self, result: Result, redis_url: str, servers: list[subprocess.Popen] = ()) -> None:
        self.result, self.redis_url, self.pids = result, redis_url, [server.pid for server in servers]

    def redis_commands(self) -> int:
        """Commands Redis has processed so far (all clients: other users of this Redis count too)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return int(client.info("stats")["total_commands_processed"])
        finally:
            client.close()

    def __enter__(self) -> Measured:
        gc.collect()
        gc.freeze()
        GC_WATCH.pauses.clear()
        GC_WATCH.active = True
        self.commands = self.redis_commands()
        self.wall, self.own = time.perf_counter(), time.process_time()
        self.cpu = [cpu_seconds(pid) for pid in self.pids]
        return self

    def __exit__(self, *exc) -> None:
        GC_WATCH.active = False
        wall = time.perf_counter() - self.wall
        self.result.gc = GC_WATCH.summary()
        shares = [f"{(cpu_seconds(pid) - before) / wall:.0%}" for pid, before in zip(self.pids, self.cpu, strict=True)]
        self.result.own_cpu = (time.process_time() - self.own) / wall
        self.result.cpu = f"benchmark process {self.result.own_cpu:.0%}" + (
            f", servers {' and '.join(shares)}" if shares else ""
        )
        # The INFO calls themselves: 2.
        self.result.redis_commands = self.redis_commands() - self.commands - 2


# --- Servers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(module: str, port: int, env: dict, log_dir: Path, extra: list[str]) -> subprocess.Popen:
    log = open(log_dir / f"server-{port}.log", "wb")  # Closed with the process (server_stop).
    command = [PYTHON, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(
        command + ["--lifespan", "off", *extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # A Ctrl-C reaches the benchmark, which stops its servers itself.
    )
    process.log = log  # type: ignore[attr-defined]
    process.log_path = log_dir / f"server-{port}.log"  # type: ignore[attr-defined]
    SERVERS.append(process)
    return process


def server_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    process.log.close()  # type: ignore[attr-defined]
    if process in SERVERS:
        SERVERS.remove(process)


@atexit.register
def _servers_stop_all() -> None:
    for process in list(SERVERS):
        server_stop(process)


def log_tail(process: subprocess.Popen, lines: int = 15) -> str:
    try:
        text = process.log_path.read_text(errors="replace")  # type: ignore[attr-defined]
    except OSError:
        return ""
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


def log_errors(processes: list[subprocess.Popen]) -> list[str]:
    """The exceptions the servers logged, counted by their last line (and the handler they came from)."""
    counts: dict[str, int] = {}
    for process in processes:
        try:
            lines = process.log_path.read_text(errors="replace").splitlines()  # type: ignore[attr-defined]
        except OSError:
            continue
        in_traceback, where = False, ""
        for line in lines:
            if line.startswith("Traceback (most recent call last)"):
                in_traceback, where = True, ""
            elif in_traceback and line.startswith("  File "):
                if "site-packages" not in line or not where:
                    where = line.rsplit(" in ", 1)[-1]
            elif in_traceback and line and not line.startswith(" "):
                key = f"{line[:120]} (in {where})"
                counts[key] = counts.get(key, 0) + 1
                in_traceback = False
    return [f"server logs: {count} x {text}" for text, count in sorted(counts.items(), key=lambda item: -item[1])]


async def wait_tcp(process: subprocess.Popen, port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({process.returncode}):\n{log_tail(process)}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise RuntimeError(f"the server on port {port} did not accept within {within:.0f} s:\n{log_tail(process)}")


def http(method: str, url: str, *, token: str = "", body: dict | None = None) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urlrequest.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urlrequest.urlopen(req, timeout=30) as response:
            status, raw = response.status, response.read()
    except urlerror.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:300]


async def wait_healthz(process: subprocess.Popen, port: int, within: float = 60.0) -> dict:
    deadline = time.monotonic() + within
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({process.returncode}):\n{log_tail(process)}")
        try:
            status, body = await asyncio.to_thread(http, "GET", f"http://127.0.0.1:{port}/healthz")
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                return body if isinstance(body, dict) else {}
            last = f"{status} {body}"
        await asyncio.sleep(0.2)
    raise RuntimeError(f"GET /healthz on port {port} did not answer 200 within {within:.0f} s (last: {last})")


# --- Websocket clients ------------------------------------------------------------------------------------


@dataclass
class WsClient:
    index: int
    ws: object
    port: int
    seqs: array = field(default_factory=lambda: array("q"))
    said_seqs: array = field(default_factory=lambda: array("q"))
    errors: dict = field(default_factory=dict)
    closed: str = ""
    welcome: dict = field(default_factory=dict)
    first_said: dict = field(default_factory=dict)  # Kept to check its shape against the contract.
    pending: dict = field(default_factory=dict)  # A speaker's frames by counter, to send again after slow_down.


async def ws_connect(url: str, port: int, token: str = ""):
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Token {token}"} if token else None
    return await connect(
        url,
        additional_headers=headers,
        origin=f"http://127.0.0.1:{port}",
        open_timeout=60,
        ping_interval=None,  # A run lasts seconds; no keep-alive traffic in the measurements.
        max_queue=None,  # Never stop reading from the socket: the reader task drains it.
    )


async def connect_all(count: int, connect_one, parallel: int = 20) -> list:
    gate = asyncio.Semaphore(parallel)

    async def one(index: int):
        async with gate:
            return await connect_one(index)

    return await asyncio.gather(*(one(index) for index in range(count)))


async def read_frames(client: WsClient, recorder: Recorder, sulh: bool) -> None:
    """Take frames until the socket closes: for the relay the frame is the speaker's `say` frame itself, for
    Sulh an `event` of kind `said` carries its body in data.body."""
    from websockets.exceptions import ConnectionClosed

    perf_counter, loads = time.perf_counter, json.loads
    try:
        async for raw in client.ws:
            at = perf_counter()
            frame = loads(raw)
            if not sulh:
                recorder.receipt(client.index, counter_of(frame.get("body")), at)
                continue
            kind = frame.get("type")
            if kind == "event":
                seq = frame.get("seq")
                if isinstance(seq, int):
                    client.seqs.append(seq)
                if frame.get("kind") == "said":
                    if isinstance(seq, int):
                        client.said_seqs.append(seq)
                    if not client.first_said:
                        client.first_said = frame
                    body = (frame.get("data") or {}).get("body")
                    if isinstance(body, str) and body.startswith("fanout "):
                        recorder.receipt(client.index, counter_of(body), at)
            elif kind == "error":
                code = str(frame.get("code"))
                client.errors[code] = client.errors.get(code, 0) + 1
                if code == "slow_down":
                    resend_later(client, recorder, frame)
    except ConnectionClosed as exc:
        client.closed = f"code {exc.rcvd.code if exc.rcvd else 'none'}"


def resend_later(client: WsClient, recorder: Recorder, frame: dict) -> None:
    """A say frame refused with slow_down: sent again (same client_id) after the retry_after it names. Its latency
    still counts from the first send."""
    recorder.slowed += 1
    text = client.pending.get(counter_of("x " + str(frame.get("client_id", "")).rsplit("-", 1)[-1]))
    if text is None:
        return
    wait = frame.get("retry_after") if isinstance(frame.get("retry_after"), (int, float)) else 0.25
    recorder.hold_until = max(recorder.hold_until, time.perf_counter() + wait)
    loop = asyncio.get_running_loop()
    loop.call_later(wait, lambda: loop.create_task(client.ws.send(text)))


async def close_all(clients: list[WsClient], readers: list[asyncio.Task]) -> list[str]:
    """Close every socket; return how many closed on their own before (and why)."""
    early = [f"{client.closed} (client {client.index})" for client in clients if client.closed]
    await asyncio.gather(*(client.ws.close() for client in clients), return_exceptions=True)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    if not early:
        return []
    codes: dict[str, int] = {}
    for reason in early:
        codes[reason] = codes.get(reason, 0) + 1
    return [f"{len(early)} sockets closed by the server during the run: {codes}"]


# --- Scenario a: raw Redis pub/sub ------------------------------------------------------------------------


async def scenario_redis(args) -> Result:
    import redis.asyncio as aioredis

    result = Result("a redis pub/sub", args.participants, args.messages, args.warmup, os.getloadavg()[0])
    channel = f"bench-fanout-{secrets.token_hex(6)}"
    recorder = Recorder(args.participants, args.messages)
    run = secrets.token_hex(4)
    publisher = aioredis.Redis.from_url(args.relay_redis_url)
    subscribers = []
    try:
        for _ in range(args.participants):
            client = aioredis.Redis.from_url(args.relay_redis_url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel)
            subscribers.append((client, pubsub))
        deadline = time.monotonic() + 30
        while (await publisher.pubsub_numsub(channel))[0][1] < args.participants:
            if time.monotonic() > deadline:
                raise RuntimeError("the subscribers did not all subscribe within 30 s")
            await asyncio.sleep(0.05)

        async def listen(index: int, pubsub) -> None:
            perf_counter, loads = time.perf_counter, json.loads
            async for message in pubsub.listen():
                if message["type"] == "message":
                    at = perf_counter()
                    recorder.receipt(index, counter_of(loads(message["data"]).get("body")), at)

        readers = [asyncio.create_task(listen(i, pubsub)) for i, (_c, pubsub) in enumerate(subscribers)]

        async def send(counter: int, at: float) -> None:
            await publisher.publish(channel, say_frame(run, counter, at))

        with Measured(result, args.relay_redis_url):
            await speak(recorder, args.rate, send)
            await drain(recorder, args.drain)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for client, pubsub in subscribers:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()
        await publisher.aclose()
    result.recorder = recorder
    result.notes.append(f"channel {channel} on {args.relay_redis_url}; {args.participants} subscribers + 1 publisher")
    return result


# --- Scenario b: a bare Channels relay --------------------------------------------------------------------


async def scenario_relay(args, log_dir: Path) -> Result:
    result = Result("b channels relay", args.participants, args.messages, args.warmup, os.getloadavg()[0])
    group = f"bench-fanout-{secrets.token_hex(6)}"
    env = dict(os.environ, BENCH_RELAY_REDIS_URL=args.relay_redis_url, BENCH_RELAY_GROUP=group)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ports = [free_port(), free_port()]
    processes = [
        server_start("relay_asgi:application", port, env, log_dir, ["--app-dir", "bench", "--log-level", "warning"])
        for port in ports
    ]
    try:
        for process, port in zip(processes, ports, strict=True):
            await wait_tcp(process, port)
        recorder = Recorder(args.participants, args.messages)
        result.recorder = recorder
        run = secrets.token_hex(4)

        async def connect_one(index: int) -> WsClient:
            port = ports[index % 2]
            return WsClient(index, await ws_connect(f"ws://127.0.0.1:{port}/", port), port)

        clients = await connect_all(args.participants, connect_one)
        readers = [asyncio.create_task(read_frames(client, recorder, sulh=False)) for client in clients]
        speakers = [client.ws for client in clients[: max(1, args.speakers)]]

        async def send(counter: int, at: float) -> None:
            await speakers[counter % len(speakers)].send(say_frame(run, counter, at))

        with Measured(result, args.relay_redis_url, processes):
            await speak(recorder, args.rate, send)
            await drain(recorder, args.drain)
        result.notes.extend(await close_all(clients, readers))
        await asyncio.sleep(0.5)  # Let the servers log what the disconnections did.
        for process in processes:
            if process.poll() is not None:
                result.notes.append(f"server exited ({process.returncode}):\n{log_tail(process)}")
        result.notes.extend(log_errors(processes))
    finally:
        for process in processes:
            server_stop(process)
    result.notes.append(
        f"group {group} on {args.relay_redis_url}; uvicorn on ports {ports[0]} and {ports[1]}; the speaker is "
        "one of the clients"
    )
    return result


# --- Scenario c: Sulh -------------------------------------------------------------------------------------


@dataclass
class SulhWorld:
    case_id: int
    speaker_token: str
    tokens: list[str]


def sulh_prepare(args) -> SulhWorld:
    """Django in this process, on the benchmark's own database: migrate, then the forum, its members, their
    tokens and an open case (reused by later runs)."""
    from common import database_ensure

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.sulh_redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DJANGO_DEBUG"] = "1"  # This process only sets up; the servers run as --debug says.
    # One encryption key for this process and the servers (each with a random DJANGO_SECRET_KEY): the key the
    # development secret derives, which earlier runs' rows (the reused forum, members and case) were written with.
    import base64
    import hashlib

    dev_secret = "django-insecure-dev-only-do-not-use-in-production"
    os.environ.setdefault(
        "SULH_ENCRYPTION_KEYS",
        base64.urlsafe_b64encode(hashlib.sha256(f"sulh:encryption:{dev_secret}".encode()).digest()).decode(),
    )
    database_ensure(args.database_url)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    settings.DEBUG = False  # No query log.
    # These users only ever exist in the benchmark's database and log in with tokens; the real hasher would
    # spend ~0.3 s on each of them (the test suite does the same).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from accounts import services as account_services
    from cases import services
    from cases.models import Case, Forum, Membership

    region = services.region_ensure(code="bench-fanout", name="Bench fan-out")
    forum = services.forum_ensure(name=FORUM_NAME, kind=Forum.Kind.JIRGA, region=region)
    names = [f"{USER_PREFIX}{index:05d}" for index in range(args.participants)]
    User = get_user_model()
    existing = {user.username: user for user in User.objects.filter(username__in=names)}
    users = []
    for index, name in enumerate(names):
        user = existing.get(name) or account_services.user_ensure(username=name, password=secrets.token_urlsafe(16))
        role = Membership.Role.FACILITATOR if index == 0 else Membership.Role.MONITOR
        services.membership_grant(user=user, forum=forum, role=role)
        users.append(user)
    tokens = [account_services.token_issue(user=user).key for user in users]
    case = Case.objects.filter(forum=forum, title=CASE_TITLE, state="intake").order_by("-id").first()
    if case is None:
        case = services.case_open(
            user=users[0],
            forum=forum,
            title=CASE_TITLE,
            dispute_type="land",
            risk_level="low",
            offence_class="civil",
            parties=[
                {"name": "First family", "kind": "family", "role": "first_party"},
                {"name": "Second family", "kind": "family", "role": "second_party"},
            ],
        )
    return SulhWorld(case_id=case.pk, speaker_token=tokens[0], tokens=tokens)


def sulh_routes_sessions() -> str:
    """Whether the repository has the session consumer yet: '' if so, else what is missing."""
    consumer = ROOT / "deliberation" / "consumers.py"
    routing = ROOT / "config" / "routing.py"
    if not consumer.exists():
        return "deliberation/consumers.py does not exist"
    if "ws/sessions/" not in routing.read_text():
        return "config/routing.py does not route ws/sessions/"
    return ""


def seq_check(clients: list[WsClient]) -> list[str]:
    """Every client's seqs strictly increasing; none missing between its first and last `said`, nor (the
    contract's stronger promise) between its welcome and the last event it got."""
    disordered = gapped = missing = since_welcome = 0
    for client in clients:
        seqs = client.seqs
        if any(b <= a for a, b in zip(seqs, seqs[1:], strict=False)):
            disordered += 1
        if client.said_seqs:
            first, last = client.said_seqs[0], client.said_seqs[-1]
            gap = (last - first + 1) - len({seq for seq in seqs if first <= seq <= last})
            if gap:
                gapped += 1
                missing += gap
        welcome_seq = client.welcome.get("last_seq")
        welcome_seq = welcome_seq if isinstance(welcome_seq, int) else 0
        if seqs and len({seq for seq in seqs if seq > welcome_seq}) != max(0, max(seqs) - welcome_seq):
            since_welcome += 1
    count = len(clients)
    return [
        f"seq check: {count - disordered}/{count} clients saw seqs strictly increasing, {count - gapped}/{count} "
        f"without gaps between their first and last said"
        + (f" ({missing} seqs missing in all)" if missing else "")
        + f", {count - since_welcome}/{count} without gaps from their welcome's last_seq on"
    ]


async def scenario_sulh(args, log_dir: Path, world: SulhWorld | None, prepare_error: str) -> Result:
    result = Result("c sulh", args.participants, args.messages, args.warmup, os.getloadavg()[0])
    if world is None:
        result.skipped = f"set-up failed: {prepare_error}"
        return result
    ports = [free_port(), free_port()]
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.sulh_redis_url,
        DJANGO_DEBUG="1" if args.debug else "0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Production mode would answer plain HTTP with a redirect to HTTPS; the benchmark has no TLS.
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    env.update(args.sulh_env)
    processes = [server_start("config.asgi:application", port, env, log_dir, []) for port in ports]
    mode = "DJANGO_DEBUG=1" if args.debug else "DJANGO_DEBUG=0 (DJANGO_SECURE_SSL_REDIRECT=0)"
    mode += "".join(f", {key}={value}" for key, value in args.sulh_env.items())
    try:
        for process, port in zip(processes, ports, strict=True):
            health = await wait_healthz(process, port)
        base = f"http://127.0.0.1:{ports[0]}"
        scheduled = (_now() + timedelta(minutes=5)).isoformat()
        status, body = await asyncio.to_thread(
            http,
            "POST",
            f"{base}/api/cases/{world.case_id}/sessions/",
            token=world.speaker_token,
            body={"scheduled_for": scheduled},
        )
        if status != 201 or not isinstance(body, dict) or "id" not in body:
            missing = sulh_routes_sessions()
            why = "the session endpoint is not available" if status in (404, 405) else "creating a session failed"
            result.skipped = f"{why}: POST /api/cases/{world.case_id}/sessions/ answered {status} {body}" + (
                f" ({missing})" if missing else ""
            )
            return result
        session = body["id"]
        result.notes.append(f"session {session}, ws_url {body.get('ws_url')!r}; Sulh in {mode}; healthz {health}")
        status, started = await asyncio.to_thread(
            http, "POST", f"{base}/api/sessions/{session}/start/", token=world.speaker_token, body={}
        )
        if status >= 300:
            result.skipped = f"POST /api/sessions/{session}/start/ answered {status} {started}"
            return result

        recorder = Recorder(args.participants, args.messages)

        async def connect_one(index: int) -> WsClient:
            from websockets.exceptions import InvalidStatus

            port = ports[index % 2]
            try:
                ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/sessions/{session}/", port, world.tokens[index])
            except InvalidStatus as exc:
                raise RuntimeError(f"the handshake of participant {index} answered {exc.response.status_code}") from exc
            while True:
                async with asyncio.timeout(30):
                    frame = json.loads(await ws.recv())
                if frame.get("type") == "welcome":
                    return WsClient(index, ws, port, welcome=frame)

        try:
            clients = await connect_all(args.participants, connect_one)
        except (RuntimeError, OSError, TimeoutError) as exc:
            missing = sulh_routes_sessions()
            result.skipped = f"connecting to /ws/sessions/{session}/ failed: {exc}" + (
                f" ({missing})" if missing else ""
            )
            return result
        result.recorder = recorder
        readers = [asyncio.create_task(read_frames(client, recorder, sulh=True)) for client in clients]
        # Every connection is a `joined` event for everyone (N x N deliveries): measure once they have gone by.
        joined_at = time.perf_counter()
        last = await asyncio.to_thread(session_last_seq, args.database_url, session)
        async with asyncio.timeout(300):
            while any(caught_up(c) < last for c in clients if not c.closed):  # noqa: ASYNC110 - polling
                await asyncio.sleep(0.05)
        result.notes.append(
            f"the {args.participants} `joined` events ({args.participants**2:,} deliveries) had reached everyone "
            f"{time.perf_counter() - joined_at:.1f} s after the last welcome"
        )
        speakers = clients[: max(1, args.speakers)]
        run = secrets.token_hex(4)

        async def send(counter: int, at: float) -> None:
            speaker = speakers[counter % len(speakers)]
            speaker.pending[counter] = text = say_frame(run, counter, at)
            await speaker.ws.send(text)

        opened = await asyncio.to_thread(pg_sessions, args.database_url)
        with Measured(result, args.sulh_redis_url, processes):
            await speak(recorder, args.rate, send)
            await drain(recorder, args.drain)
        await asyncio.sleep(1.0)  # PostgreSQL publishes its counters within a second.
        opened = await asyncio.to_thread(pg_sessions, args.database_url) - opened - 1
        if opened >= 0:
            result.notes.append(
                f"PostgreSQL connections opened by the servers while measured: {opened:,} "
                f"({opened / args.messages:.1f} per message)"
            )
        errors: dict[str, int] = {}
        for client in clients:
            for code, count in client.errors.items():
                errors[code] = errors.get(code, 0) + count
        result.notes.extend(seq_check(clients))
        result.notes.extend(shape_check(clients, run))
        result.notes.extend(await close_all(clients, readers))
        if errors:
            result.notes.append(f"error frames received: {errors}")
        if errors.get("rate_limited"):
            refused = errors["rate_limited"]
            result.notes.append(
                f"{refused} say frames were refused as rate_limited although sent at {args.rate:g}/s: "
                f"{refused * args.participants:,} of the lost deliveries"
            )
        await asyncio.to_thread(http, "POST", f"{base}/api/sessions/{session}/end/", token=world.speaker_token, body={})
        status, transcript = await asyncio.to_thread(
            http, "GET", f"{base}/api/sessions/{session}/transcript/", token=world.speaker_token
        )
        result.notes.append(transcript_check(status, transcript, args.messages))
        for process in processes:
            if process.poll() is not None:
                result.notes.append(f"server exited ({process.returncode}):\n{log_tail(process)}")
        result.notes.extend(log_errors(processes))
    finally:
        for process in processes:
            server_stop(process)
    return result


WELCOME_KEYS = {"type", "session", "participant", "last_seq", "state"}
STATE_KEYS = {"floor", "queue", "open_proposals", "participants"}
EVENT_KEYS = {"type", "seq", "kind", "actor", "at", "data"}


def shape_check(clients: list[WsClient], run: str) -> list[str]:
    """The welcome and `said` frames against CONTRACT.md section 5: the keys it names, data.body, the
    client_id sent back."""
    problems: dict[str, int] = {}

    def problem(text: str) -> None:
        problems[text] = problems.get(text, 0) + 1

    for client in clients:
        welcome, said = client.welcome, client.first_said
        if missing := WELCOME_KEYS - welcome.keys():
            problem(f"welcome lacks {sorted(missing)}")
        state = welcome.get("state")
        if not isinstance(state, dict) or STATE_KEYS - state.keys():
            problem(f"welcome state lacks {sorted(STATE_KEYS - (state.keys() if isinstance(state, dict) else set()))}")
        if not said:
            continue
        if missing := EVENT_KEYS - said.keys():
            problem(f"said event lacks {sorted(missing)}")
        body = (said.get("data") or {}).get("body")
        if said.get("client_id") != f"fanout-{run}-{counter_of(body)}":
            problem(f"said event's client_id is {said.get('client_id')!r}, not the one sent")
    if not problems:
        return ["frame shapes: welcome and said frames carry every key the contract names"]
    return [f"frame shapes NOT per contract: {problems}"]


def caught_up(client: WsClient) -> int:
    """The last seq a Sulh client has: its welcome's, or the last event's it received since."""
    welcome = client.welcome.get("last_seq") if isinstance(client.welcome.get("last_seq"), int) else 0
    return max(welcome, client.seqs[-1] if client.seqs else 0)


def session_last_seq(url: str, session: int) -> int:
    import psycopg

    with psycopg.connect(urlparse(url)._replace(scheme="postgresql").geturl(), autocommit=True) as conn:
        row = conn.execute("SELECT last_seq FROM deliberation_dialoguesession WHERE id = %s", [session]).fetchone()
    return int(row[0])


def pg_sessions(url: str) -> int:
    """Connections ever opened to the database (pg_stat_database.sessions, PostgreSQL 14+), this one not
    counted; -1 when unknown."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    try:
        with psycopg.connect(urlparse(url)._replace(scheme="postgresql").geturl(), autocommit=True) as conn:
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()
    except psycopg.Error:
        return -1
    return int(row[0]) - 1 if row and row[0] is not None else -1


def transcript_check(status: int, transcript, messages: int) -> str:
    if status != 200:
        return f"transcript: GET answered {status} {transcript}"
    events = transcript if isinstance(transcript, list) else (transcript or {}).get("results", transcript)
    if not isinstance(events, list):
        return f"transcript: unexpected shape {str(transcript)[:200]}"
    said = {
        counter_of((event.get("data") or {}).get("body"))
        for event in events
        if isinstance(event, dict) and event.get("kind") == "said"
    }
    seqs = [event.get("seq") for event in events if isinstance(event, dict)]
    contiguous = seqs == list(range(1, len(seqs) + 1))
    return (
        f"transcript: {len(events)} events, {len(said & set(range(messages)))}/{messages} messages said, "
        f"seqs {'1..' + str(len(seqs)) + ' without gaps' if contiguous else 'NOT contiguous from 1'}"
    )


def _now():
    from django.utils import timezone

    return timezone.now()


# --- Issue 17's scenarios: ten runs, saturation, many sessions, a join storm, a busy machine ---------------------


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def summary_of(result: Result) -> dict:
    """p50/p99/p99.9/max (ms), loss and duplicates of one scenario's run (NaN when it was skipped)."""
    recorder = result.recorder
    if recorder is None:
        return {"p50": NAN, "p99": NAN, "p999": NAN, "max": NAN, "loss": -1, "dup": 0, "slowed": 0}
    latencies = recorder.latencies_ms(result.warmup)
    quantiles = [nearest_rank(latencies, q) if latencies else NAN for q in (0.5, 0.99, 0.999, 1.0)]
    return dict(
        zip(("p50", "p99", "p999", "max"), quantiles, strict=True),
        loss=recorder.expected - recorder.received, dup=recorder.duplicates, slowed=recorder.slowed,
    )  # fmt: skip


async def suite_runs(args, world, prepare_error) -> None:
    """The 50-participant scenario --runs times, each run measuring raw Redis, the bare relay and Sulh one after
    the other; per run the ratios of Sulh's p99 to theirs."""
    rows = []
    for run in range(args.runs):
        print(f"… run {run + 1} of {args.runs} ({load_text()})", file=sys.stderr, flush=True)
        results = await run_all(args, world, prepare_error)
        figures = {result.scenario[0]: summary_of(result) for result in results}
        rows.append((run + 1, figures, results[0].load1, [r for r in results if r.recorder is None]))
        if args.verbose:
            print_table(results)
    print()
    print(f"{args.participants} participants, {args.messages} messages at {args.rate:g}/s per run, two processes each")
    header = (
        f"{'run':>3} {'redis p99':>9} {'relay p99':>9} {'sulh p50':>8} {'sulh p99':>8} {'sulh p99.9':>10} "
        f"{'/relay':>7} {'/redis':>7} {'loss':>5} {'dup':>4} {'slowed':>6} {'load1':>6}"
    )
    print(header)
    print("-" * len(header))
    relay_ratios, redis_ratios = [], []
    for run, figures, load1, skipped in rows:
        a, b, c = (figures.get(key, summary_of(Result("", 0, 0, 0, 0.0))) for key in "abc")
        to_relay, to_redis = c["p99"] / b["p99"], c["p99"] / a["p99"]
        relay_ratios.append(to_relay)
        redis_ratios.append(to_redis)
        print(
            f"{run:>3} {a['p99']:>9.2f} {b['p99']:>9.2f} {c['p50']:>8.2f} {c['p99']:>8.2f} {c['p999']:>10.2f} "
            f"{to_relay:>6.2f}x {to_redis:>6.2f}x {c['loss']:>5} {c['dup']:>4} {c['slowed']:>6} {load1:>6.2f}"
        )
        for result in skipped:
            print(f"    {result.scenario} skipped: {result.skipped}")
    good = [r for r in relay_ratios if not math.isnan(r)]
    if good:
        print(
            f"Sulh p99 / bare relay p99: min {min(good):.2f}x, median {sorted(good)[len(good) // 2]:.2f}x, max "
            f"{max(good):.2f}x; at most 1.5x in {sum(r <= 1.5 for r in good)} of {len(good)} runs. Sulh p99 / raw "
            f"Redis p99: max {max(r for r in redis_ratios if not math.isnan(r)):.2f}x. Now: {load_text()}"
        )


async def suite_saturation(args, log_dir: Path, world, prepare_error) -> None:
    """The highest rate one session sustains with --participants listeners, p99 under --p99-limit ms and nothing
    lost, stepping up --rates: the bare relay's, then Sulh's. Sulh's speakers are as many as the rate needs at 40
    lines a second each (one connection may send 100 frames in 2 seconds)."""
    import copy

    best: dict[str, float] = {}
    print()
    print(
        f"Saturation: {args.participants} listeners, {args.step_seconds:g} s per step, p99 limit {args.p99_limit:g} ms"
    )
    for scenario in ("b", "c"):
        best[scenario] = 0.0
        for rate in args.rates:
            step = copy.copy(args)
            step.rate, step.speakers = rate, max(1, math.ceil(rate / 40))
            step.messages = max(100, int(rate * args.step_seconds))
            step.warmup = max(1, int(rate))
            load1 = os.getloadavg()[0]
            GC_WATCH.active = False
            if scenario == "b":
                result = await scenario_relay(step, log_dir)
            else:
                result = await scenario_sulh(step, log_dir, world, prepare_error)
            gc.unfreeze()
            gc.collect()
            figures = summary_of(result)
            ok = result.recorder is not None and figures["p99"] < args.p99_limit and figures["loss"] == 0
            lag = result.recorder.schedule_lag if result.recorder else NAN
            print(
                f"  {'relay' if scenario == 'b' else 'sulh ':<5} {rate:>6g}/s ({step.speakers} speakers): p50 "
                f"{figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, loss {figures['loss']}, slowed "
                f"{figures['slowed']}, speaker lag {lag * 1000:.0f} ms, load1 {load1:.2f}"
                + ("" if ok else "  <- over" + (f" ({result.skipped})" if result.skipped else ""))
            )
            if not ok:
                break
            best[scenario] = rate
            await asyncio.sleep(1)
    share = best["c"] / best["b"] if best["b"] else NAN
    print(
        f"Sustained (p99 < {args.p99_limit:g} ms, no loss): bare relay {best['b']:g}/s, Sulh {best['c']:g}/s "
        f"({share:.0%} of the relay's). Now: {load_text()}"
    )


async def sulh_servers(args, log_dir: Path) -> tuple[list[subprocess.Popen], list[int]]:
    ports = [free_port(), free_port()]
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=args.database_url,
        REDIS_URL=args.sulh_redis_url, DJANGO_DEBUG="1" if args.debug else "0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
    )  # fmt: skip
    env.update(args.sulh_env)
    processes = [server_start("config.asgi:application", port, env, log_dir, []) for port in ports]
    for process, port in zip(processes, ports, strict=True):
        await wait_healthz(process, port)
    return processes, ports


async def live_session(base: str, world: SulhWorld) -> int:
    scheduled = (_now() + timedelta(minutes=5)).isoformat()
    status, body = await asyncio.to_thread(
        http, "POST", f"{base}/api/cases/{world.case_id}/sessions/", token=world.speaker_token,
        body={"scheduled_for": scheduled},
    )  # fmt: skip
    if status != 201 or not isinstance(body, dict):
        raise RuntimeError(f"creating a session answered {status} {body}")
    status, started = await asyncio.to_thread(
        http, "POST", f"{base}/api/sessions/{body['id']}/start/", token=world.speaker_token, body={}
    )
    if status >= 300:
        raise RuntimeError(f"starting session {body['id']} answered {status} {started}")
    return int(body["id"])


async def sulh_client(index: int, port: int, session: int, token: str) -> WsClient:
    ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/sessions/{session}/", port, token)
    while True:
        async with asyncio.timeout(60):
            frame = json.loads(await ws.recv())
        if frame.get("type") == "welcome":
            return WsClient(index, ws, port, welcome=frame)


async def suite_many(args, log_dir: Path, world: SulhWorld) -> None:
    """--sessions sessions of --per-session participants each over two processes, one speaker in each at
    --session-rate lines a second for --duration seconds."""
    sessions_count, per = args.sessions, args.per_session
    processes, ports = await sulh_servers(args, log_dir)
    try:
        base = f"http://127.0.0.1:{ports[0]}"
        sessions = [await live_session(base, world) for _ in range(sessions_count)]
        messages = max(3, int(args.session_rate * args.duration))
        warmup = min(messages - 1, max(1, int(args.session_rate * 2)))
        recorders = [Recorder(per, messages) for _ in sessions]
        print(f"… connecting {sessions_count * per} clients ({load_text()})", file=sys.stderr, flush=True)

        async def connect_one(index: int) -> WsClient:
            session = sessions[index // per]
            return await sulh_client(index % per, ports[index % 2], session, world.tokens[1 + index])

        started = time.perf_counter()
        clients = await connect_all(sessions_count * per, connect_one)
        connected = time.perf_counter() - started
        groups = [clients[s * per : (s + 1) * per] for s in range(sessions_count)]
        readers = [
            asyncio.create_task(read_frames(client, recorders[s], sulh=True))
            for s, group in enumerate(groups)
            for client in group
        ]
        await asyncio.sleep(2)  # The arrivals' presence goes by.
        runs = [secrets.token_hex(4) for _ in sessions]

        async def one_session(s: int) -> None:
            speaker = groups[s][s % 2]  # Half the sessions' speakers on each process, as their listeners are.

            async def send(counter: int, at: float) -> None:
                speaker.pending[counter] = text = say_frame(runs[s], counter, at)
                await speaker.ws.send(text)

            await asyncio.sleep(s / sessions_count / args.session_rate)  # Spread the speakers over the interval.
            await speak(recorders[s], args.session_rate, send)
            await drain(recorders[s], args.drain)

        load1 = os.getloadavg()[0]
        result = Result("many sessions", sessions_count * per, messages, warmup, load1)
        print(f"… {sessions_count} sessions speaking for {args.duration:g} s", file=sys.stderr, flush=True)
        with Measured(result, args.sulh_redis_url, processes):
            await asyncio.gather(*(one_session(s) for s in range(sessions_count)))
        latencies: list[float] = []
        for recorder in recorders:
            latencies.extend(recorder.latencies_ms(warmup))
        latencies.sort()
        expected = sum(r.expected for r in recorders)
        received = sum(r.received for r in recorders)
        checks = seq_check(clients)
        await close_all(clients, readers)
        errors = log_errors(processes)
    finally:
        for process in processes:
            server_stop(process)
    print()
    print(
        f"Many sessions: {sessions_count} sessions x {per} participants over 2 processes, {args.session_rate:g} "
        f"lines/s each for {args.duration:g} s ({connected:.1f} s to connect everyone)"
    )
    if latencies:
        print(
            f"  p50 {nearest_rank(latencies, 0.5):.2f} ms, p99 {nearest_rank(latencies, 0.99):.2f} ms, p99.9 "
            f"{nearest_rank(latencies, 0.999):.2f} ms, max {latencies[-1]:.2f} ms over {len(latencies):,} deliveries"
        )
    print(
        f"  expected {expected:,}, lost {expected - received:,}, duplicates {sum(r.duplicates for r in recorders)}, "
        f"slowed {sum(r.slowed for r in recorders)}; load1 at start {load1:.2f}; {result.cpu}"
    )
    for line in [*checks, *errors]:
        print(f"  {line}")
    print(f"  Now: {load_text()}")


@dataclass
class StormClient:
    client: WsClient
    present: set = field(default_factory=set)
    full_at: float = NAN
    presence_events: int = 0


async def storm_read(storm: StormClient, everyone: int) -> None:
    from websockets.exceptions import ConnectionClosed

    state = storm.client.welcome.get("state") or {}
    storm.present = {p["id"] for p in state.get("participants", []) if p.get("present")}
    if len(storm.present) >= everyone:
        storm.full_at = time.perf_counter()
    try:
        async for raw in storm.client.ws:
            frame = json.loads(raw)
            if frame.get("type") != "event":
                continue
            kind, data = frame.get("kind"), frame.get("data") or {}
            if kind == "joined":
                storm.present.add(frame.get("actor"))
            elif kind == "left":
                storm.present.discard(frame.get("actor"))
            elif kind == "presence":
                storm.present |= {entry.get("participant") for entry in data.get("joined", [])}
                storm.present -= set(data.get("left", []))
            else:
                continue
            storm.presence_events += 1
            if len(storm.present) >= everyone and math.isnan(storm.full_at):
                storm.full_at = time.perf_counter()
    except ConnectionClosed as exc:
        storm.client.closed = f"code {exc.rcvd.code if exc.rcvd else 'none'}"


async def suite_storm(args, log_dir: Path, world: SulhWorld) -> None:
    """--storm participants connect to one live session within --storm-seconds, over two processes: how long
    after the last one's welcome every client knows every one of them present."""
    count = args.storm
    processes, ports = await sulh_servers(args, log_dir)
    try:
        session = await live_session(f"http://127.0.0.1:{ports[0]}", world)
        storms: list[StormClient] = []
        readers: list[asyncio.Task] = []
        first = time.perf_counter()
        welcomes: list[float] = []
        attempts: list[float] = []
        handshakes: list[tuple[float, float]] = []  # (when the client began to connect, how long until its welcome)

        async def arrive(index: int) -> None:
            await asyncio.sleep(index * args.storm_seconds / count)
            began = time.perf_counter()
            attempts.append(began)
            client = await sulh_client(index, ports[index % 2], session, world.tokens[1 + index])
            welcomes.append(time.perf_counter())
            handshakes.append((began, welcomes[-1] - began))
            storm = StormClient(client)
            storms.append(storm)
            readers.append(asyncio.create_task(storm_read(storm, count)))

        load1 = os.getloadavg()[0]
        await asyncio.gather(*(arrive(index) for index in range(count)))
        last = max(welcomes)
        deadline = time.monotonic() + 60
        while any(math.isnan(s.full_at) for s in storms) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        done = [s.full_at - last for s in storms if not math.isnan(s.full_at)]
        since_join = [s.full_at - max(attempts) for s in storms if not math.isnan(s.full_at)]
        events = sum(s.presence_events for s in storms)
        last_seq = await asyncio.to_thread(session_last_seq, args.database_url, session)
        await close_all([s.client for s in storms], readers)
        errors = log_errors(processes)
    finally:
        for process in processes:
            server_stop(process)
    print()
    print(
        f"Join storm: {count} participants connecting within {args.storm_seconds:g} s over 2 processes (the last "
        f"welcome {last - first:.1f} s after the first)"
    )
    if done:
        done.sort()
        print(
            f"  every client knew all {count} present {max(done[-1], 0):.2f} s after the last welcome (median client "
            f"{max(nearest_rank(done, 0.5), 0):.2f} s); {len(done)}/{count} clients got there within 60 s"
        )
        print(
            f"  and {max(since_join):.2f} s after the last client began to connect (the target: every client has "
            f"the full presence within 2 s of the last join)"
        )
    print(
        f"  presence frames received: {events:,} in all ({events / max(1, count):.1f} per client; one event per "
        f"arrival would be {count * count:,}); the session's events: {last_seq}; load1 at start {load1:.2f}"
    )
    if handshakes:
        handshakes.sort()
        quarters = [sorted(took for _began, took in handshakes[i * len(handshakes) // 4 : (i + 1) * len(handshakes) // 4])
                    for i in range(4)]  # fmt: skip
        print(
            "  handshake to welcome, by quarter of the arrivals (median / max, s): "
            + ", ".join(f"{nearest_rank(q, 0.5):.2f} / {q[-1]:.2f}" for q in quarters if q)
        )
    for line in errors:
        print(f"  {line}")
    print(f"  Now: {load_text()}")


HOGS: list[subprocess.Popen] = []


def hogs_start() -> None:
    """A Python busy loop per core, as a busy machine's other work."""
    for _ in range(os.cpu_count() or 1):
        HOGS.append(subprocess.Popen([PYTHON, "-c", "while True: pass"], start_new_session=True))


@atexit.register
def hogs_stop() -> None:
    while HOGS:
        process = HOGS.pop()
        process.kill()
        process.wait(5)


# --- Report -----------------------------------------------------------------------------------------------


def nearest_rank(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def print_conditions(args) -> None:
    import channels
    import channels_redis
    import redis
    import uvicorn
    import websockets

    load = os.getloadavg()
    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"Versions: channels {channels.__version__}, channels-redis {channels_redis.__version__}, redis-py "
        f"{redis.__version__}, uvicorn {uvicorn.__version__}, websockets {websockets.__version__}; clients "
        f"on {'uvloop' if _uvloop() else 'asyncio'}; channel layer {os.environ.get('CHANNEL_LAYER_BACKEND', 'pubsub')} "
        "(CHANNEL_LAYER_BACKEND, for Sulh and the relay alike); relay "
        f"{'lean (BENCH_RELAY_LEAN=1)' if os.environ.get('BENCH_RELAY_LEAN') == '1' else 'as Channels ships it'}"
    )
    print(
        f"Run: {args.participants} participants, {args.messages} messages ({args.warmup} warm-up, left out of "
        f"the latencies) at {args.rate:g}/s, scenarios {','.join(args.scenarios)}"
    )


def print_table(results: list[Result]) -> None:
    print()
    header = (
        f"{'scenario':<18} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8} "
        f"{'events/s':>9} {'expected':>9} {'loss':>6} {'dup':>5} {'order':>6} {'load1':>6}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        recorder = result.recorder
        if recorder is None:
            print(f"{result.scenario:<18} {result.clients:>7}  skipped: {result.skipped}")
            continue
        latencies = recorder.latencies_ms(result.warmup)
        wall = recorder.last_receipt - recorder.first_send
        rate = recorder.received / wall if wall > 0 else 0.0
        if latencies:
            p50, p99, p999, worst = (nearest_rank(latencies, q) for q in (0.5, 0.99, 0.999, 1.0))
            figures = f"{p50:>8.2f} {p99:>8.2f} {p999:>9.2f} {worst:>8.2f}"
        else:
            figures = f"{'-':>8} {'-':>8} {'-':>9} {'-':>8}"
        print(
            f"{result.scenario:<18} {result.clients:>7} {figures} {rate:>9,.0f} {recorder.expected:>9,} "
            f"{recorder.expected - recorder.received:>6,} {recorder.duplicates:>5} {recorder.out_of_order:>6} "
            f"{result.load1:>6.2f}"
        )
    print()
    for result in results:
        recorder = result.recorder
        if recorder is None:
            continue
        print(f"{result.scenario}:")
        print(
            f"  speaker fell behind its schedule by at most {recorder.schedule_lag * 1000:.1f} ms; "
            f"garbage collector of the benchmark process: {result.gc}"
        )
        print(f"  CPU used while measured, of one core: {result.cpu}")
        if recorder.schedule_lag > 0.25:
            print(
                f"  WARNING: the speaker fell {recorder.schedule_lag:.1f} s behind its schedule: the benchmark's "
                "event loop (or the speaker's connection) could not keep the rate, so less was offered than asked"
            )
        if result.own_cpu > 0.85:
            print(
                "  WARNING: the benchmark process itself was saturated (all clients share its one core): these "
                "latencies include the clients' own queueing, not only the system's"
            )
        offered = recorder.clients * result.rate
        print(f"  offered {offered:,.0f} deliveries/s ({result.rate:g} messages/s to {recorder.clients} clients)")
        if result.split and recorder.clients > 1:
            same = recorder.latencies_ms(result.warmup, range(0, recorder.clients, 2))
            other = recorder.latencies_ms(result.warmup, range(1, recorder.clients, 2))
            if same and other:
                print(
                    f"  clients on the speaker's server: p50 {nearest_rank(same, 0.5):.2f} ms, p99 "
                    f"{nearest_rank(same, 0.99):.2f} ms; on the other server: p50 {nearest_rank(other, 0.5):.2f} "
                    f"ms, p99 {nearest_rank(other, 0.99):.2f} ms"
                )
        print(
            f"  Redis processed {result.redis_commands:,} commands while measured: "
            f"{result.redis_commands / max(1, recorder.received):.1f} per delivery (others using Redis count too)"
        )
        if recorder.received < recorder.expected:
            print(f"  {recorder.loss_breakdown()}")
        if recorder.foreign:
            print(f"  {recorder.foreign} frames carried no counter of this run")
        if recorder.slowed:
            print(f"  {recorder.slowed} say frames were refused with slow_down and sent again after retry_after")
        for note in result.notes:
            print(f"  {note}")


def _uvloop():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


async def run_all(args, world: SulhWorld | None, prepare_error: str) -> list[Result]:
    # SIGTERM as Ctrl-C: cancel the run, so that every scenario stops its servers on the way out.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        for scenario in args.scenarios:
            print(f"… scenario {scenario}", file=sys.stderr, flush=True)
            GC_WATCH.active = False
            try:
                if scenario == "a":
                    result = await scenario_redis(args)
                elif scenario == "b":
                    result = await scenario_relay(args, log_dir)
                else:
                    result = await scenario_sulh(args, log_dir, world, prepare_error)
            except Exception as exc:  # noqa: BLE001 - one failed scenario must not lose the others' figures.
                name = {"a": "a redis pub/sub", "b": "b channels relay", "c": "c sulh"}[scenario]
                result = Result(name, args.participants, args.messages, args.warmup, os.getloadavg()[0])
                result.skipped = f"failed: {type(exc).__name__}: {exc}"
            result.rate, result.split = args.rate, scenario != "a"
            if result.skipped:
                print(f"({scenario}) skipped: {result.skipped}", file=sys.stderr, flush=True)
            results.append(result)
            gc.unfreeze()
            gc.collect()
            await asyncio.sleep(1)  # Let the stopped servers' sockets and processes go before the next run.
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=50, help="Listeners, the speaker among them (50).")
    parser.add_argument("--messages", type=int, default=500, help="Messages the speaker sends (500).")
    parser.add_argument(
        "--rate",
        type=float,
        default=40.0,
        help="Messages per second (40: below the 50 a second the rate limit allows, so that jitter never trips it).",
    )
    parser.add_argument("--warmup", type=int, default=50, help="First messages left out of the latencies (50).")
    parser.add_argument("--scenarios", default="a,b,c", help="Which of a, b, c to run, in order (a,b,c).")
    parser.add_argument("--drain", type=float, default=3.0, help="Seconds without a receipt that end a run (3).")
    parser.add_argument("--debug", action="store_true", help="Run Sulh with DJANGO_DEBUG=1.")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/sulh_bench_fanout",
        help="Sulh's benchmark database, never the app's own (created and migrated if missing).",
    )
    parser.add_argument("--sulh-redis-url", default="redis://127.0.0.1:6379/5", help="Sulh's REDIS_URL.")
    parser.add_argument("--relay-redis-url", default="redis://127.0.0.1:6379/6", help="For (a) and (b).")
    parser.add_argument(
        "--sulh-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="An environment variable for Sulh's servers, e.g. DATABASE_CONN_MAX_AGE=60 (repeatable).",
    )
    parser.add_argument("--log-dir", default="", help="Keep the servers' logs here (default: a temporary dir).")
    parser.add_argument("--speakers", type=int, default=1, help="Clients that take turns sending (1).")
    parser.add_argument(
        "--suite",
        default="fanout",
        choices=["fanout", "runs", "saturation", "many", "storm"],
        help="fanout: scenarios a,b,c once (the default); runs: a,b,c --runs times with Sulh's p99 ratios; "
        "saturation: the highest rate with p99 under --p99-limit, relay and Sulh; many: --sessions sessions of "
        "--per-session; storm: --storm participants joining within --storm-seconds.",
    )
    parser.add_argument("--runs", type=int, default=10, help="runs: how many (10).")
    parser.add_argument("--verbose", action="store_true", help="runs: print each run's whole table too.")
    parser.add_argument("--rates", default="40,80,160,240,320,480,640", help="saturation: rates to step through.")
    parser.add_argument("--step-seconds", type=float, default=8.0, help="saturation: seconds per step (8).")
    parser.add_argument("--p99-limit", type=float, default=100.0, help="saturation: p99 limit in ms (100).")
    parser.add_argument("--sessions", type=int, default=100, help="many: sessions (100).")
    parser.add_argument("--per-session", type=int, default=10, help="many: participants per session (10).")
    parser.add_argument("--session-rate", type=float, default=2.0, help="many: lines a second per session (2).")
    parser.add_argument("--duration", type=float, default=300.0, help="many: seconds of speaking (300).")
    parser.add_argument("--storm", type=int, default=500, help="storm: participants (500).")
    parser.add_argument("--storm-seconds", type=float, default=5.0, help="storm: seconds they arrive within (5).")
    parser.add_argument("--hog", action="store_true", help="Run a Python busy loop per core meanwhile.")
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    if any("=" not in item for item in args.sulh_env):
        parser.error("--sulh-env takes NAME=VALUE")
    args.sulh_env = dict(item.split("=", 1) for item in args.sulh_env)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not args.scenarios or set(args.scenarios) - {"a", "b", "c"}:
        parser.error("--scenarios takes a comma-separated list of a, b and c")
    if args.participants < 1 or args.messages < 1 or args.rate <= 0 or not 0 <= args.warmup < args.messages:
        parser.error("need --participants >= 1, --messages >= 1, --rate > 0 and 0 <= --warmup < --messages")

    print_conditions(args)
    world, prepare_error = None, ""
    users = {"many": args.sessions * args.per_session + 1, "storm": args.storm + 1}.get(args.suite, 0)
    if users or "c" in args.scenarios:
        print("Setting Sulh up on its benchmark database …", file=sys.stderr, flush=True)
        wanted = args.participants
        args.participants = max(wanted, users)
        try:
            world = sulh_prepare(args)
        except Exception as exc:  # noqa: BLE001 - reported as the reason (c) was skipped.
            prepare_error = f"{type(exc).__name__}: {exc}"
            if users:
                raise
        args.participants = wanted
    gc.collect()
    gc.freeze()  # What set-up made lives for the whole run (PITFALLS.md).
    gc.callbacks.append(GC_WATCH)

    uvloop = _uvloop()
    runner = uvloop.run if uvloop else asyncio.run
    if args.hog:
        hogs_start()
        print(f"CPU hog: {len(HOGS)} Python busy loops (one per core) running throughout", flush=True)
    try:
        results = runner(run_suite(args, world, prepare_error))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("Interrupted.")
    finally:
        _servers_stop_all()
        hogs_stop()
    if results is not None:
        print_table(results)


async def run_suite(args, world: SulhWorld | None, prepare_error: str) -> list[Result] | None:
    if args.suite == "fanout":
        return await run_all(args, world, prepare_error)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        if args.suite == "runs":
            await suite_runs(args, world, prepare_error)
        elif args.suite == "saturation":
            await suite_saturation(args, log_dir, world, prepare_error)
        elif args.suite == "many":
            assert world is not None
            await suite_many(args, log_dir, world)
        else:
            assert world is not None
            await suite_storm(args, log_dir, world)
    return None


if __name__ == "__main__":
    main()
