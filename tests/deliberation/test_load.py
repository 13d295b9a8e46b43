"""A session under load (issue 17): a sender who floods is told to slow down instead of the session queueing for
seconds, with nothing lost or doubled and every listener in step; a storm of arrivals is announced in a few
events, not one per person for everyone; the speaker's line is stored by one statement."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from config.errors import NotFoundError
from deliberation import consumers, services
from deliberation.models import DialogueSession, Participant, SessionEvent
from tests.deliberation.conftest import connect, invite

pytestmark = [pytest.mark.django_db(transaction=True)]

db = database_sync_to_async


async def test_a_flood_is_told_to_slow_down_and_nothing_is_lost_or_doubled(room, monkeypatch):
    # A budget a test machine's database surely exceeds with 60 lines at once (the servers' is half a second).
    monkeypatch.setattr(consumers, "MAX_PENDING", 8)
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    start = guest.welcome["last_seq"]  # The guest's arrival is an event too.
    wanted = {f"flood-{n}": f"line {n}" for n in range(60)}  # Under the 100 frames in 2 seconds of rate_limited.
    for client_id, body in wanted.items():
        await alice.send({"type": "say", "body": body, "client_id": client_id})
    said: dict[str, int] = {}
    refused: dict[str, float] = {}
    while len(said) + len(refused) < len(wanted):
        frame = await alice.receive()
        if frame["type"] == "event" and frame["kind"] == "said":
            assert frame["client_id"] not in said, "a line said twice"
            said[frame["client_id"]] = frame["seq"]
        elif frame["type"] == "error":
            assert frame["code"] == "slow_down", frame
            assert frame["frame"] == "say"
            assert 0 < frame["retry_after"] < 5
            assert frame["detail"]
            refused[frame["client_id"]] = frame["retry_after"]
    assert refused, "60 lines at once were all taken: nothing told the sender to slow down"
    assert said, "nothing was taken"
    # The sender waits as told and sends the refused lines again, with their client_ids (and, having used up most of
    # its 100 frames in 2 seconds, waits for those too).
    await asyncio.sleep(2)
    rounds = 0
    while refused:
        rounds += 1
        assert rounds < 100
        # A few at a time, as a client pacing itself would (and under rate_limited's 100 frames in 2 seconds).
        await asyncio.sleep(max(0.2, *refused.values()))
        again = dict(list(refused.items())[:8])
        for client_id in again:
            del refused[client_id]
            await alice.send({"type": "say", "body": wanted[client_id], "client_id": client_id})
        for _ in again:
            frame = await alice.receive()
            if frame["type"] == "error":
                assert frame["code"] == "slow_down", frame
                refused[frame["client_id"]] = frame["retry_after"]
            else:
                assert frame["kind"] == "said"
                assert frame["client_id"] not in said
                said[frame["client_id"]] = frame["seq"]
    assert set(said) == set(wanted)
    assert sorted(said.values()) == list(range(start + 1, start + 61))
    # The listener got every line once, in seq order, without a gap.
    heard = []
    while len(heard) < len(wanted):
        frame = await guest.next("said")
        heard.append((frame["seq"], frame["client_id"], frame["data"]["body"]))
    assert [seq for seq, _c, _b in heard] == list(range(start + 1, start + 61))
    assert {client_id: body for _s, client_id, body in heard} == wanted
    assert await guest.nothing()

    @db
    def stored():
        return list(SessionEvent.objects.filter(session=room.session, kind="said").values_list("client_id", flat=True))

    assert sorted(await stored()) == sorted(wanted)
    await alice.close()
    await guest.close()


async def test_a_repeated_line_sent_while_the_first_is_stored_makes_one_event(room):
    """Two frames with one client_id at once: one event, sent back to the sender for both."""
    alice = await connect(room, room.world.alice)
    for _ in range(2):
        await alice.send({"type": "say", "body": "Once only.", "client_id": "twice"})
    first, second = await alice.next("said"), await alice.next("said")
    assert first == second
    assert await db(lambda: SessionEvent.objects.filter(session=room.session, client_id="twice").count())() == 1
    await alice.close()


async def test_the_one_statement_path_keeps_the_rules(room):
    """The one-statement path stores only the plain case; the rest is refused as before."""
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    await alice.send({"type": "set_mode", "floor_only": True})
    await guest.next("mode_set")
    await guest.send({"type": "say", "body": "Not my turn.", "client_id": "g-1"})
    assert (await guest.error())["code"] == "forbidden"
    await alice.send({"type": "say", "body": "The facilitator may.", "client_id": "a-1"})
    assert (await guest.next("said"))["client_id"] == "a-1"
    with pytest.raises(NotFoundError):  # No such session: nothing stored by the one statement either.
        await db(services.say)(session_id=room.session.pk + 1000, participant_id=guest.participant, body="x")
    await alice.close()
    await guest.close()


async def test_a_storm_of_arrivals_is_announced_in_a_few_events(room, monkeypatch):
    """Twelve people arrive at once: everyone in the room soon knows all of them present, from far fewer than
    twelve events (one `presence` event carries most of them)."""
    # Coalescing from the second socket on, over intervals long enough for a loaded test machine's connects.
    monkeypatch.setattr(consumers, "PRESENCE_ROOM", 2)
    monkeypatch.setattr(consumers, "PRESENCE_BURST", 1)
    monkeypatch.setattr(consumers, "PRESENCE_INTERVAL", 2.0)
    alice = await connect(room, room.world.alice)

    @db
    def guests():
        return [invite(room.world, room.session, f"Villager {n}") for n in range(12)]

    people = await guests()
    clients = await asyncio.gather(*(connect(room, person) for person in people))
    ids = {client.participant for client in clients}
    present: set[int] = set()
    presence_events = 0
    while not ids <= present:
        frame = await alice.receive(wait=10)
        if frame["type"] != "event":
            continue
        if frame["kind"] == "joined":
            presence_events += 1
            present.add(frame["actor"])
        elif frame["kind"] == "presence":
            presence_events += 1
            present |= {entry["participant"] for entry in frame["data"]["joined"]}
            assert all(entry["name"].startswith("Villager") for entry in frame["data"]["joined"])
            present -= set(frame["data"]["left"])
    assert presence_events < len(ids)
    state = await db(lambda: Participant.objects.filter(pk__in=ids, connections=1).count())()
    assert state == len(ids)
    for client in clients:
        await client.close()
    gone: set[int] = set()
    while not ids <= gone:
        frame = await alice.receive(wait=10)
        if frame["type"] == "event" and frame["kind"] == "left":
            gone.add(frame["actor"])
        elif frame["type"] == "event" and frame["kind"] == "presence":
            gone |= set(frame["data"]["left"])
    await alice.close()


def test_a_dead_process_s_many_people_leave_in_one_event(room):
    """The sweep closes many connections of a session at once: one `presence` event says who left."""
    people = [invite(room.world, room.session, f"Villager {n}") for n in range(5)]
    for person in people:
        services.participant_connect(user=person, session_id=room.session.pk, process="dead:1")
    services.process_beat(process="dead:1")
    from datetime import timedelta

    from django.utils import timezone

    from deliberation.models import ProcessBeat

    ProcessBeat.objects.filter(process="dead:1").update(seen_at=timezone.now() - timedelta(minutes=5))
    before = DialogueSession.objects.get(pk=room.session.pk).last_seq
    assert services.connections_sweep(timeout=60) == 5
    events = list(SessionEvent.objects.filter(session=room.session, seq__gt=before))
    assert [event.kind for event in events] == ["presence"]
    assert sorted(events[0].data["left"]) == sorted(
        Participant.objects.filter(session=room.session, user__in=people).values_list("pk", flat=True)
    )
    assert events[0].data["joined"] == []


def test_a_storm_s_arrivals_are_counted_while_the_session_is_locked(room):
    """The sockets of a storm (announced later, together) count their arrivals without the session's lock: they
    are not held up behind another socket's action on the session, two first sockets of one person at once (two
    devices, two server processes) make one participant with both connections, and a socket closing while
    another opens leaves the count right."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, transaction

    people = [invite(room.world, room.session, f"Villager {n}") for n in range(4)]
    locked, release = threading.Event(), threading.Event()

    def in_thread(work):
        def run(*args):
            try:
                return work(*args)
            finally:
                connection.close()

        return run

    @in_thread
    def hold_the_session():
        with transaction.atomic():
            services._lock(room.session.pk)  # As an action of the session holds it (a line said, a hand raised).
            locked.set()
            release.wait(20)

    @in_thread
    def arrive(user):
        participant, _session = services.participant_connect(
            user=user, session_id=room.session.pk, process="storm:1", announce=False
        )
        return participant.pk, participant.connection_id

    holder = threading.Thread(target=hold_the_session)
    holder.start()
    try:
        assert locked.wait(10)
        # Bob, a forum member, has never been in the room: his two devices arrive at once.
        arrivals = [room.world.bob, room.world.bob, *people, people[0]]
        with ThreadPoolExecutor(len(arrivals)) as pool:
            done = pool.map(arrive, arrivals, timeout=10)  # Would wait 20 s behind the lock.
            opened = list(done)
        assert not release.is_set()
    finally:
        release.set()
        holder.join()
    bob = Participant.objects.get(session=room.session, user=room.world.bob)
    assert bob.connections == 2
    assert Participant.objects.get(session=room.session, user=people[0]).connections == 2
    assert all(Participant.objects.get(session=room.session, user=person).present for person in people)
    # The first villager's two sockets close while six more open: none of the counting is lost.
    first = [
        (pk, connection_id) for (pk, connection_id), user in zip(opened, arrivals, strict=True) if user == people[0]
    ]

    @in_thread
    def close(pk_and_connection):
        pk, connection_id = pk_and_connection
        return services.participant_disconnect(participant_id=pk, connection_id=connection_id, announce=False)

    with ThreadPoolExecutor(4) as pool:
        reopened = [pool.submit(arrive, people[0]) for _ in range(6)]
        closed = [pool.submit(close, pair) for pair in first]
        for future in [*closed, *reopened]:
            future.result(timeout=10)
    assert Participant.objects.get(session=room.session, user=people[0]).connections == 6
    assert services.presence_announce(session_id=room.session.pk, participant_ids=[bob.pk])[0].kind == "joined"


async def test_the_welcomes_of_a_storm_share_a_state_each_with_its_own_arrival(room, monkeypatch):
    """Arrivals at one moment are welcomed from one read of the state (not one read each), yet each welcome shows
    its own participant present, and a change to the room (an event) is in the next welcome at once."""
    # Every arrival after the first coalesced into announcements 2 s apart, and the storm one moment, however slow.
    monkeypatch.setattr(consumers, "PRESENCE_ROOM", 2)
    monkeypatch.setattr(consumers, "PRESENCE_BURST", 0)
    monkeypatch.setattr(consumers, "PRESENCE_INTERVAL", 2.0)
    monkeypatch.setattr(consumers, "WELCOME_REUSE_SECONDS", 30.0)
    consumers._welcome_states.clear()
    reads = []
    real = consumers.selectors.session_state

    def session_state(*, session):
        reads.append(session.last_seq)
        return real(session=session)

    monkeypatch.setattr(consumers.selectors, "session_state", session_state)
    alice = await connect(room, room.world.alice)

    @db
    def guests(count, name):
        return [invite(room.world, room.session, f"{name} {n}") for n in range(count)]

    clients = [await connect(room, person) for person in await guests(8, "Villager")]  # One after another.
    for client in clients:
        mine = [entry for entry in client.welcome["state"]["participants"] if entry["id"] == client.participant]
        assert len(mine) == 1
        assert mine[0]["present"]
        assert mine[0]["name"].startswith("Villager")
        ids = [entry["id"] for entry in client.welcome["state"]["participants"]]
        assert ids == sorted(ids)
    # Alice's, the first villager's (after alice's `joined`), and one more per announcement of the storm meanwhile.
    assert len(reads) <= 4, f"{len(reads)} reads of the state for {len(clients) + 1} welcomes"
    # A raised hand is an event: the next welcome shows it, however recent the shared state.
    await alice.send({"type": "raise_hand"})
    await alice.next("hand_raised")
    (late,) = [await connect(room, person) for person in await guests(1, "Latecomer")]
    shown = {entry["id"]: entry for entry in late.welcome["state"]["participants"]}
    assert shown[alice.participant]["hand_raised"]
    assert late.welcome["last_seq"] == await db(lambda: DialogueSession.objects.get(pk=room.session.pk).last_seq)()
    for client in [alice, *clients, late]:
        await client.close()


async def test_deliveries_do_not_wait_for_the_database_thread(room):
    """An event reaches a socket while the process's database thread is busy (another socket's handshake, a slow
    query): a delivery needs no database, and waits for none."""
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from deliberation import events

    guest = await connect(room, room.guest)
    seq = guest.welcome["last_seq"] + 1
    busy = asyncio.ensure_future(sync_to_async(time.sleep, thread_sensitive=True)(3))  # The database thread's.
    await asyncio.sleep(0.2)
    payload = {"type": "event", "seq": seq, "kind": "said", "actor": None, "at": "2026-12-06T00:00:00Z",
               "client_id": "quick", "data": {"body": "Heard at once."}}  # fmt: skip
    started = time.monotonic()
    await get_channel_layer().group_send(events.group_name(room.session.pk), events.group_message(payload))
    frame = await guest.receive(wait=2.5)
    assert frame["seq"] == seq
    assert frame["data"]["body"] == "Heard at once."
    assert time.monotonic() - started < 2.0, "the delivery waited for the database thread"
    assert not busy.done()
    await busy
    await guest.close()


def test_a_first_arrival_is_stored_by_one_insert(room):
    """A storm is mostly first arrivals: each is one INSERT of the participant with its connection counted (no
    UPDATE after it), and its role is found without reading the case first; a second socket counts by an UPDATE."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bob = room.world.bob  # A forum member who has never been in the room.
    with CaptureQueriesContext(connection) as first:
        participant, _session = services.participant_connect(
            user=bob, session_id=room.session.pk, process="storm:1", announce=False
        )
    statements = [query["sql"] for query in first.captured_queries]
    assert [sql.split(" (")[0] for sql in statements if '"deliberation_participant"' in sql.split(" SET ")[0]
            and sql.startswith(("INSERT", "UPDATE"))] == ['INSERT INTO "deliberation_participant"']  # fmt: skip
    assert not [sql for sql in statements if sql.startswith('SELECT "cases_case"')]
    stored = Participant.objects.get(pk=participant.pk)
    assert (stored.connections, stored.present, stored.joined_at is not None) == (1, True, True)
    assert stored.role == Participant.Role.MONITOR  # Bob monitors the forum.

    with CaptureQueriesContext(connection) as second:
        services.participant_connect(user=bob, session_id=room.session.pk, process="storm:2", announce=False)
    assert any(query["sql"].startswith('UPDATE "deliberation_participant"') for query in second.captured_queries)
    assert Participant.objects.get(pk=participant.pk).connections == 2


def test_roles_in_the_room_come_from_the_forum_memberships(room):
    """role_for, now one query: the session's facilitator facilitates, the forum's other facilitators are members,
    its monitors monitor, whatever role they hold in another forum."""
    from cases import services as case_services
    from cases.models import Membership
    from deliberation import selectors
    from tests.factories import UserFactory

    world = room.world
    colleague, elsewhere = UserFactory(username="colleague"), UserFactory(username="elsewhere")
    case_services.membership_grant(user=colleague, forum=world.jirga, role=Membership.Role.FACILITATOR)
    case_services.membership_grant(user=elsewhere, forum=world.jirga, role=Membership.Role.MONITOR)
    case_services.membership_grant(user=elsewhere, forum=world.sulha, role=Membership.Role.FACILITATOR)
    roles = {
        user.username: selectors.role_for(user=user, session=room.session)
        for user in (world.alice, colleague, world.bob, elsewhere)
    }
    assert roles == {
        "alice": Participant.Role.FACILITATOR, "colleague": Participant.Role.MEMBER,
        "bob": Participant.Role.MONITOR, "elsewhere": Participant.Role.MONITOR,
    }  # fmt: skip
