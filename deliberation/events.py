"""A session's events as they travel: the frame every attendee receives and the channel-layer group and message
that carry it between processes. Services build them when they store an event; selectors when they read stored
events back (transcript, ?after, resume)."""

from __future__ import annotations

import json
import time
from typing import Any, Literal, NotRequired, TypedDict, final

from .models import SessionEvent


# Final: nothing else rides in them, so that a consumer can tell one from the other by its keys.
@final
class EventFrame(TypedDict):
    """A stored event as the websocket sends it and the transcript lists it."""

    type: Literal["event"]
    seq: int
    kind: str
    actor: int | None  # The participant's id; None for the session itself (a timer, the server).
    at: str  # ISO 8601, UTC, with a Z.
    data: dict[str, Any]
    client_id: NotRequired[str]  # Only when the attendee's frame carried one.


@final
class GroupMessage(TypedDict):
    """The channel-layer message that carries an event to every socket of its session."""

    type: Literal["session.event"]  # The consumers' session_event handler.
    seq: int
    text: str  # The EventFrame as JSON.
    sent: float  # When it was published (time.time()): how late a socket receives it is the session's lag.


def group_name(session_id: int) -> str:
    return f"session.{session_id}"


def event_payload(event: SessionEvent) -> EventFrame:
    """An event as the websocket sends it and the transcript lists it."""
    payload: EventFrame = {
        "type": "event",
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor_id,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    if event.client_id:
        payload["client_id"] = event.client_id
    return payload


def group_message(payload: EventFrame) -> GroupMessage:
    """The channel-layer message for an event: its frame's text made once here, not once per socket."""
    return {"type": "session.event", "seq": payload["seq"], "text": json.dumps(payload), "sent": time.time()}
