"""Sessions across real server processes sharing PostgreSQL and Redis: every client sees the same
gap-free sequence whichever process it is connected to, through a dropped connection, and through a
Redis restart in the middle of a session (PITFALLS.md), with nothing said lost or doubled."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from deliberation import services
from deliberation.models import DialogueSession, SessionEvent
from tests.conftest import db_url_for_subprocess, free_port, start_server, stop_server
from tests.deliberation.conftest import invite, open_case
from tests.deliberation.wsclient import SessionClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def live_session(world):
    case = open_case(world)
    session = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=world.alice, session_id=session.pk)
    guests = [invite(world, session, f"Guest {n}") for n in range(2)]
    people = [world.alice, world.bob, *guests]
    tokens = [account_services.token_issue(user=user).key for user in people]
    return session, tokens


def assert_gap_free(client: SessionClient, last_seq: int) -> None:
    """Everything from the client's first event to the last, in order, each once (over all its connections).
    The only frames that came twice are the echoes of frames the client itself sent again after a reconnect
    (the contract: a repeated client_id re-sends the original)."""
    seqs = client.seqs()
    assert seqs == list(range(seqs[0], last_seq + 1)), f"{client.name}: {seqs}"
    assert all(frame.get("client_id") in client.sent_ids for frame in client.repeats()), client.repeats()


async def settled_last_seq(session, clients: list[SessionClient], quiet: float = 1.0) -> int:
    """The session's last seq once nothing more has been stored for `quiet` seconds, every client having received
    it: a socket that dropped and came back on the other process has its going or coming stored when its server
    gets to it (coalesced presence waits up to half a second more), possibly after the last line said."""
    last = -1
    while True:
        now = await asyncio.to_thread(lambda: DialogueSession.objects.get(pk=session.pk).last_seq)
        if now == last:
            return last
        last = now
        for client in clients:
            await client.wait_until(last)
        await asyncio.sleep(quiet)


def said_bodies(session) -> list[str]:
    # The data is stored encrypted (config/crypto.py): read back through the model, not looked up in SQL.
    return [event.data["body"] for event in SessionEvent.objects.filter(session=session, kind="said").order_by("seq")]


def test_two_processes_one_gap_free_sequence(world, two_servers):
    session, tokens = live_session(world)
    a, b = two_servers

    async def scenario():
        clients = [
            SessionClient(server.ws_url, server.url, session.pk, token, name=f"client {n}")
            for n, (server, token) in enumerate(zip([a, b, a, b], tokens, strict=True))
        ]
        for client in clients:
            await client.start()
        speakers = clients[0], clients[3]  # The facilitator on A, a guest on B.

        async def talk(speaker, n):
            for i in range(n):
                await speaker.say(f"{speaker.name} line {i}")
                await asyncio.sleep(0.01)

        dropper = clients[2]
        chatter = asyncio.gather(talk(speakers[0], 30), talk(speakers[1], 30))
        await asyncio.sleep(0.2)
        dropper.base_url(b.ws_url)  # It comes back on the other process.
        await dropper.drop()
        await chatter
        for speaker in speakers:
            await speaker.wait_until(0)  # Until every line came back: stored.
        last = await settled_last_seq(session, clients)
        for client in clients:
            await client.stop()
        return clients, last

    clients, last = asyncio.run(scenario())
    assert clients[2].connections == 2
    for client in clients:
        assert_gap_free(client, last)
        assert client.errors == []
    bodies = said_bodies(session)
    assert len(bodies) == len(set(bodies)) == 60
    # Those connected from the start saw every line, in the stored order.
    for client in clients:
        assert [e["data"]["body"] for e in client.applied if e["kind"] == "said"] == bodies


@pytest.fixture
def private_redis():
    """A Redis of this test's own, so that restarting it disturbs nobody else's tests."""
    port = free_port()

    def start():
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                return process
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    state = {"process": start()}

    def restart(pause: float) -> None:
        state["process"].terminate()
        state["process"].wait(10)
        time.sleep(pause)
        state["process"] = start()

    yield f"redis://127.0.0.1:{port}/0", restart
    state["process"].terminate()
    state["process"].wait(10)


@pytest.mark.parametrize("backend", ["pubsub", "core"])
def test_a_redis_restart_loses_and_doubles_nothing(world, postgres, redis_url, private_redis, backend):
    """On the core layer the restart closes every socket and the clients come back with ?after; on the pub/sub layer
    (the default) the sockets stay open, and what was said meanwhile reaches them once Redis is back."""
    url, restart = private_redis
    env = {"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": url, "CHANNEL_LAYER_BACKEND": backend}
    servers = [start_server(env), start_server(env)]
    session, tokens = live_session(world)
    try:

        async def scenario():
            clients = [
                SessionClient(server.ws_url, server.url, session.pk, token, name=f"client {n}")
                for n, (server, token) in enumerate(zip([servers[0], servers[1]] * 2, tokens, strict=True))
            ]
            for client in clients:
                await client.start()
            speakers = clients[0], clients[1]
            sent = []

            async def talk(speaker):
                for i in range(40):
                    body = f"{speaker.name} line {i}"
                    await speaker.say(body)
                    sent.append(body)
                    await asyncio.sleep(0.05)

            chatter = asyncio.gather(*(talk(s) for s in speakers))
            await asyncio.sleep(0.6)
            await asyncio.to_thread(restart, 1.0)  # Mid-session.
            await chatter
            last = 0
            deadline = time.monotonic() + 60
            while True:  # Until everything said is stored and every outbox is empty.
                last = await asyncio.to_thread(lambda: DialogueSession.objects.get(pk=session.pk).last_seq)
                if all(not c.outbox for c in clients) and all(c.last_seq >= last for c in clients):
                    break
                if time.monotonic() > deadline:
                    states = [(c.name, c.connections, c.last_seq, len(c.outbox), c.socket is not None, c.errors[-3:], c.failures[-3:], c._task.done())
                              for c in clients]  # fmt: skip
                    logs = "".join(f"\n--- server {n}\n{server.output()[-3000:]}" for n, server in enumerate(servers))
                    raise AssertionError(f"stuck at seq {last}: {states}{logs}")
                await asyncio.sleep(0.2)
            last = await settled_last_seq(session, clients)
            for client in clients:
                await client.stop()
            return clients, sent, last

        clients, sent, last = asyncio.run(scenario())
    finally:
        for server in servers:
            stop_server(server)
    if backend == "core":
        assert max(c.connections for c in clients) >= 2, "the restart did not close the sockets"
    else:
        assert max(c.connections for c in clients) == 1, "the restart closed sockets"
    bodies = said_bodies(session)
    assert sorted(bodies) == sorted(sent)  # Nothing lost, nothing twice.
    for client in clients:
        assert_gap_free(client, last)
        assert [e["data"]["body"] for e in client.applied if e["kind"] == "said"] == bodies


def test_a_killed_process_s_people_are_shown_as_left_within_the_timeout(world, postgres, redis_url, settings):
    """kill -9 of the server process holding a guest's socket: it never says the socket closed, but it stops
    beating, and the next sweep (run by every live process) shows the guest as left, once; the participant no
    longer counts as present (nor in consensus checks)."""
    from deliberation.models import LiveConnection, Participant

    session, tokens = live_session(world)
    env = {"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url, "SULH_HEARTBEAT_SECONDS": "1"}
    doomed = start_server(env)
    guest_token = tokens[2]

    async def connect_and_die():
        client = SessionClient(doomed.ws_url, doomed.url, session.pk, guest_token, name="guest")
        await client.start()
        guest = client.participant
        doomed.process.kill()  # SIGKILL: no close frame, no disconnect().
        doomed.process.wait(timeout=10)
        await client.stop()
        return guest

    guest = asyncio.run(connect_and_die())
    assert Participant.objects.get(pk=guest).connections == 1  # Nobody told the database.
    settings.SULH_CONNECTION_TIMEOUT = 2
    assert services.connections_sweep() == 0  # Its last beat is younger than the timeout.
    time.sleep(2.5)
    assert services.connections_sweep() == 1
    assert services.connections_sweep() == 0  # Once.
    assert Participant.objects.get(pk=guest).connections == 0
    assert not LiveConnection.objects.filter(participant=guest).exists()
    left = SessionEvent.objects.filter(session=session, kind="left", actor=guest)
    assert left.count() == 1
    stop_server(doomed)


def test_a_socket_closed_after_its_sweep_is_not_counted_twice(world):
    """The sweep took a slow process for dead and closed its connection; when that process's socket really
    closes afterwards, it changes nothing more."""
    from deliberation.models import LiveConnection, Participant

    session, _tokens = live_session(world)
    guest = Participant.objects.filter(session=session).first()
    user = guest.user if guest else world.bob
    one, _ = services.participant_connect(user=user, session_id=session.pk, process="slow:1")
    two, _ = services.participant_connect(user=user, session_id=session.pk, process="alive:2")
    services.process_beat(process="alive:2")
    LiveConnection.objects.filter(pk=one.connection_id).update(opened_at=timezone.now() - timedelta(minutes=5))
    assert services.connections_sweep(timeout=60) == 1
    assert Participant.objects.get(pk=one.pk).connections == 1  # The other device is still there.
    services.participant_disconnect(participant_id=one.pk, connection_id=one.connection_id)  # Too late: swept.
    assert Participant.objects.get(pk=one.pk).connections == 1
    services.participant_disconnect(participant_id=two.pk, connection_id=two.connection_id)
    assert Participant.objects.get(pk=two.pk).connections == 0
    assert SessionEvent.objects.filter(session=session, kind="left", actor=two.pk).count() == 1
