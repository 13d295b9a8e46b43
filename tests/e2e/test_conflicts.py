"""An elder's declared tie blocking a session until both sides accept (issue 19, item 4), from a phone: the jirga's
elder who facilitates declares on the case page that he is kin to the first family; the room refuses to start the
session; another facilitator records each family's acceptance on the case page; then the session starts."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services
from cases.models import Membership
from deliberation import services as session_services
from tests.e2e.conftest import fits_the_screen, give_real_password, log_in, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Yousaf family", "kind": "family", "role": "second_party"},
]


@pytest.fixture
def scheduled(people):
    """A jirga case with a session alice will facilitate, and hamid, a second facilitator of the jirga. Built
    through the services before the browser starts."""
    hamid = UserFactory(username="hamid")
    services.membership_grant(user=hamid, forum=people.jirga, role=Membership.Role.FACILITATOR)
    give_real_password(hamid)
    case = services.case_open(
        user=people.alice, forum=people.jirga, title="Water channel", dispute_type="water", risk_level="medium",
        offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip
    session = session_services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=timezone.now())
    khan = case.case_parties.get(role="first_party").party
    return case, session, f"Khan family ({khan.pseudonym})"


def test_an_elders_declared_tie_blocks_the_session_until_both_sides_accept(people, scheduled, live, browser):
    case, session, khan = scheduled
    elder_phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    other_phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        alice = elder_phone.new_page()
        log_in(alice, live.url, "alice")
        alice.goto(f"{live.url}/cases/{case.pk}/")
        ties = alice.locator("#ties")
        expect(ties).to_contain_text("No tie declared.")

        # The elder declares that he is kin to the Khan family.
        ties.locator("summary", has_text="Declare a tie").click()
        form = ties.locator(f"form[action='/cases/{case.pk}/ties/']")
        expect(form.locator("[name=person] option:checked")).to_have_text("alice")
        form.locator("[name=party]").select_option(label=khan)
        form.locator("[name=kind]").select_option("kin")
        form.locator("[name=note]").fill("My mother is a Khan.")
        form.locator("button[type=submit]").click()
        tie = alice.locator("#ties li.tie")
        expect(tie).to_contain_text("Kin tie to")
        expect(tie).to_contain_text("Awaiting both sides")
        expect(alice.locator("#tie-blocked")).to_contain_text("until both sides accept you")
        expect(tie.locator("form.tie-accept")).to_have_count(0)  # Not his to record.
        assert fits_the_screen(alice)
        shot(alice, "tie-declared")

        # The room will not start.
        alice.goto(f"{live.url}/sessions/{session.pk}/")
        with alice.expect_navigation():
            alice.click("#start-session")
        expect(alice.locator(".messages")).to_contain_text("until both sides accept you")
        expect(alice.locator("#session-status")).to_have_attribute("data-status", "scheduled")

        # Another facilitator records each family's acceptance, told of the tie at the jirga.
        hamid = other_phone.new_page()
        log_in(hamid, live.url, "hamid")
        hamid.goto(f"{live.url}/cases/{case.pk}/")
        accept = hamid.locator("#ties li.tie form.tie-accept")
        assert fits_the_screen(hamid)
        shot(hamid, "tie-accept-form")
        accept.locator("[name=side]").select_option("first_party")
        accept.locator("[name=accepted_by]").fill("Malik Zareen Khan")
        accept.locator("button[type=submit]").click()
        expect(hamid.locator("#ties li.tie .accepted-first")).to_contain_text("Malik Zareen Khan")
        expect(hamid.locator("#ties li.tie")).to_contain_text("Awaiting both sides")

        # One side is not enough.
        alice.reload()
        with alice.expect_navigation():
            alice.click("#start-session")
        expect(alice.locator(".messages")).to_contain_text("until both sides accept you")

        accept = hamid.locator("#ties li.tie form.tie-accept")
        expect(accept.locator("[name=side] option")).to_have_count(1)  # Only the side still to accept.
        accept.locator("[name=accepted_by]").fill("Haji Yousaf")
        accept.locator("button[type=submit]").click()
        expect(hamid.locator("#ties li.tie")).to_contain_text("Accepted by both sides")
        expect(hamid.locator("#ties li.tie form.tie-accept")).to_have_count(0)
        expect(hamid.locator(".timeline")).not_to_contain_text("Malik Zareen")
        assert fits_the_screen(hamid)
        shot(hamid, "tie-accepted")

        # Now the session starts.
        alice.reload()
        with alice.expect_navigation():
            alice.click("#start-session")
        expect(alice.locator("#session-status")).to_have_attribute("data-status", "live")
        expect(alice.locator("#end-session")).to_be_visible()
    finally:
        elder_phone.close()
        other_phone.close()
