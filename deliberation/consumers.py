"""The session room's websocket (shared/CONTRACT.md section 5): a thin protocol adapter.

It checks attendance at the handshake, limits frame size (config.ws) and rate, validates frames, calls
deliberation.services, and sends each connection every event in `seq` order, each once. Events reach it
through the channel layer (from any server process) and from its own actions; one that arrives ahead of
its turn waits briefly for the missing ones, which are then read from the database. The channel layer
only carries hints: PostgreSQL and `seq` are the truth. Under load (issue 17) a busy session refuses frames on
arrival with `slow_down` rather than queueing them, and arrivals and departures are announced in batches.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit import services as audit
from config.errors import SulhError
from config.ws import SulhConsumer, database_threads, handshake_database, on_database_threads

from . import events, selectors, services

if TYPE_CHECKING:
    from .models import DialogueSession, Participant

RATE_FRAMES, RATE_SECONDS = 100, 2.0
GAP_WAIT = 0.25  # Seconds an early event waits for the ones before it before they are read from the database.

# frame type → (service, the frame's fields passed on as keyword arguments: {frame key: argument})
ACTIONS = {
    "say": (services.say, {"body": "body", "client_id": "client_id"}),
    "raise_hand": (services.hand_raise, {}),
    "lower_hand": (services.hand_lower, {}),
    "give_floor": (services.floor_give, {"participant": "to"}),
    "propose": (
        services.propose,
        {
            "text": "text",
            "client_id": "client_id",
            "term_kind": "term_kind",
            "ask_review": "ask_review",
            "ask_review_reason": "ask_review_reason",
        },  # fmt: skip
    ),
    "respond": (services.respond, {"proposal": "proposal", "stance": "stance"}),
    "set_mode": (
        services.mode_set,
        {"floor_only": "floor_only", "priority_first": "priority_first", "turn_seconds": "turn_seconds"},
    ),
    "agenda_add": (services.agenda_add, {"title": "title", "client_id": "client_id"}),
    "agenda_done": (services.agenda_done, {"item": "item"}),
    # Shuttle mediation (the facilitator's): side rooms of the joint session, and proposals carried between rooms.
    "open_caucus": (services.caucus_open_frame, {"side": "side"}),
    "close_caucus": (services.caucus_close_frame, {"caucus": "caucus"}),
    "carry": (services.carry, {"proposal": "proposal", "to": "to", "client_id": "client_id"}),
}
REQUIRED = {
    "say": ("body",),
    "propose": ("text",),
    "give_floor": ("participant",),
    "respond": ("proposal", "stance"),
    "agenda_add": ("title",),
    "agenda_done": ("item",),
    "open_caucus": ("side",),
    "close_caucus": ("caucus",),
    "carry": ("proposal", "to"),
}


logger = logging.getLogger(__name__)


# --- Database threads ---------------------------------------------------------------------------------------
# A session's actions run on one thread of a small pool chosen by the session's id, not on the process's one
# thread-sensitive thread: the sessions of a busy server do not wait behind each other, and one session's actions
# still run one at a time, in the order they came (its events are numbered under its row lock either way).


def session_database(session_id: int, function):
    """`function` run on the session's database thread (an awaitable; the connection closed as Channels does)."""
    threads = max(1, int(getattr(settings, "SULH_SESSION_DB_THREADS", 4)))
    return on_database_threads(handing_off(function), database_threads(f"session-db-{session_id % threads}", 1))


def database(function):
    """`function` run on the process's database thread (Channels' own), its events published from this loop."""
    return database_sync_to_async(handing_off(function))


# --- Publishing from the event loop ----------------------------------------------------------------------------
# The services publish an event to the channel layer once it is committed. Sent from the database thread, it would
# wait for this process's event loop, where the channel layer lives, with the thread held: on a busy loop every
# session of the thread queued behind it (many sessions at once: p99 of seconds). The consumer's database work
# hands its events to the loop instead, which sends each session's in the order they were stored while the
# thread goes on. A socket that closes meanwhile does not stop them: the others still hear the event. While Redis is
# away (a restart) they wait and go out once it is back, so a quiet session's listeners are not left a line behind.


PUBLISH_RETRY_SECONDS = 60.0  # How long an event waits for the channel layer to come back (a Redis restart).


class Publisher:
    """This event loop's sending of the events its database threads stored: one queue and task per session."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queues: dict[int, deque[events.GroupMessage]] = {}
        self.tasks: set[asyncio.Task] = set()

    def hand_off(self, session_id: int, message: events.GroupMessage) -> None:
        """From a database thread: queued for the loop at once; never waits."""
        try:
            self.loop.call_soon_threadsafe(self._add, session_id, message)
        except RuntimeError:  # The loop has closed (the server is stopping): the sockets repair from the database.
            logger.warning("session %s: event %s not published (the event loop has closed)", session_id, message["seq"])

    def _add(self, session_id: int, message: events.GroupMessage) -> None:
        queue = self.queues.get(session_id)
        if queue is None:
            queue = self.queues[session_id] = deque()
            task = self.loop.create_task(self._send(session_id, queue))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        queue.append(message)

    async def _send(self, session_id: int, queue: deque[events.GroupMessage]) -> None:
        layer, group = get_channel_layer(), events.group_name(session_id)
        failing_since: float | None = None
        try:
            while queue and layer is not None:
                try:
                    await layer.group_send(group, queue[0])
                except Exception:  # noqa: BLE001 - Redis away: tried again, in order, until it is back
                    now = time.monotonic()
                    failing_since = failing_since or now
                    if now - failing_since < PUBLISH_RETRY_SECONDS:
                        await asyncio.sleep(0.5)
                        continue
                    logger.warning("session %s: %d events not published; sockets will repair from the database",
                                   session_id, len(queue), exc_info=True)  # fmt: skip
                    queue.clear()
                    break
                queue.popleft()
                failing_since = None
        finally:
            del self.queues[session_id]


_publishers: dict[int, Publisher] = {}  # id(event loop) → its publisher


def handing_off(function):
    """`function`, to run on a database thread, with the events it stores published by this event loop."""
    loop = asyncio.get_running_loop()
    publisher = _publishers.get(id(loop))
    if publisher is None or publisher.loop is not loop:
        publisher = _publishers[id(loop)] = Publisher(loop)

    def run(*args, **kwargs):
        with services.publishing_through(publisher.hand_off):
            return function(*args, **kwargs)

    return run


# --- Back-pressure ------------------------------------------------------------------------------------------
# A session that cannot keep up tells its senders to slow down instead of queueing their frames: each action frame
# is counted on arrival against the work its session already has waiting in this process (frames taken and not yet
# stored, times the time one takes) and against how late this process's sockets receive the session's events. Past
# either budget the frame is refused at once with `slow_down` and a `retry_after` (seconds); nothing is stored, so
# sending it again with the same client_id is safe. Listeners therefore never wait behind more than about
# BACKLOG_SECONDS of a session's work.

# A burst (a client sending again what it typed while disconnected) is taken; a sustained overload is refused within
# about a second.
BACKLOG_SECONDS = 0.5  # Work a session may have waiting in one process before its senders are told to slow down…
BURST = 32  # … once it has more than this many frames waiting,
MAX_PENDING = 64  # and never more than this many, however fast each is.
LAG_SECONDS = 0.5  # How late a session's events may reach this process's sockets before the same …
LAG_SUSTAINED = 1.0  # … for this long without a delivery in time.
LAG_FRESH = 1.0  # Seconds a measured lag counts for (when nothing is delivered any more, it no longer holds).


@dataclass
class SessionLoad:
    """One session's work in this process: frames taken and not yet done, the time one takes (a moving average),
    and the lag of its last delivered event."""

    pending: int = 0
    service: float = 0.004
    lag: float = 0.0
    lag_at: float = float("-inf")
    late_since: float | None = None  # Since when every delivery has been later than LAG_SECONDS.

    def served(self, seconds: float) -> None:
        self.service += (seconds - self.service) * 0.2

    def delivered(self, lag: float) -> None:
        now = time.monotonic()
        self.lag, self.lag_at = max(lag, 0.0), now
        if lag <= LAG_SECONDS:
            self.late_since = None
        elif self.late_since is None:
            self.late_since = now

    def refusal(self) -> float | None:
        """Seconds the sender should wait before sending again, or None when the frame is taken."""
        now = time.monotonic()
        queued = self.pending * self.service
        late = (
            self.lag
            if self.late_since is not None and now - self.late_since >= LAG_SUSTAINED and now - self.lag_at < LAG_FRESH
            else 0.0
        )
        if self.pending >= MAX_PENDING or (self.pending > BURST and queued > BACKLOG_SECONDS) or late:
            return round(max(queued, late, 0.1), 2)
        return None


_loads: dict[int, SessionLoad] = {}


def session_load(session_id: int) -> SessionLoad:
    load = _loads.get(session_id)
    if load is None:
        load = _loads[session_id] = SessionLoad()
    return load


# --- Presence, coalesced --------------------------------------------------------------------------------------
# Every arrival and departure is an event for everyone in the room: a storm of N joins would cost N x N deliveries.
# So each process announces at most PRESENCE_BURST of a session's comings and goings at once per PRESENCE_INTERVAL
# (`joined` and `left` events, as always); the ones after them wait for the interval's end and are announced
# together (services.presence_announce: a few as `joined`/`left` events, more as one `presence` event).

PRESENCE_INTERVAL = 0.5
# One: a change after a quiet interval is announced at once; the rest of a storm waits for the interval's end (every
# announcement is a delivery to everyone in the room, compressed for each socket).
PRESENCE_BURST = 1
PRESENCE_ROOM = 10  # Sockets of a session in one process below which every change is announced at once.


@dataclass
class SessionPresence:
    window: float = float("-inf")  # When this process's current interval for the session began (time.monotonic()).
    announced: int = 0  # Changes announced at once in it.
    noted: list[int] = field(default_factory=list)  # Participants whose presence changed since, not yet announced.
    flush: asyncio.Task | None = None
    sockets: int = 0  # The session's sockets in this process: a small room is told everything at once.

    def at_once(self) -> bool:
        """Whether a change now is announced at once (then it counts against the interval's burst)."""
        now = time.monotonic()
        if now - self.window >= PRESENCE_INTERVAL:
            self.window, self.announced = now, 0
        if self.sockets < PRESENCE_ROOM:
            self.announced += 1
            return True
        if self.flush is None and not self.noted and self.announced < PRESENCE_BURST:
            self.announced += 1
            return True
        return False

    def unchanged(self) -> None:
        """The socket changed nobody's presence (a second device): it does not count against the burst."""
        self.announced = max(0, self.announced - 1)


_presence: dict[tuple[int, int], SessionPresence] = {}  # (id(event loop), session id) → its presence


def session_presence(session_id: int) -> SessionPresence:
    key = (id(asyncio.get_running_loop()), session_id)
    presence = _presence.get(key)
    if presence is None:
        presence = _presence[key] = SessionPresence()
    return presence


def presence_note(session_id: int, participant_id: int) -> None:
    """A change of `participant_id`'s presence that was not announced: announced with the others at the end of the
    interval."""
    presence = session_presence(session_id)
    if participant_id not in presence.noted:
        presence.noted.append(participant_id)
    if presence.flush is None:
        presence.flush = asyncio.get_running_loop().create_task(_presence_flush(session_id, presence))


async def _presence_flush(session_id: int, presence: SessionPresence) -> None:
    try:
        await asyncio.sleep(max(0.05, presence.window + PRESENCE_INTERVAL - time.monotonic()))
        noted, presence.noted = presence.noted, []
        presence.window, presence.announced = time.monotonic(), PRESENCE_BURST  # This announcement is the interval's.
        try:
            await session_database(session_id, services.presence_announce)(session_id=session_id, participant_ids=noted)
        except Exception:  # The database may be away for a moment: the welcome of every socket still says it.
            logger.warning("session %s: presence of %d participants not announced", session_id, len(noted))
    finally:
        presence.flush = None
        if presence.noted:  # Changes noted while this one was being written: the next interval's.
            presence.flush = asyncio.get_running_loop().create_task(_presence_flush(session_id, presence))


# --- The welcome's state, shared ----------------------------------------------------------------------------
# A storm of arrivals asks for one session's state hundreds of times a second, and each read costs six queries
# (some 5 ms with 500 people in the room). A state read for a session serves the welcomes of the next
# WELCOME_REUSE_SECONDS while the session's last_seq stays where it was: whatever the state shows changes through
# an event, but presence, which a storm announces later and together (presence_note), so a shared state is never
# behind its last_seq, and its presence is at most that much older, and set right by the announcement that follows.
# Each welcome shows its own participant present in it.

WELCOME_REUSE_SECONDS = 0.25
_welcome_states: dict[int, tuple[float, int, dict]] = {}  # session id → (time.monotonic() read, last_seq, state)
_welcome_lock = threading.Lock()


def welcome_state(session: DialogueSession, participant: Participant) -> dict:
    """selectors.session_state as of `session.last_seq`, shared by the welcomes of a moment, with `participant`
    present in its list."""
    now = time.monotonic()
    with _welcome_lock:
        read, seq, state = _welcome_states.get(session.pk, (-math.inf, -1, {}))
    if seq != session.last_seq or now - read > WELCOME_REUSE_SECONDS:
        state = selectors.session_state(session=session)
        with _welcome_lock:
            if len(_welcome_states) > 256:
                for key in [k for k, (at, _seq, _state) in _welcome_states.items() if now - at > WELCOME_REUSE_SECONDS]:
                    del _welcome_states[key]
            _welcome_states[session.pk] = (now, session.last_seq, state)
    # Its own entry, as it is now (the shared list may predate this arrival); the rest shared as they are.
    people = state["participants"]
    mine = selectors.participant_entry(participant)
    at = bisect.bisect_left(people, participant.pk, key=lambda entry: entry["id"])
    if at < len(people) and people[at]["id"] == participant.pk:
        if people[at] == mine:
            return state
        people = [*people[:at], mine, *people[at + 1 :]]
    else:
        people = [*people[:at], mine, *people[at:]]
    return {**state, "participants": people}


# --- This process's heartbeat -------------------------------------------------------------------------------
# Each server process names itself, records each socket it holds (services.participant_connect) and, while it
# holds any, beats and sweeps the sockets of processes that stopped beating (services.connections_sweep).

_process: dict[str, str] = {"pid": "", "name": ""}
_beats: dict[int, asyncio.Task] = {}  # id(event loop) → its heartbeat task


def process_name() -> str:
    if _process["pid"] != str(os.getpid()):  # A forked worker is a process of its own.
        _process.update(pid=str(os.getpid()), name=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    return _process["name"]


async def _heartbeat() -> None:
    while True:
        await asyncio.sleep(settings.SULH_HEARTBEAT_SECONDS)
        try:
            await database(services.process_beat)(process=process_name())
            await database(services.connections_sweep)()
        except Exception:  # The database may be away for a moment: the next beat tries again.
            logger.warning("Session heartbeat failed; trying again in %ss", settings.SULH_HEARTBEAT_SECONDS)


_beaten: dict[str, float] = {}  # process → when a connecting socket last beat for it (time.monotonic).


def _keep_beating() -> None:
    loop = asyncio.get_running_loop()
    task = _beats.get(id(loop))
    if task is None or task.done():
        _beats[id(loop)] = loop.create_task(_heartbeat())


def _error_code(error: SulhError) -> str:
    return "malformed" if error.code in ("invalid", "parse_error") else error.code


def _refusal(error: SulhError) -> dict:
    """What a refused proposal's error frame adds: the practice, and `may_ask_review` when the proposal may be sent
    again with `ask_review` to be held for a legal reviewer instead (as the API's 422 says in its fields)."""
    if error.code != "prohibited_term":
        return {}
    problem: dict = next(iter((error.fields or {}).get("terms", {}).values()), {})
    return {"practice": problem.get("practice"), **({"may_ask_review": True} if problem.get("may_ask_review") else {})}


class SessionConsumer(SulhConsumer):
    participant_id: int | None = None
    connection_id: int | None = None
    counted = False  # Whether this socket counts in its session's presence (SessionPresence.sockets).
    # Set here too, not only in joined(): a refused handshake goes straight to disconnect().
    gap_task: asyncio.Task | None = None

    async def authorize(self) -> bool:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        return await handshake_database(selectors.may_attend)(user=self.scope["user"], session_id=self.session_id)

    async def joined(self) -> None:
        self.group = events.group_name(self.session_id)
        self.last_sent = 0
        self.early: dict[int, events.EventFrame | events.GroupMessage] = {}
        self.gap_task: asyncio.Task | None = None
        self.order = asyncio.Lock()
        self.acting = asyncio.Lock()  # The connection's frames are stored one at a time, in the order they came.
        self.actions: set[asyncio.Task] = set()
        self.frames: deque[float] = deque()
        await self.channel_layer.group_add(self.group, self.channel_name)
        presence = session_presence(self.session_id)
        presence.sockets += 1
        self.counted = True
        announce = presence.at_once()
        welcome = await handshake_database(handing_off(self._arrive))(announce)
        if not welcome.pop("arrived"):
            if announce:
                presence.unchanged()
        elif not announce:
            presence_note(self.session_id, self.participant_id)  # type: ignore[arg-type]
        _keep_beating()
        async with self.order:
            await self.send_json(welcome)
            after = self._after()
            if after is not None and after < welcome["last_seq"]:
                for event in await self._stored(after, welcome["last_seq"]):
                    await self.send_json(event)
            self.last_sent = welcome["last_seq"]
            await self._send_early()

    def _arrive(self, announce: bool) -> dict:
        process = process_name()
        # The process says it is alive before it records a socket, then at most every half heartbeat: a storm
        # of joins does not queue on its ProcessBeat row (the heartbeat keeps it fresh meanwhile).
        now = time.monotonic()
        if now - _beaten.get(process, -math.inf) >= settings.SULH_HEARTBEAT_SECONDS / 2:
            services.process_beat(process=process)
            _beaten[process] = now
        with transaction.atomic():  # One commit for the arrival and its read record.
            participant, session = services.participant_connect(
                user=self.user, session_id=self.session_id, process=process, announce=announce
            )
            # `session` was read by participant_connect after this socket joined the session's group: its last_seq
            # is where the socket's events start.
            # The socket sends the session's events, its transcript: one read in the read log (audit) per connection.
            audit.read_record(
                user=self.user, kind=audit.Kind.TRANSCRIPT, case_id=session.case_id, object_id=session.pk,
                ip=audit.scope_ip(self.scope), door=audit.Door.WEBSOCKET,
            )  # fmt: skip
        self.participant_id = participant.pk
        self.connection_id = participant.connection_id
        return {
            "type": "welcome",
            "session": session.pk,
            "participant": participant.pk,
            "last_seq": session.last_seq,
            "state": welcome_state(session, participant),
            "arrived": participant.connections == 1,  # Not sent: whether this socket made them present.
        }

    def _after(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            after = int(query.get("after", [""])[0])
        except ValueError:
            return None
        return max(after, 0)

    async def _stored(self, after: int, upto: int | None = None) -> list[events.EventFrame]:
        return await database_sync_to_async(selectors.events_after)(session_id=self.session_id, after=after, upto=upto)

    async def disconnect(self, code: int) -> None:
        if self.gap_task is not None:
            self.gap_task.cancel()
        for task in getattr(self, "actions", ()):
            task.cancel()  # Frames taken and not yet stored: the client sends them again, with their client_id.
        if hasattr(self, "group"):
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # noqa: BLE001 - the layer may be what went away
                pass
        if self.counted and self.participant_id is None:  # Its arrival failed half-way.
            session_presence(self.session_id).sockets -= 1
        if self.participant_id is not None:
            presence = session_presence(self.session_id)
            announce = presence.at_once()
            presence.sockets -= 1
            self.counted = False
            left = await database(services.participant_disconnect)(
                participant_id=self.participant_id, connection_id=self.connection_id, announce=announce
            )
            if not left:
                if announce:
                    presence.unchanged()
            elif not announce:
                presence_note(self.session_id, self.participant_id)
        try:
            await super().disconnect(code)
        except Exception:  # noqa: BLE001
            pass

    # --- Frames from the client ---------------------------------------------------------------------------

    async def receive_frame(self, message) -> None:
        now = time.monotonic()
        while self.frames and now - self.frames[0] > RATE_SECONDS:
            self.frames.popleft()
        if len(self.frames) >= RATE_FRAMES:
            await self.send_error("rate_limited", _("Too many frames: at most 100 in 2 seconds."))
            return
        self.frames.append(now)
        await super().receive_frame(message)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content["type"]
        # Frames that reach the database are answered off this receive loop (_queued), in the order they came: a
        # ping or resume after them is answered after them too.
        if kind == "ping":
            self._queued(self._pong)
            return
        if kind == "resume":
            after = content.get("after")
            self._queued(lambda: self._resume(after))
            return
        if kind not in ACTIONS:
            await self.send_error("unknown_type", _("Unknown frame type: %(type)s.") % {"type": kind[:40]})
            return
        missing = [key for key in REQUIRED.get(kind, ()) if key not in content]
        if missing:
            await self.send_error("malformed", _("Missing: %(fields)s.") % {"fields": ", ".join(missing)})
            return
        # The client_id, when the frame had one, tells the client which of its frames was refused.
        extra = {"client_id": content["client_id"]} if isinstance(content.get("client_id"), str) else {}
        load = session_load(self.session_id)
        wait = load.refusal()
        if wait is not None:
            await self.send_error(
                "slow_down", _("The session is busy: send this again in a moment."), frame=kind, retry_after=wait,
                **extra,
            )  # fmt: skip
            return
        service, fields = ACTIONS[kind]
        arguments = {argument: content[key] for key, argument in fields.items() if key in content}
        # Stored off the connection's receive loop, so that it keeps taking (and refusing) frames and sending events
        # meanwhile.
        load.pending += 1
        self._queued(lambda: self._act(kind, service, arguments, extra, load), load)

    def _queued(self, work, load: SessionLoad | None = None) -> None:
        """Run `work()` after the connection's earlier queued frames (asyncio.Lock wakes its waiters in order)."""

        async def in_turn() -> None:
            try:
                async with self.acting:
                    await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # As an exception in the receive loop would: the socket closes, the client reconnects.
                logger.exception("session %s: a frame failed", self.session_id)
                await self.close(code=1011)
            finally:
                if load is not None:
                    load.pending -= 1

        task = asyncio.create_task(in_turn())
        self.actions.add(task)
        task.add_done_callback(self.actions.discard)

    async def _pong(self) -> None:
        # Also renews the group membership: a restarted Redis or an expired group forgets it.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "pong", "last_seq": self.last_sent})

    async def _act(self, kind: str, service, arguments: dict, extra: dict, load: SessionLoad) -> None:
        def timed():
            started = time.perf_counter()
            try:
                return service(session_id=self.session_id, participant_id=self.participant_id, **arguments)
            finally:
                load.served(time.perf_counter() - started)

        # An event this connection had before the frame was taken is the original of a repeated client_id, sent
        # again; a new one may already have come through the channel layer meanwhile, and goes once.
        before = self.last_sent
        try:
            result = await session_database(self.session_id, timed)()
        except SulhError as error:
            await self.send_error(_error_code(error), str(error.detail), frame=kind, **extra, **_refusal(error))
            return
        for event in result if isinstance(result, list) else [result]:
            if event is not None:
                await self._deliver(events.event_payload(event), repeat=event.seq <= before)

    async def _resume(self, after) -> None:
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            await self.send_error("malformed", _("resume needs after: a seq (0 or more)."))
            return
        async with self.order:
            events = await self._stored(after)
            for event in events:
                await self.send_json(event)
            if events:
                self.last_sent = max(self.last_sent, events[-1]["seq"])
            await self._send_early()

    # --- Events to the client, in order --------------------------------------------------------------------

    async def session_event(self, message) -> None:
        """Group message: an event committed by any process, its frame's text made once by the publisher."""
        sent = message.get("sent")
        if isinstance(sent, float):
            session_load(self.session_id).delivered(time.time() - sent)
        await self._deliver(message)

    async def layer_resync(self, message) -> None:
        """The channel layer is back after an outage: what the session said meanwhile is read from the database."""
        if not hasattr(self, "order"):
            return  # Not joined yet: its welcome will say where the session stands.
        async with self.order:
            for event in await self._stored(self.last_sent):
                self.early.setdefault(event["seq"], event)
            await self._send_early()

    async def _deliver(self, event: events.EventFrame | events.GroupMessage, *, repeat: bool = False) -> None:
        """Send an event ({"seq", "text"} as published, or an event payload) in its turn."""
        async with self.order:
            seq = event["seq"]
            if seq <= self.last_sent:
                if repeat:  # A retried frame: the original event, sent again to the one who retried.
                    await self._send_event(event)
                return
            self.early[seq] = event
            await self._send_early()
            if self.early and (self.gap_task is None or self.gap_task.done()):
                self.gap_task = asyncio.create_task(self._fill_gap())

    async def _send_event(self, event: events.EventFrame | events.GroupMessage) -> None:
        await self.send(text_data=event["text"] if "text" in event else json.dumps(event))

    async def _send_early(self) -> None:
        """Send the events that are next in line. The caller holds self.order."""
        for seq in sorted(s for s in self.early if s <= self.last_sent):
            del self.early[seq]
        while (event := self.early.pop(self.last_sent + 1, None)) is not None:
            await self._send_event(event)
            self.last_sent = event["seq"]

    async def _fill_gap(self) -> None:
        await asyncio.sleep(GAP_WAIT)
        async with self.order:
            if not self.early:
                return
            for event in await self._stored(self.last_sent, max(self.early)):
                self.early.setdefault(event["seq"], event)
            await self._send_early()
