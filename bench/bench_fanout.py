"""Benchmark: fan-out latency of a live dialogue session, against raw Redis pub/sub and a bare Channels relay.

Usage (from the repository's root; needs PostgreSQL and Redis):

    .venv/bin/python bench/bench_fanout.py
    .venv/bin/python bench/bench_fanout.py --participants 500 --scenarios a,b

One speaker sends --messages messages (default 500) at a steady --rate (default 50 per second, the most the
session's rate limit of 100 frames in 2 seconds allows) to --participants listeners (default 50); for each
message and each listener it measures the delivery latency from the speaker's send to the listener's receipt.
All clients run in this one process (asyncio), so both ends are timed with the same time.perf_counter().
The first --warmup messages (default 50) are sent and checked but left out of the latency figures.

Scenarios (--scenarios, default a,b,c), measured one after the other and printed as one table:

  a  raw Redis pub/sub: one redis.asyncio publisher, N redis.asyncio subscribers of one channel
     (bench-fanout-<random>); no websockets, no servers. The floor.
  b  a bare Channels group relay without persistence (bench/relay_asgi.py: join one group, group_send every
     frame, every member sends it on) with the same channels_redis layer settings as config/settings.py,
     served by two uvicorn processes (Redis db 6, a random group name); the N clients, the speaker among
     them, are split across both.
  c  Sulh itself: two uvicorn processes serving config.asgi:application in production mode (DJANGO_DEBUG=0,
     a random DJANGO_SECRET_KEY; DJANGO_SECURE_SSL_REDIRECT=0 because the benchmark speaks plain HTTP to
     127.0.0.1) on a PostgreSQL database of its own (--database-url, default sulh_bench_fanout: created if
     missing and migrated) and Redis db 5. The set-up makes a forum, a facilitator (the speaker) and N-1
     monitors with tokens, opens a case, and creates and starts a session through the HTTP API; the clients
     connect to /ws/sessions/{id}/ split across both servers, the speaker sends `say` frames and every client
     (the speaker included) takes the `said` events. It also checks that every client saw the session's seqs
     strictly increasing without gaps between the first and the last `said` it got, and that the transcript
     holds every message. --debug runs Sulh with DJANGO_DEBUG=1 instead. When the session endpoint does not
     answer yet, (c) is skipped with a line saying why.

Per scenario: p50, p99, p99.9 and max delivery latency (ms), deliveries per second (every receipt over the
wall time from the first send to the last receipt), loss (expected deliveries minus those received within
--drain seconds of the last progress), duplicates and out-of-order receipts, and the 1-minute load average
when the scenario started. Below the table: pauses of this process's garbage collector during each run, how
far the speaker fell behind its schedule, and anything unexpected (closed sockets, error frames, seq gaps).

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

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
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
        if row[counter] == row[counter]:  # Not NaN: seen before.
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

    def latencies_ms(self, warmup: int, clients: range | None = None) -> list[float]:
        sent = self.sent_at
        out = []
        for index in clients if clients is not None else range(self.clients):
            row = self.received_at[index]
            for counter in range(warmup, self.messages):
                received = row[counter]
                if received == received and sent[counter] == sent[counter]:
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
    is not made up by bunching: it goes as soon as it can, and the lag is recorded."""
    interval = 1.0 / rate
    start = time.perf_counter()
    for counter in range(recorder.messages):
        due = start + counter * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        recorder.schedule_lag = max(recorder.schedule_lag, now - due)
        recorder.sent(counter, now)
        await send(counter, now)


async def drain(recorder: Recorder, idle: float) -> None:
    """Wait for every expected delivery, or until nothing more arrived for `idle` seconds."""
    seen, changed = -1, time.perf_counter()
    while not recorder.all_in.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder.all_in.wait(), 0.2)
        if recorder.received != seen:
            seen, changed = recorder.received, time.perf_counter()
        elif time.perf_counter() - changed > idle:
            return


def measuring(on: bool) -> None:
    """Around each measured run: collect and freeze what set-up made (PITFALLS.md), watch the collector."""
    if on:
        gc.collect()
        gc.freeze()
        GC_WATCH.pauses.clear()
        GC_WATCH.active = True
    else:
        GC_WATCH.active = False


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
                    body = (frame.get("data") or {}).get("body")
                    if isinstance(body, str) and body.startswith("fanout "):
                        recorder.receipt(client.index, counter_of(body), at)
            elif kind == "error":
                code = str(frame.get("code"))
                client.errors[code] = client.errors.get(code, 0) + 1
    except ConnectionClosed as exc:
        client.closed = f"code {exc.rcvd.code if exc.rcvd else 'none'}"


async def close_all(clients: list[WsClient], readers: list[asyncio.Task]) -> list[str]:
    """Close every socket; return how many closed on their own before (and why)."""
    early = [client.closed for client in clients if client.closed]
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

        measuring(True)
        await speak(recorder, args.rate, send)
        await drain(recorder, args.drain)
        measuring(False)
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
        speaker = clients[0].ws

        async def send(counter: int, at: float) -> None:
            await speaker.send(say_frame(run, counter, at))

        measuring(True)
        await speak(recorder, args.rate, send)
        await drain(recorder, args.drain)
        measuring(False)
        result.notes.extend(await close_all(clients, readers))
        for process in processes:
            if process.poll() is not None:
                result.notes.append(f"server exited ({process.returncode}):\n{log_tail(process)}")
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

    from cases import services
    from cases.models import Case, Forum, Membership

    region = services.region_ensure(code="bench-fanout", name="Bench fan-out")
    forum = services.forum_ensure(name=FORUM_NAME, kind=Forum.Kind.JIRGA, region=region)
    names = [f"{USER_PREFIX}{index:05d}" for index in range(args.participants)]
    User = get_user_model()
    existing = {user.username: user for user in User.objects.filter(username__in=names)}
    users = []
    for index, name in enumerate(names):
        user = existing.get(name) or services.user_ensure(username=name, password=secrets.token_urlsafe(16))
        role = Membership.Role.FACILITATOR if index == 0 else Membership.Role.MONITOR
        services.membership_grant(user=user, forum=forum, role=role)
        users.append(user)
    tokens = [services.token_issue(user=user).key for user in users]
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
    """Every client's seqs strictly increasing, none missing between its first and last `said`."""
    disordered = gapped = missing = 0
    for client in clients:
        seqs = client.seqs
        if any(b <= a for a, b in zip(seqs, seqs[1:], strict=False)):
            disordered += 1
        if client.said_seqs:
            first, last = client.said_seqs[0], client.said_seqs[-1]
            inside = {seq for seq in seqs if first <= seq <= last}
            gap = (last - first + 1) - len(inside)
            if gap:
                gapped += 1
                missing += gap
    return [
        f"seq check: {len(clients) - disordered}/{len(clients)} clients saw seqs strictly increasing, "
        f"{len(clients) - gapped}/{len(clients)} without gaps between their first and last said"
        + (f" ({missing} seqs missing in all)" if missing else "")
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
        welcomes: list[dict] = []

        async def connect_one(index: int) -> WsClient:
            from websockets.exceptions import InvalidStatus

            port = ports[index % 2]
            try:
                ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/sessions/{session}/", port, world.tokens[index])
            except InvalidStatus as exc:
                raise RuntimeError(f"the handshake of participant {index} answered {exc.response.status_code}") from exc
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame.get("type") == "welcome":
                    welcomes.append(frame)
                    break
            return WsClient(index, ws, port)

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
        await asyncio.sleep(0.5)  # Let the `joined` events of the last connections go by.
        speaker = clients[0].ws
        run = secrets.token_hex(4)

        async def send(counter: int, at: float) -> None:
            await speaker.send(say_frame(run, counter, at))

        measuring(True)
        await speak(recorder, args.rate, send)
        await drain(recorder, args.drain)
        measuring(False)
        errors: dict[str, int] = {}
        for client in clients:
            for code, count in client.errors.items():
                errors[code] = errors.get(code, 0) + count
        result.notes.extend(seq_check(clients))
        result.notes.extend(await close_all(clients, readers))
        if errors:
            result.notes.append(f"error frames received: {errors}")
        await asyncio.to_thread(http, "POST", f"{base}/api/sessions/{session}/end/", token=world.speaker_token, body={})
        status, transcript = await asyncio.to_thread(
            http, "GET", f"{base}/api/sessions/{session}/transcript/", token=world.speaker_token
        )
        result.notes.append(transcript_check(status, transcript, args.messages))
        for process in processes:
            if process.poll() is not None:
                result.notes.append(f"server exited ({process.returncode}):\n{log_tail(process)}")
        errors_logged = [p for p in processes if b"Traceback" in p.log_path.read_bytes()]  # type: ignore[attr-defined]
        for process in errors_logged:
            result.notes.append(f"a server logged a traceback (log {process.log_path}):\n{log_tail(process)}")  # type: ignore[attr-defined]
    finally:
        for process in processes:
            server_stop(process)
    return result


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
        f"on {'uvloop' if _uvloop() else 'asyncio'}"
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
        if recorder.foreign:
            print(f"  {recorder.foreign} frames carried no counter of this run")
        for note in result.notes:
            print(f"  {note}")


def _uvloop():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


async def run_all(args, world: SulhWorld | None, prepare_error: str) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        for scenario in args.scenarios:
            print(f"… scenario {scenario}", file=sys.stderr, flush=True)
            if scenario == "a":
                result = await scenario_redis(args)
            elif scenario == "b":
                result = await scenario_relay(args, log_dir)
            else:
                result = await scenario_sulh(args, log_dir, world, prepare_error)
            result.gc, result.rate, result.split = GC_WATCH.summary(), args.rate, scenario != "a"
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
    parser.add_argument("--rate", type=float, default=50.0, help="Messages per second (50; Sulh allows 50).")
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
    args = parser.parse_args()
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
    if "c" in args.scenarios:
        print("Setting Sulh up on its benchmark database …", file=sys.stderr, flush=True)
        try:
            world = sulh_prepare(args)
        except Exception as exc:  # noqa: BLE001 - reported as the reason (c) was skipped.
            prepare_error = f"{type(exc).__name__}: {exc}"
    gc.collect()
    gc.freeze()  # What set-up made lives for the whole run (PITFALLS.md).
    gc.callbacks.append(GC_WATCH)

    uvloop = _uvloop()
    runner = uvloop.run if uvloop else asyncio.run
    try:
        results = runner(run_all(args, world, prepare_error))
    finally:
        _servers_stop_all()
    print_table(results)


if __name__ == "__main__":
    main()
