"""The case page on a 390 px phone (issue 18, item 4): the parties and the next move in the first screens, the
sections folded until asked, the instalments' table readable with its headers, a confirmation before the agreement
becomes final; and a proposal in the room of a case whose agreement is final says what happened and what to do."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services
from deliberation import services as session_services
from tests.cases.final_cases import case_with_final_agreement, monitored_terms
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREEN = 844  # The phone's viewport height (tests/e2e/conftest.py `phone`).
# Before the page folded, this case's page was 8,194 px tall on the phone (the draft editor open, the parties at
# the bottom); what it may be now, with room for longer translations.
MAX_HEIGHT = 3200


@pytest.fixture
def in_review(people):
    """A jirga case in legality review with a draft of three terms (25,000 PKR in three instalments), made
    before the browser starts."""
    case = services.case_open(
        user=people.alice, forum=people.jirga, title="Water dispute over the irrigation channel",
        dispute_type="water", risk_level="medium", offence_class="compoundable",
        parties=[
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
            {"name": "Malik Gul", "kind": "person", "role": "guarantor"},
        ],
    )  # fmt: skip
    for to in ("mandate", "hearings"):
        case.refresh_from_db()
        services.case_transition(user=people.alice, case_id=case.pk, to=to, version=case.version)
    services.agreement_record(user=people.alice, case_id=case.pk, terms=monitored_terms())
    case.refresh_from_db()
    services.case_transition(user=people.alice, case_id=case.pk, to="legality_review", version=case.version)
    return case


def page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def bottom(locator) -> float:
    box = locator.bounding_box()
    return box["y"] + box["height"]


def test_the_case_page_fits_a_phone_and_asks_before_the_agreement_becomes_final(people, in_review, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")
    page.goto(f"{live.url}/cases/{in_review.pk}/")

    # Who the case is between is in the first screen, and the next move right after it.
    parties = page.locator("#parties")
    expect(parties).to_contain_text("Malik Gul")
    assert bottom(parties) <= SCREEN, bottom(parties)
    decide = page.locator("form.move[data-to=decision]")
    assert decide.bounding_box()["y"] < 1.5 * SCREEN
    # The sections fold: the draft editor, the ladder and the timeline wait until asked.
    expect(page.locator("#agreement-terms > li")).to_have_count(3)
    expect(page.locator("#agreement-form")).to_be_hidden()
    expect(page.locator("#ladder-rungs")).to_be_hidden()
    expect(page.locator("#timeline .event").first).to_be_hidden()
    height = page_height(page)
    assert height <= MAX_HEIGHT, height
    assert fits_the_screen(page)
    shot(page, "case-phone-folded")

    # Asked, the editor opens; the timeline's summary says how much it holds.
    page.locator("#agreement-editor > summary").click()
    expect(page.locator("#id_terms-0-description")).to_be_visible()
    expect(page.locator("#timeline > summary")).to_contain_text("events")
    page.locator("#timeline > summary").click()
    expect(page.locator("#timeline .event").first).to_be_visible()

    # Making the agreement final asks first: without the box ticked nothing moves.
    expect(decide).to_contain_text("This makes the agreement final. Its 3 terms can no longer be changed")
    confirm = decide.locator("[name=confirm_final]")
    expect(confirm).to_have_attribute("required", "")
    decide.locator("button[type=submit]").click()
    assert confirm.evaluate("el => el.validity.valueMissing")
    expect(page.locator("#case-state")).to_have_text("Legality review")
    expect(page.locator(".agreement-status")).to_contain_text("Draft")
    decide.scroll_into_view_if_needed()
    shot(page, "case-phone-confirm")
    confirm.check()
    decide.locator("button[type=submit]").click()
    expect(page.locator("#case-state")).to_have_text("Decision")
    expect(page.locator(".agreement-status")).to_contain_text("Final")
    expect(page.locator("#agreement-form")).to_have_count(0)
    # The folded timeline stayed open across the swap, as it was left.
    expect(page.locator("#timeline")).to_have_attribute("open", "")
    expect(page.locator("#timeline")).to_contain_text("The agreement became final (revision 1).")

    # The instalments keep their headers when the table stacks on the phone: each cell names its column.
    page.reload()
    table = page.locator("table.instalments").first
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("thead")).to_be_hidden()
    cell = table.locator("tbody tr").first.locator("td").nth(1)
    label = cell.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Due"', label
    assert cell.bounding_box()["width"] > 300  # Stacked: a row per cell, the width of the card.
    assert fits_the_screen(page)
    table.scroll_into_view_if_needed()
    shot(page, "case-phone-instalments")


def test_without_script_the_confirmation_is_still_asked(people, in_review, live, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    try:
        page = context.new_page()
        log_in(page, live.url, "alice")
        page.goto(f"{live.url}/cases/{in_review.pk}/")
        decide = page.locator("form.move[data-to=decision]")
        # A browser that skips the form's own check (the box is `required`) gets the page back with the refusal.
        decide.evaluate("form => form.noValidate = true")
        with page.expect_navigation():
            decide.locator("button[type=submit]").click()
        expect(page.locator("form.move[data-to=decision] .alert")).to_contain_text("tick the box to confirm")
        expect(page.locator("#case-state")).to_have_text("Legality review")
        page.locator("form.move[data-to=decision] [name=confirm_final]").check()
        with page.expect_navigation():
            page.locator("form.move[data-to=decision] button[type=submit]").click()
        expect(page.locator("#case-state")).to_have_text("Decision")
    finally:
        context.close()


@pytest.fixture
def final_session(people):
    """A live session of a case whose agreement is already final."""
    case = case_with_final_agreement(user=people.alice, forum=people.jirga)
    session = session_services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=timezone.now())
    session_services.session_start(user=people.alice, session_id=session.pk)
    return session


def test_a_proposal_on_a_final_agreement_says_what_happened_and_what_to_do(people, final_session, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")
    page.goto(f"{live.url}/sessions/{final_session.pk}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    page.fill("#proposal-text", "The Khan family also repairs the mosque's wall.")
    page.click("#propose-button")
    error = page.locator("#room-error")
    expect(error).to_have_attribute("data-code", "agreement_final")
    expect(error).to_contain_text("already final, so a proposal can no longer add a term to it")
    expect(error).to_contain_text("Say it in the session instead")
    expect(error).not_to_contain_text("Something went wrong")
    assert fits_the_screen(page)
    shot(page, "room-agreement-final")
