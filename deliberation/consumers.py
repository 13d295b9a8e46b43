"""The session room's websocket (shared/CONTRACT.md section 5): a thin protocol adapter.

It checks attendance at the handshake, limits frame size (config.ws) and rate, validates frames, calls
deliberation.services, and sends each connection every event in `seq` order, each once. Events reach it
through the channel layer (from any server process) and from its own actions; one that arrives ahead of
its turn waits briefly for the missing ones, which are then read from the database. The channel layer
only carries hints: PostgreSQL and `seq` are the truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections import deque
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from audit import services as audit
from config.errors import SulhError
from config.ws import SulhConsumer

from . import events, selectors, services

RATE_FRAMES, RATE_SECONDS = 100, 2.0
GAP_WAIT = 0.25  # Seconds an early event waits for the ones before it before they are read from the database.

# frame type → (service, the frame's fields passed on as keyword arguments: {frame key: argument})
ACTIONS = {
    "say": (services.say, {"body": "body", "client_id": "client_id"}),
    "raise_hand": (services.hand_raise, {}),
    "lower_hand": (services.hand_lower, {}),
    "give_floor": (services.floor_give, {"participant": "to"}),
    "propose": (services.propose, {"text": "text", "client_id": "client_id", "term_kind": "term_kind"}),
    "respond": (services.respond, {"proposal": "proposal", "stance": "stance"}),
    "set_mode": (
        services.mode_set,
        {"floor_only": "floor_only", "priority_first": "priority_first", "turn_seconds": "turn_seconds"},
    ),
    "agenda_add": (services.agenda_add, {"title": "title", "client_id": "client_id"}),
    "agenda_done": (services.agenda_done, {"item": "item"}),
}
REQUIRED = {
    "say": ("body",),
    "propose": ("text",),
    "give_floor": ("participant",),
    "respond": ("proposal", "stance"),
    "agenda_add": ("title",),
    "agenda_done": ("item",),
}


logger = logging.getLogger(__name__)


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
            await database_sync_to_async(services.process_beat)(process=process_name())
            await database_sync_to_async(services.connections_sweep)()
        except Exception:  # The database may be away for a moment: the next beat tries again.
            logger.warning("Session heartbeat failed; trying again in %ss", settings.SULH_HEARTBEAT_SECONDS)


def _keep_beating() -> None:
    loop = asyncio.get_running_loop()
    task = _beats.get(id(loop))
    if task is None or task.done():
        _beats[id(loop)] = loop.create_task(_heartbeat())


def _error_code(error: SulhError) -> str:
    return "malformed" if error.code in ("invalid", "parse_error") else error.code


class SessionConsumer(SulhConsumer):
    participant_id: int | None = None
    connection_id: int | None = None
    # Set here too, not only in joined(): a refused handshake goes straight to disconnect().
    gap_task: asyncio.Task | None = None

    async def authorize(self) -> bool:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        return await database_sync_to_async(selectors.may_attend)(user=self.scope["user"], session_id=self.session_id)

    async def joined(self) -> None:
        self.group = events.group_name(self.session_id)
        self.last_sent = 0
        self.early: dict[int, events.EventFrame | events.GroupMessage] = {}
        self.gap_task: asyncio.Task | None = None
        self.order = asyncio.Lock()
        self.frames: deque[float] = deque()
        await self.channel_layer.group_add(self.group, self.channel_name)
        welcome = await database_sync_to_async(self._arrive)()
        _keep_beating()
        async with self.order:
            await self.send_json(welcome)
            after = self._after()
            if after is not None and after < welcome["last_seq"]:
                for event in await self._stored(after, welcome["last_seq"]):
                    await self.send_json(event)
            self.last_sent = welcome["last_seq"]
            await self._send_early()

    def _arrive(self) -> dict:
        process = process_name()
        services.process_beat(process=process)
        participant, session = services.participant_connect(user=self.user, session_id=self.session_id, process=process)
        self.participant_id = participant.pk
        self.connection_id = participant.connection_id
        session.refresh_from_db()
        # The socket sends the session's events, its transcript: one read in the read log (audit) per connection.
        audit.read_record(
            user=self.user, kind=audit.Kind.TRANSCRIPT, case_id=session.case_id, object_id=session.pk,
            ip=audit.scope_ip(self.scope), door=audit.Door.WEBSOCKET,
        )  # fmt: skip
        return {
            "type": "welcome",
            "session": session.pk,
            "participant": participant.pk,
            "last_seq": session.last_seq,
            "state": selectors.session_state(session=session),
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
        if hasattr(self, "group"):
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # noqa: BLE001 - the layer may be what went away
                pass
        if self.participant_id is not None:
            await database_sync_to_async(services.participant_disconnect)(
                participant_id=self.participant_id, connection_id=self.connection_id
            )
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
        if kind == "ping":
            # Also renews the group membership: a restarted Redis or an expired group forgets it.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json({"type": "pong", "last_seq": self.last_sent})
            return
        if kind == "resume":
            await self._resume(content.get("after"))
            return
        if kind not in ACTIONS:
            await self.send_error("unknown_type", _("Unknown frame type: %(type)s.") % {"type": kind[:40]})
            return
        missing = [key for key in REQUIRED.get(kind, ()) if key not in content]
        if missing:
            await self.send_error("malformed", _("Missing: %(fields)s.") % {"fields": ", ".join(missing)})
            return
        service, fields = ACTIONS[kind]
        arguments = {argument: content[key] for key, argument in fields.items() if key in content}
        try:
            result = await database_sync_to_async(service)(
                session_id=self.session_id, participant_id=self.participant_id, **arguments
            )
        except SulhError as error:
            # The client_id, when the frame had one, tells the client which of its frames was refused.
            extra = {"client_id": content["client_id"]} if isinstance(content.get("client_id"), str) else {}
            await self.send_error(_error_code(error), str(error.detail), frame=kind, **extra)
            return
        for event in result if isinstance(result, list) else [result]:
            if event is not None:
                await self._deliver(events.event_payload(event), repeat=True)

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
        await self._deliver(message)

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
