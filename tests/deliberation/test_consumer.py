"""The session websocket, frame by frame, through config.asgi (origin check, auth, routing) with the
channel layer the settings give: Redis under CI."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from cases.models import CaseEvent, Term
from config.asgi import application
from deliberation import events, services
from deliberation.models import DialogueSession, Participant, SessionEvent
from tests.deliberation.conftest import ORIGIN, connect

pytestmark = [pytest.mark.django_db(transaction=True)]

db = database_sync_to_async


# --- The handshake ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["carol", "dave", "eve", "frank"])
async def test_who_may_not_attend_is_refused_at_the_handshake(room, who):
    """An administrator, a regulator, an outsider and another forum's facilitator: sessions are confidential."""
    assert await connect(room, getattr(room.world, who)) is None
    # The server then tells the consumer the socket is gone: its disconnect must run cleanly (it raised, and
    # every refused handshake logged a traceback).
    headers = await database_sync_to_async(room.headers)(getattr(room.world, who))
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    await communicator.disconnect()


async def test_a_removed_member_is_shut_out_at_once_and_after(room, as_user):
    """bob monitors the jirga and has sat in the session; his membership is removed: his open socket closes
    (every process hears it), he cannot reconnect or read the transcript; alice's socket stays."""
    from cases.models import Membership
    from config.ws import CLOSE_NOT_ALLOWED

    bob = await connect(room, room.world.bob)
    alice = await connect(room, room.world.alice)
    await database_sync_to_async(
        lambda: Membership.objects.filter(user=room.world.bob, forum=room.world.jirga).delete()
    )()
    closed = await bob.communicator.receive_output(timeout=5)
    while closed["type"] != "websocket.close":  # Events sent before the close are still delivered.
        closed = await bob.communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_NOT_ALLOWED}
    assert await connect(room, room.world.bob) is None
    transcript = await database_sync_to_async(
        lambda: as_user(room.world.bob).get(f"/api/sessions/{room.session.pk}/transcript/")
    )()
    assert transcript.status_code == 404
    await alice.send({"type": "ping"})
    assert (await alice.next(type="pong"))["type"] == "pong"
    await alice.close()


async def test_anonymous_and_unknown_sessions_are_refused(room):
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    nowhere = DialogueSession(pk=room.session.pk + 1000)
    assert await connect(room, room.world.alice, session=nowhere) is None


async def test_a_guest_attends_only_the_session_they_were_invited_to(room):
    from tests.deliberation.conftest import open_case

    @db
    def another_session():
        case = open_case(room.world)
        return services.session_schedule(user=room.world.alice, case_id=case.pk, scheduled_for=case.opened_at)

    assert await connect(room, room.guest, session=await another_session()) is None
    assert await connect(room, room.guest) is not None


async def test_the_welcome_carries_the_state(room):
    alice = await connect(room, room.world.alice)
    state = alice.welcome["state"]
    assert alice.welcome["session"] == room.session.pk
    assert alice.welcome["last_seq"] == await db(lambda: DialogueSession.objects.get(pk=room.session.pk).last_seq)()
    assert {p["name"] for p in state["participants"]} >= {"First party's representative", "Elder of the village"}
    assert state["floor"] is None
    assert state["queue"] == []
    assert state["open_proposals"] == []
    assert state["status"] == "live"
    me = next(p for p in state["participants"] if p["id"] == alice.participant)
    assert me["role"] == "facilitator"
    assert me["present"] is True
    await alice.close()


async def test_monitors_and_other_forum_members_attend(room):
    bob = await connect(room, room.world.bob)
    me = next(p for p in bob.welcome["state"]["participants"] if p["id"] == bob.participant)
    assert me["role"] == "monitor"
    await bob.close()


# --- Speaking ---------------------------------------------------------------------------------------------


async def test_said_reaches_everyone_the_sender_included(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    await guest.send({"type": "say", "body": "We want the water shared by days.", "client_id": "g-1"})
    for client in (guest, alice):
        event = await client.next("said")
        assert event["data"] == {"body": "We want the water shared by days."}
        assert event["actor"] == guest.participant
        assert event["client_id"] == "g-1"
        assert event["seq"] > guest.welcome["last_seq"]
    await alice.close()
    await guest.close()


async def test_a_repeated_client_id_makes_no_second_event(room):
    guest = await connect(room, room.guest)
    await guest.send({"type": "say", "body": "Once.", "client_id": "same"})
    first = await guest.next("said")
    await guest.send({"type": "say", "body": "Once.", "client_id": "same"})
    again = await guest.next("said")
    assert again == first
    assert await db(lambda: SessionEvent.objects.filter(session=room.session, kind="said").count())() == 1
    await guest.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"no": "type"}', "malformed"),
        ({"type": "dance"}, "unknown_type"),
        ({"type": "say", "body": ""}, "malformed"),
        ({"type": "say", "body": 7}, "malformed"),
        ({"type": "say", "body": "x", "client_id": "x" * 65}, "malformed"),
        ({"type": "give_floor"}, "malformed"),
        ({"type": "respond", "proposal": 1}, "malformed"),
        ({"type": "resume", "after": "yesterday"}, "malformed"),
        ({"type": "say", "body": "x" * 17000}, "frame_too_large"),
        ({"type": "say"}, "malformed"),
        ({"type": "propose"}, "malformed"),
        ({"type": "agenda_add"}, "malformed"),
        ({"type": "say", "body": "a\u0000b"}, "malformed"),
        ('{"type": "say", "body": "\\ud800 alone"}', "malformed"),
        ({"type": "say", "body": "x", "client_id": "c\u0000"}, "malformed"),
        ('{"type": "say", "body": ' + "[" * 5000 + "]" * 5000 + "}", "malformed"),
    ],
)
async def test_refused_frames_get_an_error_and_the_connection_stays_usable(room, frame, code):
    guest = await connect(room, room.guest)
    await guest.send(frame)
    error = await guest.error()
    assert error["code"] == code
    assert error["detail"]
    await guest.send({"type": "ping"})
    pong = await guest.next(type="pong")
    assert pong["last_seq"] >= guest.welcome["last_seq"]
    await guest.close()


async def test_more_than_100_frames_in_2_seconds_are_rate_limited(room):
    guest = await connect(room, room.guest)
    for _ in range(110):
        await guest.send({"type": "ping"})
    frames = [await guest.receive() for _ in range(110)]
    kinds = [f["type"] if f["type"] != "error" else f["code"] for f in frames]
    assert kinds.count("pong") == 100
    assert kinds.count("rate_limited") == 10
    await asyncio.sleep(2.1)
    await guest.send({"type": "ping"})
    assert (await guest.next(type="pong"))["type"] == "pong"
    await guest.close()


async def test_nothing_happens_in_a_session_that_is_not_live(room):
    alice = await connect(room, room.world.alice)
    await db(services.session_end)(user=room.world.alice, session_id=room.session.pk)
    await alice.next("ended")
    for frame in (
        {"type": "say", "body": "Too late"},
        {"type": "raise_hand"},
        {"type": "give_floor", "participant": None},
    ):
        await alice.send(frame)
        assert (await alice.error())["code"] == "session_not_live"
    await alice.close()


# --- The talking piece ------------------------------------------------------------------------------------


async def test_hands_queue_and_the_floor(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    await guest.send({"type": "raise_hand"})
    assert (await alice.next("hand_raised"))["actor"] == guest.participant
    await elder.send({"type": "raise_hand"})
    assert (await alice.next("hand_raised"))["actor"] == elder.participant

    # Only the facilitator gives the floor.
    await guest.send({"type": "give_floor", "participant": guest.participant})
    assert (await guest.error())["code"] == "forbidden"

    # First come, first served; victims and women first when the facilitator asks for it.
    late = await connect(room, room.world.bob)
    assert late.welcome["state"]["queue"] == [guest.participant, elder.participant]
    await alice.send({"type": "set_mode", "priority_first": True})
    assert (await alice.next("mode_set"))["data"] == {"priority_first": True}
    later = await connect(room, room.world.bob)
    assert later.welcome["state"]["queue"] == [elder.participant, guest.participant]

    await alice.send({"type": "give_floor", "participant": elder.participant})
    given = await guest.next("floor_given")
    assert given["data"] == {"participant": elder.participant}
    await guest.send({"type": "lower_hand"})
    assert (await alice.next("hand_lowered"))["actor"] == guest.participant
    last = await connect(room, room.world.bob)
    assert last.welcome["state"]["floor"] == elder.participant
    assert last.welcome["state"]["queue"] == []
    for client in (alice, guest, elder, late, later, last):
        await client.close()


async def test_floor_only_mode_and_the_turn_cap(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    await alice.send({"type": "set_mode", "floor_only": True, "turn_seconds": 60})
    await alice.next("mode_set")
    await alice.send({"type": "give_floor", "participant": elder.participant})
    given = await alice.next("floor_given")
    assert given["data"]["participant"] == elder.participant
    assert "until" in given["data"]

    await guest.send({"type": "say", "body": "Let me speak!"})
    assert (await guest.error())["code"] == "forbidden"
    await elder.send({"type": "say", "body": "Listen to each other."})
    assert (await guest.next("said"))["actor"] == elder.participant
    await alice.send({"type": "say", "body": "The facilitator may always speak."})
    await guest.next("said")

    # The turn is over: the floor holder must wait for the floor again.
    from django.utils import timezone

    await db(lambda: DialogueSession.objects.filter(pk=room.session.pk).update(
        floor_until=timezone.now() - timezone.timedelta(seconds=1)))()  # fmt: skip
    await elder.send({"type": "say", "body": "One more thing"})
    assert (await elder.error())["code"] == "forbidden"

    await alice.send({"type": "set_mode", "turn_seconds": 5})
    assert (await alice.error())["code"] == "malformed"
    await alice.send({"type": "set_mode"})
    assert (await alice.error())["code"] == "malformed"
    await guest.send({"type": "set_mode", "floor_only": False})
    assert (await guest.error())["code"] == "forbidden"
    for client in (alice, guest, elder):
        await client.close()


# --- Proposals and consensus ------------------------------------------------------------------------------


async def test_an_agreed_proposal_becomes_a_draft_term(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    await guest.send({"type": "propose", "text": "Water by days"})
    assert (await guest.error())["code"] == "forbidden"

    await alice.send({"type": "propose", "text": "The water is shared by days: Mondays to the Khan family.",
                      "client_id": "p-1", "term_kind": "commitment"})  # fmt: skip
    proposed = await guest.next("proposed")
    proposal = proposed["data"]["proposal"]
    assert proposed["data"]["term_kind"] == "commitment"

    await alice.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    assert (await alice.error())["code"] == "forbidden"  # The facilitator does not vote.
    await guest.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    assert (await alice.next("responded"))["data"] == {"proposal": proposal, "stance": "agree"}
    await elder.send({"type": "respond", "proposal": proposal, "stance": "stand_aside"})
    decided = await alice.next("proposal_decided")
    assert decided["data"]["outcome"] == "accepted"
    assert decided["data"]["term_position"] == 1
    assert decided["data"]["stances"] == {"agree": 1, "stand_aside": 1, "block": 0}

    term = await db(lambda: Term.objects.get(agreement__case=room.case))()
    assert (term.kind, term.description) == ("commitment", "The water is shared by days: Mondays to the Khan family.")
    kinds = await db(lambda: list(CaseEvent.objects.filter(case=room.case).values_list("kind", flat=True)))()
    assert "agreement_recorded" in kinds
    assert "proposal_decided" in kinds

    await guest.send({"type": "respond", "proposal": proposal, "stance": "block"})
    assert (await guest.error())["code"] == "proposal_decided"
    for client in (alice, guest, elder):
        await client.close()


async def test_one_block_stops_a_proposal(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    await alice.send({"type": "propose", "text": "The Gul family pays for the new channel."})
    proposal = (await alice.next("proposed"))["data"]["proposal"]
    await elder.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    await guest.send({"type": "respond", "proposal": proposal, "stance": "block"})
    decided = await alice.next("proposal_decided")
    assert decided["data"]["outcome"] == "blocked"
    assert await db(lambda: Term.objects.filter(agreement__case=room.case).count())() == 0
    await guest.send({"type": "respond", "proposal": proposal + 99, "stance": "agree"})
    assert (await guest.error())["code"] == "malformed"
    await guest.send({"type": "respond", "proposal": proposal, "stance": "maybe"})
    assert (await guest.error())["code"] == "malformed"
    for client in (alice, guest, elder):
        await client.close()


async def test_a_prohibited_proposal_is_refused_as_through_the_api(room):
    alice = await connect(room, room.world.alice)
    await alice.send({"type": "propose", "text": "The Gul family gives a girl in badal to settle it."})
    error = await alice.error()
    assert error["code"] == "prohibited_term"
    assert "310-A" in error["detail"]
    blocked = await db(lambda: CaseEvent.objects.filter(case=room.case, kind="prohibited_term_blocked").get())()
    assert blocked.data["session"] == room.session.pk
    assert await db(lambda: SessionEvent.objects.filter(session=room.session, kind="proposed").count())() == 0
    await alice.close()


async def test_a_prohibited_proposal_says_which_proposal(room):
    alice = await connect(room, room.world.alice)
    await alice.send({"type": "propose", "text": "The Gul family gives a girl in badal to settle it."})
    error = await alice.error()
    assert "The Gul family gives a girl" in error["detail"]
    assert "Term 1" not in error["detail"]
    await alice.close()


async def test_a_proposal_held_for_review_is_marked_and_keeps_the_agreement_from_becoming_final(room):
    """The same three verdicts as through the API: a proposal that may describe a prohibited practice is
    made, marked as held; once accepted its term waits for a legal reviewer, and the agreement cannot become
    final until one decides."""
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    text = "Badal-e-sulh between the two families will be settled by the elders after Eid."
    await alice.send({"type": "propose", "text": text, "client_id": "p-held"})
    proposed = await guest.next("proposed")
    assert proposed["data"]["screening"]["verdict"] == "review"
    proposal = proposed["data"]["proposal"]
    await guest.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    await elder.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    decided = await alice.next("proposal_decided")
    assert decided["data"]["outcome"] == "accepted"
    assert decided["data"]["screening"]["verdict"] == "review"
    term = await db(lambda: Term.objects.get(agreement__case=room.case))()
    assert term.screening_verdict == "review"

    def to_the_decision():
        from cases import services as case_services
        from cases.models import Case

        case = Case.objects.get(pk=room.case.pk)
        for to in ("mandate", "hearings", "legality_review", "decision"):
            case_services.case_transition(user=room.world.alice, case_id=case.pk, to=to, version=case.version)
            case.refresh_from_db()

    from config.errors import SulhError

    with pytest.raises(SulhError) as refused:
        await db(to_the_decision)()
    assert refused.value.code == "screening_pending"
    for client in (alice, guest, elder):
        await client.close()


async def test_the_room_hears_the_legal_reviewers_decision_without_a_reload(room):
    """A proposal accepted into the draft but held for review: when the reviewer decides, every live room of
    the case gets a `screening_reviewed` event naming the proposal, lawful or prohibited."""
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)

    async def held_and_accepted(text: str, client_id: str) -> int:
        await alice.send({"type": "propose", "text": text, "client_id": client_id})
        proposal = (await guest.next("proposed"))["data"]["proposal"]
        await guest.send({"type": "respond", "proposal": proposal, "stance": "agree"})
        await elder.send({"type": "respond", "proposal": proposal, "stance": "agree"})
        decided = await alice.next("proposal_decided")
        assert decided["data"]["screening"]["verdict"] == "review"
        return proposal

    first = await held_and_accepted(
        "Badal-e-sulh between the two families will be settled by the elders after Eid.", "r1"
    )
    second = await held_and_accepted("Badal-e-sulh will be agreed by both families before the next harvest.", "r2")

    def decide(position: int, decision: str) -> None:
        from cases import services as case_services

        term = Term.objects.get(agreement__case=room.case, position=position)
        case_services.term_screening_decide(user=room.world.carol, term_id=term.pk, decision=decision, note="")

    await db(lambda: decide(1, "lawful"))()
    for client in (alice, guest):
        reviewed = await client.next("screening_reviewed")
        assert reviewed["data"] == {"term_position": 1, "decision": "lawful", "practice": reviewed["data"]["practice"],
                                    "proposal": first}  # fmt: skip
    await db(lambda: decide(2, "prohibited"))()
    reviewed = await guest.next("screening_reviewed")
    assert (reviewed["data"]["decision"], reviewed["data"]["proposal"]) == ("prohibited", second)
    assert await db(
        lambda: list(Term.objects.filter(agreement__case=room.case).values_list("position", flat=True))
    )() == [1]
    for client in (alice, guest, elder):
        await client.close()


# --- The agenda and the settings ---------------------------------------------------------------------------


async def test_agenda_items(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    await alice.send({"type": "agenda_add", "title": "The water channel", "client_id": "a-1"})
    added = await guest.next("agenda_added")
    assert added["data"]["title"] == "The water channel"
    await alice.send({"type": "agenda_done", "item": added["data"]["item"]})
    assert (await guest.next("agenda_done"))["data"] == {"item": added["data"]["item"]}
    await guest.send({"type": "agenda_add", "title": "Mine"})
    assert (await guest.error())["code"] == "forbidden"
    late = await connect(room, room.world.bob)
    assert late.welcome["state"]["agenda"] == [
        {"id": added["data"]["item"], "position": 1, "title": "The water channel", "done": True}
    ]
    for client in (alice, guest, late):
        await client.close()


# --- Order, gaps and resuming --------------------------------------------------------------------------------


async def test_connecting_with_after_replays_what_was_missed_first(room):
    alice = await connect(room, room.world.alice)
    for n in range(3):
        await alice.send({"type": "say", "body": f"line {n}", "client_id": f"l{n}"})
        await alice.next("said")
    await alice.close()
    guest = await connect(room, room.guest, after=0)
    seqs = []
    while True:
        frame = await guest.receive()
        seqs.append(frame["seq"])
        if frame["seq"] == guest.welcome["last_seq"]:
            break
    assert seqs == list(range(1, guest.welcome["last_seq"] + 1))
    assert await guest.nothing()
    await guest.close()


async def test_resume_sends_every_event_after_k_once(room):
    alice = await connect(room, room.world.alice)
    for n in range(4):
        await alice.send({"type": "say", "body": f"line {n}"})
        await alice.next("said")
    last = (await db(lambda: DialogueSession.objects.get(pk=room.session.pk))()).last_seq
    await alice.send({"type": "resume", "after": last - 3})
    replayed = [await alice.receive() for _ in range(3)]
    assert [e["seq"] for e in replayed] == [last - 2, last - 1, last]
    assert await alice.nothing()
    await alice.close()


async def test_an_event_published_ahead_of_its_turn_waits_for_the_one_before(room, monkeypatch):
    """Two processes committing at once can publish out of order: seq k+2 arrives first, k+1 never comes
    through the layer. The connection still sends k+1 (read from the database), then k+2."""
    alice = await connect(room, room.world.alice)
    start = alice.welcome["last_seq"]
    monkeypatch.setattr(services, "_publish", lambda session_id, payload: None)  # The layer drops both hints.

    @db
    def two_events():
        first = services.say(session_id=room.session.pk, participant_id=alice.participant, body="first")
        second = services.say(session_id=room.session.pk, participant_id=alice.participant, body="second")
        return events.event_payload(first), events.event_payload(second)

    first, second = await two_events()
    assert (first["seq"], second["seq"]) == (start + 1, start + 2)
    await get_channel_layer().group_send(events.group_name(room.session.pk), events.group_message(second))
    received = [await alice.receive(), await alice.receive()]
    assert [(e["seq"], e["data"]["body"]) for e in received] == [(start + 1, "first"), (start + 2, "second")]
    await alice.close()


async def test_two_devices_of_one_person_are_one_participant(room):
    one = await connect(room, room.guest)
    two = await connect(room, room.guest)
    assert one.participant == two.participant
    await two.close()
    assert await db(lambda: Participant.objects.get(pk=one.participant).connections)() == 1
    alice = await connect(room, room.world.alice)
    await one.close()
    left = await alice.next("left")
    assert left["actor"] == one.participant
    await alice.close()


async def test_the_transcript_is_what_the_websocket_sent(room, as_user):
    alice = await connect(room, room.world.alice, after=0)
    sent = []
    for n in range(3):
        await alice.send({"type": "say", "body": f"line {n}", "client_id": f"t{n}"})
    while len([e for e in sent if e.get("kind") == "said"]) < 3:
        frame = await alice.receive()
        sent.append(frame)
    await alice.close()
    transcript = await db(lambda: as_user(room.world.alice).get(f"/api/sessions/{room.session.pk}/transcript/"))()
    assert transcript.status_code == 200
    body = transcript.json()
    assert [e["seq"] for e in body] == list(range(1, len(body) + 1))
    by_seq = {e["seq"]: e for e in body}
    for event in sent:
        assert by_seq[event["seq"]] == json.loads(json.dumps(event))


async def test_a_refusal_names_the_frame_it_refuses(room):
    guest = await connect(room, room.guest)
    await guest.send({"type": "propose", "text": "Mine", "client_id": "p-9"})
    error = await guest.error()
    assert (error["code"], error["frame"], error["client_id"]) == ("forbidden", "propose", "p-9")
    await guest.close()


async def test_refusals_speak_the_language_of_the_page(room):
    headers = await db(room.headers)(room.guest)
    headers.append((b"cookie", b"django_language=ar"))
    communicator = WebsocketCommunicator(application, f"/ws/sessions/{room.session.pk}/", headers=headers)
    assert (await communicator.connect(timeout=5))[0]
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "give_floor", "participant": None})
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != "error":
        pass
    assert frame["code"] == "forbidden"
    assert any("\u0600" <= ch <= "\u06ff" for ch in frame["detail"]), frame["detail"]
    await communicator.disconnect()


async def test_reading_an_ended_session_adds_nothing_to_its_transcript(room):
    await db(services.session_end)(user=room.world.alice, session_id=room.session.pk)
    ended = await db(lambda: DialogueSession.objects.get(pk=room.session.pk).last_seq)()
    reader = await connect(room, room.world.bob, after=0)
    assert reader.welcome["state"]["status"] == "ended"
    replayed = [await reader.receive() for _ in range(ended)]
    assert replayed[-1]["kind"] == "ended"
    await reader.close()
    assert await db(lambda: DialogueSession.objects.get(pk=room.session.pk).last_seq)() == ended
