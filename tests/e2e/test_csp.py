"""The main pages run under the Content-Security-Policy (no inline script) without a single violation, in a real
browser: login, case list, case page, the live room, the monitor's page (with its service worker), the account
page, the admin and the API docs (issue 16, item 8)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services as case_services
from deliberation import services as session_services
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]


@pytest.fixture
def live_case(people):
    """A case with a live session (made before the browser starts: see `people`)."""
    case = case_services.case_open(
        user=people.alice, forum=people.jirga, title="Water channel between the Khan and Gul families",
        dispute_type="water", risk_level="medium", offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip
    session = session_services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=timezone.now())
    session_services.session_start(user=people.alice, session_id=session.pk)
    return case, session


def watch(page) -> list[str]:
    """Every CSP violation the page reports, as console messages and as securitypolicyviolation events."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return violations


def test_the_main_pages_run_without_a_csp_violation(people, live_case, live, browser):
    case, session = live_case
    context = browser.new_context()
    page = context.new_page()
    violations = watch(page)

    page.goto(f"{live.url}/login/")
    expect(page.locator("#id_username")).to_be_visible()
    log_in(page, live.url, "alice")
    for path in ("/cases/", f"/cases/{case.pk}/", "/account/", "/account/two-factor/"):
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live.url}/sessions/{session.pk}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    # The language menu's handler moved to a file: it still switches the language.
    with page.expect_navigation():
        page.select_option("#language", "ar")
    assert page.get_attribute("html", "dir") == "rtl"
    context.close()
    assert violations == []


def test_the_monitor_admin_and_api_docs_run_without_a_csp_violation(people, live, browser):
    context = browser.new_context()
    page = context.new_page()
    violations = watch(page)
    log_in(page, live.url, "bob")
    page.goto(f"{live.url}/monitor/")
    expect(page.locator("h1")).to_have_text("Checks due")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    violations += watch(page)
    log_in(page, live.url, "carol")
    for path in ("/admin/", "/admin/cases/case/", "/admin/auth/user/add/"):
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sulh API", timeout=20000)
    context.close()
    assert violations == []
