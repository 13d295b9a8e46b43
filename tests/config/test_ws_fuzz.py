"""The session websocket fuzzed: random frames of every client type of CONTRACT.md section 5 (and worse), against
the real ASGI app (origin check, token auth, routing) with PostgreSQL and the Redis channel layer.

Each example opens a socket as the facilitator or a guest, sends a handful of frames, and checks that every frame
is answered with an event or an error frame carrying a contract code, that the socket is still open (a `ping`
gets its `pong`), and that once it closes the participant is shown as gone: connections do not leak.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from deliberation import selectors, services
from deliberation.models import DialogueSession, SessionEvent
from tests.deliberation.conftest import Room, invite, open_case

pytestmark = [pytest.mark.django_db(transaction=True)]

# The codes an error frame may carry: the contract's own, and the codes of the refusals the services raise.
CODES = {
    "malformed",
    "unknown_type",
    "forbidden",
    "frame_too_large",
    "rate_limited",
    "session_not_live",
    "not_found",
    "proposal_decided",
    "case_not_open",
}
# Frames that may rightly be answered with nothing: raising a raised hand, lowering a lowered one, resuming after
# the last event.
QUIET = {"raise_hand", "lower_hand", "resume"}
ME, PROPOSAL = "$me", "$proposal"  # Stand for the sender's participant id and the latest proposal's id.

nasty_text = st.sampled_from(
    ["", " ", "a\x00b", "\ud800", "x\udfffy", "\U0001f600", "ہے", "x" * 4001, "x" * 17000, "\u202e", "0", "null"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    nasty_text,
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
ids = st.one_of(st.just(ME), st.just(PROPOSAL), st.integers(min_value=-5, max_value=10**6), values)

# Every client frame type and its fields, each field given a plausible value or anything at all.
FIELDS: dict[str, dict[str, Any]] = {
    "say": {"body": st.one_of(st.just("Peace be upon this gathering"), values), "client_id": values},
    "raise_hand": {},
    "lower_hand": {},
    "give_floor": {"participant": ids},
    "propose": {"text": st.one_of(st.just("The families exchange visits"), values), "client_id": values},
    "respond": {"proposal": ids, "stance": st.one_of(st.sampled_from(["agree", "stand_aside", "block"]), values)},
    "set_mode": {"floor_only": st.one_of(st.booleans(), values)},
    "resume": {"after": st.one_of(st.integers(min_value=-3, max_value=50), values)},
    "ping": {},
}


@st.composite
def contract_frame(draw) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(FIELDS)))
    frame: dict[str, Any] = {"type": kind}
    for field, strategy in FIELDS[kind].items():
        if draw(st.integers(0, 9)) > 0:  # Mostly present, sometimes missing.
            frame[field] = draw(strategy)
    if draw(st.integers(0, 7)) == 0:
        frame[draw(st.text(max_size=10))] = draw(values)  # An extra field.
    return frame


frames = st.one_of(
    contract_frame(),
    contract_frame(),
    contract_frame(),
    st.fixed_dictionaries({"type": values}),  # The type itself wrong or unknown.
    st.dictionaries(st.text(max_size=10), values, max_size=4),
    values,  # Not an object at all.
    st.text(max_size=60).map(lambda text: ("raw", text)),  # Not JSON.
    st.binary(max_size=60).map(lambda data: ("bytes", data)),  # A binary frame.
)


def encode(frame: Any, participant: int, proposal: int | None) -> tuple[str, Any]:
    """("text", str) or ("bytes", bytes): the frame as sent, the placeholders filled in."""
    if isinstance(frame, tuple):
        return ("text", frame[1]) if frame[0] == "raw" else ("bytes", frame[1])

    def fill(value: Any) -> Any:
        if value == ME:
            return participant
        if value == PROPOSAL:
            return proposal if proposal is not None else 0
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    # ensure_ascii: a lone surrogate travels as a JSON escape ("\ud800"), as a real client would have to send it.
    return "text", json.dumps(fill(frame), ensure_ascii=True)


async def receive(communicator: WebsocketCommunicator) -> dict:
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.send", f"the socket closed: {output}"
    return json.loads(output["text"])


async def answers_until_pong(communicator: WebsocketCommunicator, pongs: int) -> list[dict]:
    """Everything the server sends until `pongs` pongs have come."""
    seen: list[dict] = []
    while pongs:
        frame = await receive(communicator)
        if frame["type"] == "pong":
            pongs -= 1
        else:
            seen.append(frame)
    return seen


@pytest.fixture
def live_room(world) -> Room:
    """A live session on a jirga case: alice facilitates, a party's representative is invited."""
    case = open_case(world)
    session = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=world.alice, session_id=session.pk)
    guest = invite(world, session, "First party's representative")
    return Room(world, case, session, guest, guest)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(who=st.sampled_from(["alice", "guest"]), sent=st.lists(frames, min_size=1, max_size=6))
async def test_every_frame_is_answered_and_nothing_leaks(live_room, redis_url, postgres, who, sent):
    room = live_room
    user = room.world.alice if who == "alice" else room.guest
    headers = await database_sync_to_async(room.headers)(user)
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    try:
        welcome = await receive(communicator)
        assert welcome["type"] == "welcome"
        me = welcome["participant"]
        proposal = max((p["id"] for p in welcome["state"]["open_proposals"]), default=None)
        for frame in sent:
            kind, data = encode(frame, me, proposal)
            # Straight to the app (send_to refuses an empty frame, which a real client can send).
            await communicator.send_input({"type": "websocket.receive", kind: data})
            is_ping = isinstance(frame, dict) and frame.get("type") == "ping"
            await communicator.send_to(text_data='{"type": "ping"}')
            answers = await answers_until_pong(communicator, 2 if is_ping else 1)
            for answer in answers:
                assert answer["type"] in ("event", "error"), answer
                if answer["type"] == "error":
                    assert answer["code"] in CODES, answer
                    assert isinstance(answer["detail"], str), answer
                    assert answer["detail"], answer
                elif answer["kind"] == "proposed":
                    proposal = answer["data"].get("proposal", proposal)
            quiet = is_ping or (isinstance(frame, dict) and str(frame.get("type")) in QUIET)
            assert answers or quiet, f"no answer to {data!r}"
        # Still open after all that.
        await communicator.send_to(text_data='{"type": "ping"}')
        assert await answers_until_pong(communicator, 1) is not None
    finally:
        await communicator.disconnect()

    @database_sync_to_async
    def presence() -> tuple[bool, str]:
        session = DialogueSession.objects.get(pk=room.session.pk)
        state = selectors.session_state(session=session)
        present = next(p["present"] for p in state["participants"] if p["id"] == me)
        last = SessionEvent.objects.filter(session=session, actor_id=me).order_by("-seq").first()
        return present, last.kind if last else ""

    present, last_kind = await presence()
    assert not present
    assert last_kind == "left"
