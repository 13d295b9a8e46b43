"""Asking a legal reviewer from the room: a proposal the screening refuses may be sent again with `ask_review`, as
a term through the API may (tests/cases/test_screening_ask_review.py). It is then made, marked as refused and held;
the term it becomes stays held (not refused on its way into the draft), and so does the proposal carried to another
room. Words a reviewer has already found prohibited cannot be sent to review again. Through config.asgi with the
settings' channel layer (Redis under CI)."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from cases import selectors as case_selectors
from cases.models import CaseEvent, ScreeningExample, Term
from cases.screening import text_key
from deliberation import services
from deliberation.models import Proposal, SessionEvent
from tests.deliberation.conftest import connect, invite

pytestmark = [pytest.mark.django_db(transaction=True)]

db = database_sync_to_async
SWARA = "The Gul family gives a girl in badal to settle it."
PRACTICE = "woman-given-in-settlement"


def timeline(case, kind: str) -> list[dict]:
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("seq").values_list("data", flat=True))


async def test_a_refused_proposal_says_a_reviewer_may_be_asked(room):
    alice = await connect(room, room.world.alice)
    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-1"})
    error = await alice.error()
    assert error["code"] == "prohibited_term"
    assert error["client_id"] == "p-1"
    assert error["practice"] == PRACTICE
    assert error["may_ask_review"] is True
    await alice.close()


async def test_a_refused_proposal_sent_to_a_reviewer_is_made_held_and_stays_held_as_a_term(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-1"})
    assert (await alice.error())["may_ask_review"] is True

    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-2", "ask_review": True})
    proposed = await guest.next("proposed")
    assert proposed["data"]["screening"] == {"verdict": "review", "practice": PRACTICE, "refused": True}
    proposal = proposed["data"]["proposal"]
    for voter in (guest, elder):
        await voter.send({"type": "respond", "proposal": proposal, "stance": "agree"})
    decided = await alice.next("proposal_decided")
    assert decided["data"]["outcome"] == "accepted"
    assert decided["data"]["screening"] == {"verdict": "review", "practice": PRACTICE, "refused": True}

    term = await db(lambda: Term.objects.get(agreement__case=room.case))()
    assert (term.screening_verdict, term.screening_refused, term.description) == ("review", True, SWARA)
    # The first attempt was refused and stays on the timeline; the second waits for the reviewer.
    assert len(await db(timeline)(room.case, "prohibited_term_blocked")) == 1
    assert (await db(timeline)(room.case, "agreement_recorded"))[-1]["refused_then_held"] == [1]
    reviews = await db(lambda: [t.pk for t in case_selectors.screening_reviews_for_user(user=room.world.carol)])()
    assert reviews == [term.pk]
    for client in (alice, guest, elder):
        await client.close()


async def test_ask_review_must_be_true_or_false(room):
    alice = await connect(room, room.world.alice)
    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-1", "ask_review": "yes"})
    error = await alice.error()
    assert error["code"] == "malformed"
    assert await db(lambda: Proposal.objects.filter(session=room.session).count())() == 0
    assert await db(timeline)(room.case, "prohibited_term_blocked") == []
    await alice.send({"type": "ping"})  # The socket stays open.
    assert (await alice.receive())["type"] == "pong"
    await alice.close()


async def test_words_a_reviewer_found_prohibited_cannot_be_sent_to_review_again(room):
    @db
    def found_prohibited():
        ScreeningExample.objects.create(
            text=SWARA, text_key=text_key(SWARA), prohibited=True, practice=PRACTICE, decided_by=room.world.carol
        )

    await found_prohibited()
    alice = await connect(room, room.world.alice)
    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-1", "ask_review": True})
    error = await alice.error()
    assert error["code"] == "prohibited_term"
    assert "may_ask_review" not in error
    assert await db(lambda: SessionEvent.objects.filter(session=room.session, kind="proposed").count())() == 0
    await alice.close()


async def test_a_proposal_sent_to_a_reviewer_is_carried_held(room):
    """Carried from a side room to the joint room, a refused-then-held proposal is held there too, not refused."""
    world = room.world

    @db
    def side_room():
        khan = invite(world, room.session, "Khan family's representative", side="first_party")
        return services.caucus_open(user=world.alice, session_id=room.session.pk, side="first_party"), khan

    first, khan = await side_room()
    alice_first = await connect(room, world.alice, session=first)
    alice_joint = await connect(room, world.alice)
    await alice_first.send({"type": "propose", "text": SWARA, "client_id": "p-1", "ask_review": True})
    proposal = (await alice_first.next("proposed"))["data"]["proposal"]
    await alice_first.send({"type": "carry", "proposal": proposal, "to": room.session.pk, "client_id": "c-1"})
    await alice_first.next("carried")
    arrived = await alice_joint.next("proposed")
    assert arrived["data"]["screening"] == {"verdict": "review", "practice": PRACTICE, "refused": True}
    assert await db(timeline)(room.case, "prohibited_term_blocked") == []
    for client in (alice_first, alice_joint):
        await client.close()


async def test_the_facilitators_reason_goes_to_the_reviewer_not_to_the_room(room):
    alice = await connect(room, room.world.alice)
    guest = await connect(room, room.guest)
    elder = await connect(room, room.elder)
    reason = "The families agreed this marriage a year ago, with the girl's and her mother's consent."
    await alice.send({"type": "propose", "text": SWARA, "client_id": "p-1", "ask_review": True,
                      "ask_review_reason": reason})  # fmt: skip
    proposed = await guest.next("proposed")
    assert "consent" not in json.dumps(proposed)  # The parties do not read the facilitator's note to the reviewer.
    for voter in (guest, elder):
        await voter.send({"type": "respond", "proposal": proposed["data"]["proposal"], "stance": "agree"})
    await alice.next("proposal_decided")
    term = await db(lambda: Term.objects.get(agreement__case=room.case))()
    assert (term.screening_refused, term.review_reason) == (True, reason)
    for bad in ("x" * 501, 7, ["why"]):
        await alice.send({"type": "propose", "text": SWARA, "client_id": f"p-{bad!r}"[:40], "ask_review": True,
                          "ask_review_reason": bad})  # fmt: skip
        assert (await alice.error())["code"] == "malformed"
    assert await db(lambda: Proposal.objects.filter(session=room.session).count())() == 1
    for client in (alice, guest, elder):
        await client.close()
