"""The written settlement in a browser: a sulha's sulhnama printed in Arabic and a Muslahathi compromise deed in Urdu,
right to left, with their code and QR code; then the code checked on the public page from a logged-out browser.
Screenshots (screen and print media) go to tests/e2e/artifacts/ to look at by eye."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Case, Membership, Settlement
from cases.workflows import WORKFLOWS
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NAMES = ["Abu Salim family", "Haddad family", "Aslam Khan", "Bashir Ahmed"]


def final_case(world, forum, *, title: str, parties: list[dict], **fields) -> Case:
    case = services.case_open(
        user=world.alice, forum=forum, title=title, dispute_type="injury", risk_level="medium",
        offence_class="compoundable", parties=parties, **fields,
    )  # fmt: skip
    workflow = WORKFLOWS[forum.kind]
    for state in workflow.states[1:]:
        if state == workflow.agreement_state:
            services.agreement_record(
                user=world.alice,
                case_id=case.pk,
                terms=[
                    {"kind": "apology", "description": "A public apology before the elders.", "amount": None,
                     "due": None},
                    {"kind": "compensation", "description": "Compensation for the injury", "amount": Decimal("150000"),
                     "currency": "PKR" if forum.kind == "muslahathi" else "JOD", "due": None},
                ],
            )  # fmt: skip
        case.refresh_from_db()
        services.case_transition(user=world.alice, case_id=case.pk, to=state, version=case.version)
        if workflow.states.index(state) > workflow.states.index(workflow.agreement_state):
            break
    case.refresh_from_db()
    return case


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / f"{name}-print.png"), full_page=True)
    page.emulate_media(media="screen")


def test_settlements_print_right_to_left_and_verify_from_a_logged_out_browser(people, live, browser):
    services.membership_grant(user=people.alice, forum=people.other, role=Membership.Role.FACILITATOR)
    sulha = final_case(
        people, people.sulha, title="Injury at the olive press",
        parties=[
            {"name": "Abu Salim family", "kind": "family", "role": "first_party"},
            {"name": "Haddad family", "kind": "family", "role": "second_party"},
        ],
    )  # fmt: skip
    deed = final_case(
        people, people.other, title="Hurt in a quarrel", fir_number="123/2026", referral_source="PS Saddar",
        parties=[
            {"name": "Aslam Khan", "kind": "person", "role": "first_party"},
            {"name": "Bashir Ahmed", "kind": "person", "role": "second_party"},
        ],
    )  # fmt: skip
    codes = {case.pk: Settlement.objects.get(agreement__case=case).code for case in (sulha, deed)}

    staff = browser.new_context(viewport={"width": 900, "height": 1200})
    page = staff.new_page()
    log_in(page, live.url, "alice")
    for case, language, name in ((sulha, "ar", "settlement-sulha-ar"), (deed, "ur", "settlement-muslahathi-ur")):
        page.goto(f"{live.url}/cases/{case.pk}/settlement/")
        html = page.locator("html")
        expect(html).to_have_attribute("dir", "rtl")
        expect(html).to_have_attribute("lang", language)
        code = codes[case.pk]
        expect(page.locator("#settlement-code")).to_have_text(f"{code[:5]}-{code[5:]}")
        expect(page.locator("#settlement-verify svg")).to_be_visible()
        expect(page.locator(".signature-box")).to_have_count(2)
        # The document's fonts are loaded (no boxes for Arabic letters).
        assert page.evaluate("document.fonts.ready.then(() => document.fonts.status)") == "loaded"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shoot(page, name)
    expect(page.locator("#crpc-345")).to_be_visible()
    staff.close()

    # Whoever holds the paper: no account, a phone, the QR code's address.
    stranger = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = stranger.new_page()
    page.goto(f"{live.url}/verify/{codes[sulha.pk]}/")
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-genuine", "true")
    expect(result).to_contain_text("Irbid Sulha")
    text = page.locator("main").inner_text()
    for name in NAMES:
        assert name not in text
    shoot(page, "settlement-verify-genuine")

    # Typed by hand, in lower case with a space: the same answer.
    page.goto(f"{live.url}/verify/")
    code = codes[deed.pk]
    page.fill("#verify-code", f"{code[:5].lower()} {code[5:].lower()}")
    with page.expect_navigation():
        page.click("#verify-form button[type=submit]")
    expect(page.locator("#verify-result")).to_have_attribute("data-genuine", "true")
    expect(page.locator("#verify-result")).to_contain_text("Elsewhere Committee")

    # A code no settlement has.
    response = page.goto(f"{live.url}/verify/ZZZZZ-ZZZZZ/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("#verify-result")).to_have_attribute("data-genuine", "false")
    stranger.close()
