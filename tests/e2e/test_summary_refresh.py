"""An administrator computes the regulator's summary from the dashboard (issue 18, item 5): the button queues it
through the API, a progress bar follows the task, and the page comes back with the summary's time. The server runs
in the embedded mode (no REDIS_URL: Celery runs the task at once), as `make run` does on a new machine."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases import services
from tests.conftest import db_url_for_subprocess, start_server, stop_server
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def embedded(transactional_db):
    # No safety lag: the case below is seconds old, and nothing else writes (reports/patterns.py says why it waits).
    server = start_server({"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": "", "PATTERNS_SAFETY_LAG": "0"})
    yield server
    stop_server(server)


@pytest.fixture
def opened(people):
    return services.case_open(
        user=people.alice, forum=people.jirga, title="Water channel", dispute_type="water", risk_level="medium",
        offence_class="compoundable", parties=[
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
        ],
    )  # fmt: skip


def test_an_administrator_computes_the_summary_with_a_progress_bar(people, opened, embedded, phone):
    page = phone.new_page()
    log_in(page, embedded.url, "carol")
    page.goto(f"{embedded.url}/reports/patterns/")
    expect(page.locator(".report-generated")).to_have_text("The summary has not been computed yet.")
    box = page.locator("#summary-refresh")
    expect(box).to_be_visible()
    assert fits_the_screen(page)
    shot(page, "patterns-refresh-before")

    # The embedded mode computes at once; on a worker the first answers say how far it is. The first answer is
    # made to say 40% so that the bar is seen; the next comes from the server.
    answers: list[str] = []

    def progress_first(route) -> None:
        answers.append(route.request.url)
        if len(answers) == 1:
            route.fulfill(json={"state": "PROGRESS", "progress": 0.4})
        else:
            route.fallback()

    page.route("**/api/reports/tasks/**", progress_first)
    page.click("#refresh-summary")
    expect(page.locator("#refresh-status")).to_have_text("Computing the summary: 40% done")
    expect(page.locator("#refresh-progress")).to_have_attribute("value", "40")
    expect(page.locator("#refresh-summary")).to_be_disabled()
    shot(page, "patterns-refresh-progress")
    # Once the task is done, the page shows itself again with the new summary.
    expect(page.locator(".report-generated")).to_contain_text("Summary computed:", timeout=15000)
    assert len(answers) >= 2
    expect(page.locator("#refresh-summary")).to_be_enabled()
    assert fits_the_screen(page)
    shot(page, "patterns-refresh-after")


def test_a_regulator_has_no_refresh_button(people, embedded, phone):
    page = phone.new_page()
    log_in(page, embedded.url, "dave")
    page.goto(f"{embedded.url}/reports/patterns/")
    expect(page.locator("h1")).to_have_text("Patterns across the forums")
    expect(page.locator("#summary-refresh")).to_have_count(0)
