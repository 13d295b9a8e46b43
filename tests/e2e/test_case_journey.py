"""A facilitator runs a water feud through a jirga from a phone: open, hear, agree, refuse a swara, close."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases import services
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SWARA = "The offender's family gives a girl in marriage to the victim's family (swara)."


def move_to(page, to: str, shows: str, **inputs: str) -> None:
    """Press the button of one move and wait for the swapped page to show the new state."""
    form = page.locator(f"form.move[data-to={to}]")
    if form.locator("xpath=ancestor::details").count():
        details = page.locator("details.other-moves")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
    for name, value in inputs.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    expect(page.locator("#case-state")).to_have_text(shows)


def fill_term(page, index: int, kind: str, description: str, amount: str = "", currency: str = "") -> None:
    editor = page.locator("#agreement-editor")
    if editor.get_attribute("open") is None:  # The editor is folded until asked.
        editor.locator("summary").click()
    page.select_option(f"#id_terms-{index}-kind", kind)
    page.fill(f"#id_terms-{index}-description", description)
    if amount:
        page.fill(f"#id_terms-{index}-amount", amount)
    if currency:
        page.fill(f"#id_terms-{index}-currency", currency)


def test_a_facilitator_runs_a_jirga_case_from_a_phone(people, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")

    # From the top nav to the list, and from there to the new-case form.
    with page.expect_navigation():
        page.click(".topnav >> text=Cases")
    with page.expect_navigation():
        page.click("text=New case")
    page.select_option("#id_forum", str(people.jirga.pk))
    page.fill("#id_title", "Water dispute over the irrigation channel")
    page.fill("#id_summary", "The upper family diverted the channel in spring; the lower fields dried out.")
    page.select_option("#id_dispute_type", "water")
    page.select_option("#id_risk_level", "medium")
    page.select_option("#id_offence_class", "compoundable")
    page.fill("#id_parties-0-name", "Khan family")
    page.fill("#id_parties-1-name", "Yousaf family")
    page.click("button[data-add-row=parties]")
    page.fill("#id_parties-2-name", "Malik Gul")
    page.select_option("#id_parties-2-kind", "person")
    page.select_option("#id_parties-2-role", "guarantor")
    assert fits_the_screen(page)
    shot(page, "case-new")
    with page.expect_navigation():
        page.click("#case-form button[type=submit].primary")

    assert "/cases/" in page.url
    expect(page.locator("#case-state")).to_have_text("Intake")
    expect(page.locator("#parties")).to_contain_text("Malik Gul")
    assert fits_the_screen(page)

    move_to(page, "mandate", "Mandate")
    move_to(page, "hearings", "Hearings")
    # The decision state waits for an agreement, and says so.
    expect(page.locator("form.move[data-to=legality_review] button")).to_be_disabled()

    # The agreement: an apology, 25,000 PKR and a truce, entered row by row.
    fill_term(page, 0, "apology", "The Yousaf family apologises publicly at the mosque.")
    page.click("button[data-add-row=terms]")
    fill_term(page, 1, "compensation", "Repair the channel and pay 25,000 PKR.", "25000", "PKR")
    page.click("button[data-add-row=terms]")
    fill_term(page, 2, "truce", "A one-year truce between the two families.")
    page.click("#agreement-form button[type=submit].primary")
    expect(page.locator("#agreement-terms li")).to_have_count(3)
    expect(page.locator(".notice")).to_have_text("Agreement recorded (revision 1).")
    expect(page.locator("#agreement-terms")).to_contain_text("25,000 PKR")

    # Someone asks for a girl to be given in marriage: refused, next to the term, naming the law. It goes
    # in the blank row the editor keeps below the draft's terms.
    expect(page.locator("#id_terms-3-description")).to_have_value("")
    fill_term(page, 3, "other", SWARA)
    page.click("#agreement-form button[type=submit].primary")
    refused = page.locator(".term-row.refused")
    expect(refused).to_have_count(1)
    expect(refused.locator(".law")).to_contain_text("310-A")
    expect(page.locator("#agreement-error")).to_contain_text("Nothing was recorded")
    assert page.input_value("#id_terms-3-description") == SWARA  # What was typed stays to be corrected.
    expect(page.locator("#agreement-terms li")).to_have_count(3)  # The draft did not change.
    expect(page.locator("#timeline")).to_contain_text("A prohibited term was refused")
    assert fits_the_screen(page)
    refused.scroll_into_view_if_needed()
    shot(page, "case-swara-refused")

    move_to(page, "legality_review", "Legality review")
    # The agreement becomes final only once the facilitator confirms the parties heard the terms.
    page.check("form.move[data-to=decision] [name=confirm_final]")
    move_to(page, "decision", "Decision")
    expect(page.locator(".agreement-status")).to_contain_text("Final")
    expect(page.locator("#agreement-form")).to_have_count(0)
    move_to(page, "implementation", "Implementation")
    move_to(page, "closed", "Closed", outcome="partly_resolved", reason="The truce holds; half the money is paid.")

    # The page as stored, not only as swapped: closed, with every move on the timeline.
    page.reload()
    expect(page.locator("#case-state")).to_have_text("Closed")
    expect(page.locator("#case-outcome")).to_have_text("Partly resolved")
    expect(page.locator("#moves")).to_have_count(0)
    page.locator("#timeline > summary").click()  # The timeline is folded until asked.
    timeline = page.locator("#timeline").inner_text()
    for step in (
        "Moved from Intake to Mandate.",
        "Moved from Mandate to Hearings.",
        "Agreement recorded (revision 1) with 3 terms.",
        "A prohibited term was refused",
        "Moved from Hearings to Legality review.",
        "Moved from Legality review to Decision.",
        "The agreement became final (revision 1).",
        "Moved from Decision to Implementation.",
        "Moved from Implementation to Closed — reason: The truce holds; half the money is paid. "
        "Outcome: Partly resolved.",
    ):
        assert step in timeline, step
    assert fits_the_screen(page)
    shot(page, "case-closed")

    # The list finds it with the search box, swapped in place by HTMX.
    with page.expect_navigation():
        page.click(".topnav >> text=Cases")
    expect(page.locator("#case-results .case-row")).to_have_count(1)
    page.fill("input[name=q]", "goats")
    expect(page.locator("#case-results")).to_contain_text("No cases match.")
    page.fill("input[name=q]", "irrigation")
    expect(page.locator("#case-results .case-row")).to_contain_text("Closed")
    page.wait_for_url("**/cases/?*q=irrigation*")  # The filter is in the address, to share or reload.
    assert fits_the_screen(page)
    shot(page, "case-list")


@pytest.fixture
def heard_case(people):
    """A jirga case in hearings with a draft agreement, made before the browser starts."""
    case = services.case_open(
        user=people.alice,
        forum=people.jirga,
        title="نزاع على قناة الري",
        dispute_type="water",
        risk_level="medium",
        offence_class="compoundable",
        parties=[
            {"name": "آل خان", "kind": "family", "role": "first_party"},
            {"name": "آل يوسف", "kind": "family", "role": "second_party"},
        ],
    )
    for to in ("mandate", "hearings"):
        case.refresh_from_db()
        services.case_transition(user=people.alice, case_id=case.pk, to=to, version=case.version)
    services.agreement_record(
        user=people.alice,
        case_id=case.pk,
        terms=[
            {
                "kind": "compensation",
                "description": "إصلاح القناة ودفع ٢٥٠٠٠ روبية",
                "amount": "25000",
                "currency": "PKR",
                "due": None,
            },
        ],
    )
    return case


def test_the_case_pages_read_right_to_left_on_a_phone(people, heard_case, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")
    with page.expect_navigation():
        page.select_option("#language", "ar")
    assert page.get_attribute("html", "dir") == "rtl"

    page.goto(f"{live.url}/cases/new/")
    assert fits_the_screen(page)
    # A party's legend starts at the right edge.
    assert page.locator(".party-row legend").first.bounding_box()["x"] > 390 / 2
    shot(page, "case-new-ar")

    page.goto(f"{live.url}/cases/{heard_case.pk}/")
    expect(page.locator("#case-state")).to_be_visible()
    assert fits_the_screen(page)
    # The first fact (the forum) sits in the right-hand column, and the timeline's line on the right.
    assert page.locator(".facts > div").first.bounding_box()["x"] > 390 / 2
    borders = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('.timeline'));"
        " return [s.borderRightWidth, s.borderLeftWidth]; })()"
    )
    assert borders == ["2px", "0px"]
    shot(page, "case-page-ar")
