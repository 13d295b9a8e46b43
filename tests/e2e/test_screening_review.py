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
    move_to(page, "decision", "Decision")
    expect(page.locator(".agreement-status")).to_contain_text("Final")
    shot(page, "screening-final")
