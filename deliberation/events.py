"""A session's events as they travel: the frame every attendee receives and the channel-layer group and message
that carry it between processes. Services build them when they store an event; selectors when they read stored
events back (transcript, ?after, resume)."""

from __future__ import annotations

import json

from .models import SessionEvent


def group_name(session_id: int) -> str:
    return f"session.{session_id}"


def event_payload(event: SessionEvent) -> dict:
    """An event as the websocket sends it and the transcript lists it."""
    payload = {
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


def group_message(payload: dict) -> dict:
    """The channel-layer message for an event: its frame's text made once here, not once per socket."""
    return {"type": "session.event", "seq": payload["seq"], "text": json.dumps(payload)}
