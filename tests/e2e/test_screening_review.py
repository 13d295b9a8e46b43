"""A held term and its legal review, in real browsers: the facilitator's term that may describe a prohibited
practice goes to review, the agreement cannot become final meanwhile, the reviewer rules it prohibited, the
term leaves the draft and the timeline shows both; a lawful badal-e-sulh paid in money passes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Membership
from tests.e2e.conftest import fits_the_screen, give_real_password, log_in, shot
from tests.e2e.test_case_journey import fill_term, move_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Named alone, badal-e-sulh may be a girl given in settlement or the lawful compounding sum of PPC s.310: a
# reviewer decides. With an amount it is money, and passes.
AMBIGUOUS = "Badal-e-sulh between the two families will be settled by the elders after Eid."
MONEY = "Badal-e-sulh of 500,000 PKR paid by the Yousaf family in two instalments."


@pytest.fixture
def grace(people):
    from tests.factories import UserFactory

    grace = UserFactory(username="grace")
    give_real_password(grace)
    services.membership_grant(user=grace, forum=people.jirga, role=Membership.Role.LEGAL_REVIEWER)
    return grace


@pytest.fixture
def heard(people):
    case = services.case_open(
        user=people.alice,
        forum=people.jirga,
        title="Water dispute over the irrigation channel",
        dispute_type="water",
        risk_level="medium",
        offence_class="compoundable",
        parties=[
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
        ],
    )
    for to in ("mandate", "hearings"):
        case.refresh_from_db()
        services.case_transition(user=people.alice, case_id=case.pk, to=to, version=case.version)
    return case


def test_a_held_term_is_reviewed_and_leaves_the_draft(people, grace, heard, live, browser, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")
    page.goto(f"{live.url}/cases/{heard.pk}/")
    fill_term(page, 0, "apology", "The Yousaf family apologises publicly at the mosque.")
    page.click("button[data-add-row=terms]")
    fill_term(page, 1, "compensation", MONEY, "500000", "PKR")
    page.click("button[data-add-row=terms]")
    fill_term(page, 2, "other", AMBIGUOUS)
    page.click("#agreement-form button[type=submit].primary")
    expect(page.locator("#agreement-terms > li")).to_have_count(3)
    held = page.locator("#agreement-terms .screening-review")
    expect(held).to_have_count(1)
    expect(held).to_contain_text("Held for legal review")
    expect(page.locator("#agreement-terms > li").nth(1).locator(".screening")).to_have_count(0)  # Money passes.
    assert fits_the_screen(page)
    shot(page, "screening-held")

    # Into the legality review; the decision, which makes the agreement final, waits for the reviewer.
    move_to(page, "legality_review", "Legality review")
    expect(page.locator("form.move[data-to=decision]")).to_contain_text("legal reviewer")
    expect(page.locator("form.move[data-to=decision] button[type=submit]")).to_be_disabled()

    # The reviewer, on another device, finds the term and rules it prohibited.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(desk, live.url, "grace")
    with desk.expect_navigation():
        desk.click(".topnav >> text=Legal review")
    item = desk.locator(".review-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(AMBIGUOUS)
    expect(item).to_contain_text("310-A")  # The forum's country's law (Pakistan), with the standard.
    item.locator("input[value=prohibited]").check()
    item.locator("textarea[name=note]").fill("A girl, not money: nothing in the term says otherwise.")
    with desk.expect_navigation():
        item.locator("button[type=submit]").click()
    expect(desk.locator(".messages")).to_contain_text("left the draft")
    expect(desk.locator("#review-empty")).to_be_visible()
    shot(desk, "screening-reviewed")

    # The facilitator sees the draft without it, both events on the timeline, and the decision possible.
    page.reload()
    expect(page.locator("#agreement-terms > li")).to_have_count(2)
    expect(page.locator("#agreement-terms")).not_to_contain_text("after Eid")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("A legal reviewer found term 3 prohibited")
    expect(timeline).to_contain_text("A prohibited term was refused")
    page.check("form.move[data-to=decision] [name=confirm_final]")
    move_to(page, "decision", "Decision")
    expect(page.locator(".agreement-status")).to_contain_text("Final")
    shot(page, "screening-final")


@pytest.fixture
def heard_live(people, heard):
    """A live session on the heard case, with a one-time link for the Yousaf family's representative."""
    from django.utils import timezone

    from deliberation import services as session_services

    session = session_services.session_schedule(user=people.alice, case_id=heard.pk, scheduled_for=timezone.now())
    session_services.session_start(user=people.alice, session_id=session.pk)
    _invitation, token = session_services.invitation_create(
        user=people.alice, session_id=session.pk, display_name="Yousaf family's representative"
    )
    return session, token


def in_the_room(live, heard_live, room, party):
    """alice in the heard case's live room on the `room` page, the Yousaf family's representative joined on `party`
    by the one-time link; the session."""
    from tests.e2e.test_session_room import is_open, join, room_url

    session, token = heard_live
    log_in(room, live.url, "alice")
    room.goto(room_url(live.url, session.pk))
    is_open(room)
    join(party, f"{live.url}/join/{token}/")
    return session


def review_queue(browser, live):
    """The terms waiting on grace's legal review page."""
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(desk, live.url, "grace")
    desk.goto(f"{live.url}/screening/reviews/")
    return desk, desk.locator(".review-item")


def test_a_held_proposal_in_a_live_session_is_reviewed_and_the_rooms_hear_it(people, grace, heard_live, live, browser):
    """The same in a live session: the facilitator's proposal is marked as held, the party agrees, the
    agreement cannot become final, the reviewer rules it prohibited, and both rooms say so at once."""
    room = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    party = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    session = in_the_room(live, heard_live, room, party)

    room.fill("#proposal-text", AMBIGUOUS)
    room.click("#propose-button")
    proposed = party.locator("#transcript li[data-kind=proposed]")
    expect(proposed).to_contain_text("Held for a legal reviewer")
    party.locator("#proposals button[data-stance=agree]").click()
    decided = room.locator("#transcript li[data-kind=proposal_decided]")
    expect(decided).to_contain_text("Held for a legal reviewer")

    # The held term keeps the agreement from becoming final: on the case page, the decision waits.
    case_page = room.context.new_page()
    case_page.goto(f"{live.url}/cases/{session.case_id}/")
    expect(case_page.locator("#agreement-terms .screening-review")).to_have_count(1)
    move_to(case_page, "legality_review", "Legality review")
    expect(case_page.locator("form.move[data-to=decision] button[type=submit]")).to_be_disabled()

    desk, item = review_queue(browser, live)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(AMBIGUOUS)
    item.locator("input[value=prohibited]").check()
    with desk.expect_navigation():
        item.locator("button[type=submit]").click()
    expect(desk.locator(".messages")).to_contain_text("left the draft")

    for page in (room, party):
        line = page.locator("#transcript li[data-kind=screening_reviewed]")
        expect(line).to_have_count(1)
        expect(line).to_contain_text("ruled this term prohibited")
        expect(line).to_contain_text("after Eid")
    shot(room, "screening-room-reviewed")


def test_a_refused_proposal_is_sent_to_a_legal_reviewer_from_the_room(people, grace, heard_live, live, browser):
    """A facilitator who believes a refused proposal is lawful asks a reviewer from the refusal itself: the proposal
    is then made, marked as refused and held in both rooms, and waits on the reviewer's page."""
    room = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    party = browser.new_context().new_page()
    in_the_room(live, heard_live, room, party)

    refused = "The Yousaf family gives a girl in marriage to the Khan family (swara)."
    room.fill("#proposal-text", refused)
    room.click("#propose-button")
    error = room.locator("#room-error")
    expect(error).to_have_attribute("data-code", "prohibited_term")
    ask = room.locator("#room-error-action")
    expect(ask).to_have_text("Ask a legal reviewer")
    assert fits_the_screen(room)
    shot(room, "screening-room-refused")
    expect(party.locator("#transcript li[data-kind=proposed]")).to_have_count(0)
    reason = "The marriage was agreed a year ago, with her consent; nothing here gives her in settlement."
    room.fill("#room-error-reason", reason)
    ask.click()
    expect(error).to_be_hidden()
    expect(room.locator("#proposal-text")).to_have_value("")
    for page in (room, party):
        proposed = page.locator("#transcript li[data-kind=proposed]")
        expect(proposed).to_have_count(1)
        expect(proposed).to_contain_text("Held for a legal reviewer")
        expect(proposed).to_contain_text("the facilitator asked a legal reviewer")
    shot(room, "screening-room-asked")

    party.locator("#proposals button[data-stance=agree]").click()
    expect(room.locator("#transcript li[data-kind=proposal_decided]")).to_contain_text("Held for a legal reviewer")
    _desk, item = review_queue(browser, live)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(refused)
    expect(item.locator(".refused-then-held")).to_contain_text("The screening refused this term")
    expect(item.locator(".review-reason")).to_contain_text(reason)
    expect(party.locator("#transcript")).not_to_contain_text("with her consent")  # For the reviewer only.
