"""A breach forfeiting a deposit, from a phone (issue 19): the facilitator records the machalgha on the case page,
a monitor records a breach, and the facilitator declares the deposit forfeited with a reason."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from cases import services
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Yousaf family", "kind": "family", "role": "second_party"},
]


@pytest.fixture
def decided(people):
    """A jirga case in `decision`, its agreement final, built through the services before the browser starts."""
    alice = people.alice
    case = services.case_open(
        user=alice, forum=people.jirga, title="Water channel", dispute_type="water", risk_level="medium",
        offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip
    for state in ("mandate", "hearings"):
        case.refresh_from_db()
        services.case_transition(user=alice, case_id=case.pk, to=state, version=case.version)
    services.agreement_record(
        user=alice, case_id=case.pk, terms=[{"kind": "truce", "description": "A one-year truce between the families."}]
    )
    for state in ("legality_review", "decision"):
        case.refresh_from_db()
        services.case_transition(user=alice, case_id=case.pk, to=state, version=case.version)
    return case


def test_a_breach_forfeits_a_deposit(people, decided, live, phone):
    case = decided
    page = phone.new_page()
    log_in(page, live.url, "alice")
    page.goto(f"{live.url}/cases/{case.pk}/")

    section = page.locator("#guarantees")
    section.locator("summary", has_text="Record a deposit").click()
    form = section.locator(f"form[action='/cases/{case.pk}/guarantees/deposits/']")
    form.locator("[name=kind]").select_option("money")
    form.locator("[name=amount]").fill("50000")
    form.locator("[name=currency]").fill("PKR")
    form.locator("[name=held_by]").fill("Malik Gul Khan")
    form.locator("[name=deposited_by]").select_option("second_party")
    form.locator("[name=received_at]").fill("2026-11-02")
    form.locator("button[type=submit]").click()
    deposit = page.locator("#guarantees li.deposit")
    expect(deposit).to_contain_text("50,000")
    expect(deposit).to_contain_text("Held")
    expect(deposit.locator("form[action$='/forfeit/']")).to_have_count(0)  # No breach yet.

    # A monitor's breached check (the field, offline or not) puts the breach on the timeline.
    term = case.agreement.terms.get()
    services.compliance_record(
        user=people.bob, case_id=case.pk, term_id=term.pk, status="breached", idempotency_key=uuid.uuid4()
    )
    page.reload()
    deposit = page.locator("#guarantees li.deposit")
    deposit.locator("[name=reason]").fill("The second family broke the truce.")
    deposit.locator("form[action$='/forfeit/'] button[type=submit]").click()
    expect(page.locator("#guarantees li.deposit")).to_contain_text("Forfeited")
    expect(page.locator("#guarantees li.deposit")).to_contain_text("The second family broke the truce.")
    expect(page.locator(".timeline")).not_to_contain_text("Malik Gul Khan")
    assert fits_the_screen(page)
    shot(page, "guarantees-forfeited")
