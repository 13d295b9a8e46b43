"""Shuttle mediation (issue 19, item 1): a live joint session opens private side rooms (caucuses), each with the
facilitator, the forum's people and ONE side's guests; what is said in one never reaches the other side, through any
door; the facilitator carries proposals between rooms; the joint room agrees them; the timeline says only that a
caucus was held. Through config.asgi with the settings' channel layer (Redis under CI) and the API."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from cases.models import Agreement, CaseEvent, Membership
from config.ws import CLOSE_NOT_ALLOWED
from deliberation import services
from deliberation.models import DialogueSession, Participant, Proposal, SessionEvent
from tests.conftest import token_client
from tests.deliberation.conftest import Room, connect, invite, open_case

pytestmark = [pytest.mark.django_db(transaction=True)]

db = database_sync_to_async
SECRET_A = "Between us: the Khans would take forty days of water."
SECRET_B = "The Guls will not go below thirty days, but say fifty."
TERM = "Water by turns: twenty days to each family."


@dataclass
class Shuttle:
    room: Room
    joint: DialogueSession
    khan: object  # The first party's representative.
    gul: object  # The second party's representative.
    elder: object  # A neutral elder: no side.

    def caucus(self, side: str) -> DialogueSession:
        return services.caucus_open(user=self.room.world.alice, session_id=self.joint.pk, side=side)


@pytest.fixture
def shuttle(world) -> Shuttle:
    case = open_case(world)
    joint = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=world.alice, session_id=joint.pk)
    khan = invite(world, joint, "Khan family's representative", side="first_party")
    gul = invite(world, joint, "Gul family's representative", side="second_party")
    elder = invite(world, joint, "Elder of the village", role="elder")
    return Shuttle(Room(world, case, joint, khan, elder), joint, khan, gul, elder)


async def closed_with(client) -> int:
    """The close code of a socket the server closes (events sent before it are skipped)."""
    while True:
        output = await client.communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output["code"]


async def lines(client, wait: float = 0.5) -> list[dict]:
    """Every frame the client receives until it has been quiet for `wait` seconds."""
    frames = []
    while not await client.nothing(wait):
        frames.append(await client.receive())
    return frames


# --- Who may attend a side room ----------------------------------------------------------------------------------


async def test_each_side_attends_only_its_own_room_through_every_door(shuttle):
    """The Khan representative attends the first party's room; the Gul representative and the neutral elder are
    refused at its handshake (403), also with ?after, and cannot read its transcript or see it listed."""
    world = shuttle.room.world
    first = await db(shuttle.caucus)("first_party")
    room = shuttle.room
    assert await connect(room, shuttle.gul, session=first) is None
    assert await connect(room, shuttle.gul, session=first, after=0) is None
    assert await connect(room, shuttle.elder, session=first) is None
    assert await connect(room, world.eve, session=first) is None
    khan = await connect(room, shuttle.khan, session=first)
    bob = await connect(room, world.bob, session=first)  # A monitor of the forum: staff attend every room.
    assert khan is not None
    assert bob is not None
    me = next(p for p in khan.welcome["state"]["participants"] if p["id"] == khan.participant)
    assert me == {**me, "name": "Khan family's representative", "role": "party", "side": "first_party"}
    assert khan.welcome["state"]["joint"] == shuttle.joint.pk
    assert khan.welcome["state"]["side"] == "first_party"

    @db
    def through_the_api(user):
        client = token_client(user)
        return (
            client.get(f"/api/sessions/{first.pk}/transcript/").status_code,
            client.get(f"/api/sessions/{first.pk}/").status_code,
            [c["id"] for c in client.get(f"/api/sessions/{shuttle.joint.pk}/caucuses/").json()],
        )

    assert await through_the_api(shuttle.gul) == (404, 404, [])
    assert await through_the_api(shuttle.elder) == (404, 404, [])
    assert await through_the_api(shuttle.khan) == (200, 200, [first.pk])
    assert await through_the_api(world.alice) == (200, 200, [first.pk])
    await khan.close()
    await bob.close()


async def test_what_one_side_says_never_reaches_the_other(shuttle):
    """Both rooms open, each side in its own and in the joint room: a line said in one side's room reaches that
    room only; the joint room hears that the rooms opened and nothing of what is said in them."""
    room, world = shuttle.room, shuttle.room.world
    first, second = await db(shuttle.caucus)("first_party"), await db(shuttle.caucus)("second_party")
    khan_joint = await connect(room, shuttle.khan)
    gul_joint = await connect(room, shuttle.gul)
    khan = await connect(room, shuttle.khan, session=first)
    gul = await connect(room, shuttle.gul, session=second)
    alice_first = await connect(room, world.alice, session=first)
    opened = [c for c in khan_joint.welcome["state"]["caucuses"]]
    assert [(c["id"], c["side"], c["status"]) for c in opened] == [
        (first.pk, "first_party", "live"),
        (second.pk, "second_party", "live"),
    ]

    await khan.send({"type": "say", "body": SECRET_A, "client_id": "k-1"})
    said = await khan.next("said")
    assert said["data"] == {"body": SECRET_A}
    assert (await alice_first.next("said"))["data"] == {"body": SECRET_A}
    await gul.send({"type": "say", "body": SECRET_B, "client_id": "g-1"})
    assert (await gul.next("said"))["data"] == {"body": SECRET_B}

    heard = {name: json.dumps(await lines(client)) for name, client in
             (("khan", khan), ("gul", gul), ("khan_joint", khan_joint), ("gul_joint", gul_joint))}  # fmt: skip
    assert SECRET_A not in heard["gul"] + heard["gul_joint"] + heard["khan_joint"]
    assert SECRET_B not in heard["khan"] + heard["khan_joint"] + heard["gul_joint"]

    @db
    def joint_events():
        return [(e.kind, e.data) for e in SessionEvent.objects.filter(session=shuttle.joint, kind__startswith="caucus")]

    assert await joint_events() == [
        ("caucus_opened", {"caucus": first.pk, "side": "first_party"}),
        ("caucus_opened", {"caucus": second.pk, "side": "second_party"}),
    ]
    for client in (khan_joint, gul_joint, khan, gul, alice_first):
        await client.close()


async def test_a_side_room_keeps_the_contracts_guarantees_in_its_own_stream(shuttle):
    """seq 1, 2, 3 … of its own, ?after=k and resume, and a repeated client_id making no second line."""
    first = await db(shuttle.caucus)("first_party")
    khan = await connect(shuttle.room, shuttle.khan, session=first)
    await khan.send({"type": "say", "body": "Once.", "client_id": "same"})
    once = await khan.next("said")
    await khan.send({"type": "say", "body": "Once.", "client_id": "same"})
    assert await khan.next("said") == once
    await khan.send({"type": "say", "body": "Twice.", "client_id": "other"})
    await khan.next("said")
    await khan.close()

    @db
    def stored():
        return list(SessionEvent.objects.filter(session=first).order_by("seq").values_list("seq", "kind"))

    events = await stored()
    assert [seq for seq, _kind in events] == list(range(1, len(events) + 1))
    assert [kind for _seq, kind in events].count("said") == 2
    again = await connect(shuttle.room, shuttle.khan, session=first, after=once["seq"] - 1)
    replayed = [f["seq"] for f in await lines(again)]  # What was missed, then their own `joined`.
    last = replayed[-1]
    assert replayed == list(range(once["seq"], last + 1))
    await again.send({"type": "resume", "after": 0})
    assert [f["seq"] for f in await lines(again)] == list(range(1, last + 1))
    await again.close()


# --- Opening and closing ------------------------------------------------------------------------------------------


async def test_the_facilitator_opens_and_closes_side_rooms_from_the_joint_room(shuttle):
    room, world = shuttle.room, shuttle.room.world
    alice = await connect(room, world.alice)
    khan_joint = await connect(room, shuttle.khan)
    await alice.send({"type": "open_caucus", "side": "first_party"})
    opened = await alice.next("caucus_opened")
    assert (await khan_joint.next("caucus_opened"))["seq"] == opened["seq"]
    caucus = opened["data"]["caucus"]
    assert opened["data"] == {"caucus": caucus, "side": "first_party"}
    await alice.send({"type": "open_caucus", "side": "first_party"})
    assert (await alice.error())["code"] == "caucus_already_open"

    khan = await connect(room, shuttle.khan, session=DialogueSession(pk=caucus))
    await khan.send({"type": "say", "body": SECRET_A})
    await khan.next("said")
    await alice.send({"type": "close_caucus", "caucus": caucus})
    closed = await alice.next("caucus_closed")
    assert closed["data"] == {"caucus": caucus, "side": "first_party"}
    assert (await khan.next("ended"))["kind"] == "ended"
    assert await closed_with(khan) == CLOSE_NOT_ALLOWED  # Their access ended with the room.
    assert await connect(room, shuttle.khan, session=DialogueSession(pk=caucus)) is None
    await alice.send({"type": "close_caucus", "caucus": caucus})
    assert (await alice.error())["code"] == "session_not_live"

    # Another room for the same side may be opened now.
    await alice.send({"type": "open_caucus", "side": "first_party"})
    assert (await alice.next("caucus_opened"))["data"]["caucus"] != caucus
    await alice.close()
    await khan_joint.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "open_caucus"}, "malformed"),
        ({"type": "open_caucus", "side": "victim"}, "malformed"),
        ({"type": "open_caucus", "side": 1}, "malformed"),
        ({"type": "close_caucus"}, "malformed"),
        ({"type": "close_caucus", "caucus": "first"}, "malformed"),
        ({"type": "close_caucus", "caucus": 999999}, "malformed"),
        ({"type": "carry", "proposal": 1}, "malformed"),
        ({"type": "carry", "to": 1}, "malformed"),
        ({"type": "carry", "proposal": 999999, "to": 1}, "malformed"),
    ],
)
async def test_bad_shuttle_frames_are_refused_and_the_socket_stays(shuttle, frame, code):
    alice = await connect(shuttle.room, shuttle.room.world.alice)
    await alice.send(frame)
    assert (await alice.error())["code"] == code
    await alice.send({"type": "ping"})
    assert (await alice.next(type="pong"))["type"] == "pong"
    await alice.close()


@pytest.mark.parametrize("frame", [
    {"type": "open_caucus", "side": "first_party"},
    {"type": "close_caucus", "caucus": 1},
    {"type": "carry", "proposal": 1, "to": 1, "client_id": "c"},
])  # fmt: skip
async def test_only_the_facilitator_runs_the_shuttle(shuttle, frame):
    for user in (shuttle.khan, shuttle.room.world.bob):
        client = await connect(shuttle.room, user)
        await client.send(frame)
        assert (await client.error())["code"] == "forbidden"
        await client.close()


async def test_a_side_room_opens_only_from_a_live_joint_session(shuttle):
    world = shuttle.room.world
    first = await db(shuttle.caucus)("first_party")
    alice_first = await connect(shuttle.room, world.alice, session=first)
    await alice_first.send({"type": "open_caucus", "side": "second_party"})
    assert (await alice_first.error())["code"] == "not_a_joint_session"
    await alice_first.close()

    @db
    def scheduled_only():
        joint = services.session_schedule(user=world.alice, case_id=shuttle.room.case.pk, scheduled_for=timezone.now())
        return token_client(world.alice).post(f"/api/sessions/{joint.pk}/caucuses/", {"side": "first_party"},
                                              format="json")  # fmt: skip

    response = await scheduled_only()
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "session_not_live"


async def test_ending_the_joint_session_closes_its_side_rooms(shuttle):
    first = await db(shuttle.caucus)("first_party")
    khan = await connect(shuttle.room, shuttle.khan, session=first)
    await db(services.session_end)(user=shuttle.room.world.alice, session_id=shuttle.joint.pk)
    assert (await khan.next("ended"))["kind"] == "ended"
    assert await closed_with(khan) == CLOSE_NOT_ALLOWED
    assert await db(lambda: DialogueSession.objects.get(pk=first.pk).status)() == "ended"
    kinds = await db(lambda: list(CaseEvent.objects.filter(case=shuttle.room.case).values_list("kind", flat=True)))()
    assert kinds[-2:] == ["caucus_held", "session_ended"]


async def test_a_member_removed_from_the_forum_leaves_the_side_rooms_too(shuttle):
    first = await db(shuttle.caucus)("first_party")
    bob = await connect(shuttle.room, shuttle.room.world.bob, session=first)
    await db(lambda: Membership.objects.filter(user=shuttle.room.world.bob, forum=shuttle.room.world.jirga).delete())()
    assert await closed_with(bob) == CLOSE_NOT_ALLOWED
    assert await connect(shuttle.room, shuttle.room.world.bob, session=first) is None


# --- Carrying proposals -------------------------------------------------------------------------------------------


async def test_a_proposal_is_carried_from_room_to_room_and_the_joint_room_agrees_it(shuttle):
    """Proposed in the first party's room and accepted there (no term yet: one side is not an agreement), carried
    to the second party's room (once, whatever the retries), accepted there, carried to the joint room, where
    everyone's agreement makes it a draft term."""
    room, world = shuttle.room, shuttle.room.world
    first, second = await db(shuttle.caucus)("first_party"), await db(shuttle.caucus)("second_party")
    alice_first = await connect(room, world.alice, session=first)
    alice_second = await connect(room, world.alice, session=second)
    khan = await connect(room, shuttle.khan, session=first)
    gul = await connect(room, shuttle.gul, session=second)

    await alice_first.send({"type": "propose", "text": TERM, "term_kind": "commitment", "client_id": "p-1"})
    proposed = await khan.next("proposed")
    await khan.send({"type": "respond", "proposal": proposed["data"]["proposal"], "stance": "agree"})
    decided = await khan.next("proposal_decided")
    assert decided["data"]["outcome"] == "accepted"
    assert decided["data"]["caucus"] is True
    assert "term_position" not in decided["data"]
    assert not await db(lambda: Agreement.objects.filter(case=room.case).exists())()

    carry = {"type": "carry", "proposal": proposed["data"]["proposal"], "to": second.pk, "client_id": "c-1"}
    await alice_first.send(carry)
    carried = await alice_first.next("carried")
    arrived = await gul.next("proposed")
    assert carried["data"] == {"proposal": proposed["data"]["proposal"], "to": second.pk,
                               "to_proposal": arrived["data"]["proposal"], "side": "second_party"}  # fmt: skip
    assert arrived["data"]["text"] == TERM
    assert arrived["data"]["term_kind"] == "commitment"
    assert arrived["data"]["carried_from"] == {"session": first.pk, "proposal": proposed["data"]["proposal"]}
    assert (await khan.next("carried"))["seq"] == carried["seq"]
    await alice_first.send(carry)  # A retry: the same event back, nothing carried twice.
    assert await alice_first.next("carried") == carried
    assert await gul.nothing(0.5)
    assert await db(lambda: Proposal.objects.filter(session=second).count())() == 1

    await gul.send({"type": "respond", "proposal": arrived["data"]["proposal"], "stance": "agree"})
    assert (await gul.next("proposal_decided"))["data"]["outcome"] == "accepted"
    khan_joint, gul_joint = await connect(room, shuttle.khan), await connect(room, shuttle.gul)
    elder = await connect(room, shuttle.elder)
    await alice_second.send({"type": "carry", "proposal": arrived["data"]["proposal"], "to": shuttle.joint.pk,
                             "client_id": "c-2"})  # fmt: skip
    together = await khan_joint.next("proposed")
    assert together["data"]["carried_from"] == {"session": second.pk, "proposal": arrived["data"]["proposal"]}
    for client in (khan_joint, gul_joint, elder):
        await client.send({"type": "respond", "proposal": together["data"]["proposal"], "stance": "agree"})
    agreed = await khan_joint.next("proposal_decided")
    assert agreed["data"]["outcome"] == "accepted"
    assert agreed["data"]["term_position"] == 1

    @db
    def the_agreement():
        return list(Agreement.objects.get(case=room.case).terms.values_list("kind", "description"))

    assert await the_agreement() == [("commitment", TERM)]
    for client in (alice_first, alice_second, khan, gul, khan_joint, gul_joint, elder):
        await client.close()


async def test_carrying_goes_only_to_rooms_of_the_same_joint_session(shuttle):
    world = shuttle.room.world
    first = await db(shuttle.caucus)("first_party")

    @db
    def elsewhere():
        case = open_case(world)
        other = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
        services.session_start(user=world.alice, session_id=other.pk)
        return other

    other = await elsewhere()
    alice_first = await connect(shuttle.room, world.alice, session=first)
    await alice_first.send({"type": "propose", "text": TERM, "client_id": "p"})
    proposal = (await alice_first.next("proposed"))["data"]["proposal"]
    for to in (other.pk, first.pk, "joint", None):
        await alice_first.send({"type": "carry", "proposal": proposal, "to": to, "client_id": f"c-{to}"})
        assert (await alice_first.error())["code"] == "malformed"
    await alice_first.close()


# --- The API and the timeline -------------------------------------------------------------------------------------


def test_the_api_opens_lists_and_closes_side_rooms(shuttle):
    world = shuttle.room.world
    alice = token_client(world.alice)
    url = f"/api/sessions/{shuttle.joint.pk}/caucuses/"
    response = alice.post(url, {"side": "second_party"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["joint"] == shuttle.joint.pk
    assert body["side"] == "second_party"
    assert body["status"] == "live"
    assert body["ws_url"] == f"ws://testserver/ws/sessions/{body['id']}/"
    again = alice.post(url, {"side": "second_party"}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "caucus_already_open")
    for bad in ({}, {"side": "victim"}, {"side": None}):
        refused = alice.post(url, bad, format="json")
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
        assert "side" in refused.json()["error"]["fields"]
    for user, status in ((shuttle.gul, 403), (world.bob, 403), (world.eve, 404), (world.frank, 404)):
        assert token_client(user).post(url, {"side": "first_party"}, format="json").status_code == status
    nested = alice.post(f"/api/sessions/{body['id']}/caucuses/", {"side": "first_party"}, format="json")
    assert (nested.status_code, nested.json()["error"]["code"]) == (422, "not_a_joint_session")
    assert [c["id"] for c in token_client(shuttle.gul).get(url).json()] == [body["id"]]
    assert token_client(shuttle.khan).get(url).json() == []
    assert token_client(world.eve).get(url).status_code == 404
    # The case's list of sessions holds joint sessions; their side rooms are listed under them.
    assert [s["id"] for s in alice.get(f"/api/cases/{shuttle.room.case.pk}/sessions/").json()] == [shuttle.joint.pk]

    assert token_client(shuttle.gul).post(f"/api/sessions/{body['id']}/end/").status_code == 403
    ended = alice.post(f"/api/sessions/{body['id']}/end/")
    assert ended.json()["status"] == "ended"
    assert alice.post(f"/api/sessions/{body['id']}/end/").json()["error"]["code"] == "session_not_live"
    assert token_client(shuttle.gul).get(url).json() == []  # Their access ended with the room.


def test_the_timeline_says_a_side_room_was_held_without_its_words_or_names(shuttle):
    world = shuttle.room.world
    first = shuttle.caucus("first_party")
    khan = services.participant_connect(user=shuttle.khan, session_id=first.pk)[0]
    services.say(session_id=first.pk, participant_id=khan.pk, body=SECRET_A)
    chair = Participant.objects.get(session=first, user=world.alice)
    services.participant_connect(user=world.alice, session_id=first.pk)
    event = services.propose(session_id=first.pk, participant_id=chair.pk, text=TERM)
    services.respond(session_id=first.pk, participant_id=khan.pk, proposal=event.data["proposal"], stance="agree")
    services.caucus_close(user=world.alice, caucus_id=first.pk)

    timeline = token_client(world.alice).get(f"/api/cases/{shuttle.room.case.pk}/timeline/").json()
    held = [e for e in timeline if e["kind"] == "caucus_held"]
    assert len(held) == 1
    data = held[0]["data"]
    assert data["session"] == shuttle.joint.pk
    assert data["caucus"] == first.pk
    assert data["side"] == "first_party"
    assert data["participants"] == 2
    assert data["roles"] == {"party": 1, "facilitator": 1}
    assert data["started"] < data["ended"]
    text = json.dumps(timeline)
    for secret in (SECRET_A, TERM, "Khan family's representative"):
        assert secret not in text
    assert [e["kind"] for e in timeline].count("proposal_decided") == 0  # One side's acceptance is not the case's.

    browser = Client()
    browser.force_login(world.alice)
    page = browser.get(f"/cases/{shuttle.room.case.pk}/").content.decode()
    assert "The first party met privately with the facilitator in a side room; 2 people took part." in page
    assert SECRET_A not in page


def test_the_invitation_names_the_side(shuttle):
    alice = token_client(shuttle.room.world.alice)
    url = f"/api/sessions/{shuttle.joint.pk}/invitations/"
    made = alice.post(url, {"name": "Gul elder", "role": "elder", "side": "second_party"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["side"] == "second_party"
    bad = alice.post(url, {"name": "Someone", "side": "victim"}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")
    assert alice.post(url, {"name": "Someone"}, format="json").json()["side"] == ""


def test_a_woman_who_took_part_only_in_her_side_s_room_counts_for_the_hearing(shuttle):
    """Shuttle mediation often meets a family's women only in their side's caucus: the hearing's `session_ended`
    says a woman took part, and spoke, though she never entered the joint room."""
    world = shuttle.room.world
    mother = invite(world, shuttle.joint, "Khan family's mother", side="first_party", gender="woman")
    first = shuttle.caucus("first_party")
    in_room = services.participant_connect(user=mother, session_id=first.pk)[0]
    assert in_room.gender == "woman"
    services.say(session_id=first.pk, participant_id=in_room.pk, body=SECRET_A)
    services.caucus_close(user=world.alice, caucus_id=first.pk)
    assert not Participant.objects.get(session=shuttle.joint, user=mother).joined_at  # Never in the joint room.

    services.session_end(user=world.alice, session_id=shuttle.joint.pk)
    data = CaseEvent.objects.get(case_id=shuttle.room.case.pk, kind="session_ended").data
    assert (data["women_took_part"], data["women_spoke"]) == (True, True)
