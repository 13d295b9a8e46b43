"""A regulator's month (shared/DOMAIN.md, journey 4) in Chromium: the charts draw, an early-warning alert
reads in plain words, the CSV holds the trend table's cells, the page reads right to left in Urdu on a
375-pixel phone without scrolling sideways, and the printed report shows the tables, not the controls."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, shot
from tests.reports.pattern_data import fill_month, make_districts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("cases", "escalations", "harms", "compliance")
CHARTS_DRAWN = """() => window.Chart && [...document.querySelectorAll('.chart-box canvas')].every(
    (canvas) => Chart.getChart(canvas) && canvas.width > 0 && canvas.height > 0)"""


@pytest.fixture
def month(people):
    """The summary tables filled before the browser starts (see `people`)."""
    fill_month(make_districts())
    return people


def watch_errors(page) -> list[str]:
    """The page's script errors and failed loads, but the browser's own asking for /favicon.ico (the site
    has none)."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_regulator_reads_the_month_and_takes_the_csv(month, live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, live.url, "dave")
    with page.expect_navigation():
        page.click("#regulator-patterns")
    expect(page.locator("h1")).to_have_text("Patterns across the forums")

    # The charts: Chart.js (from this server) drew one line chart per group of indicators.
    page.wait_for_function(CHARTS_DRAWN)
    for chart in CHARTS:
        expect(page.locator(f"canvas#chart-{chart}")).to_be_visible()
    assert page.evaluate("Chart.getChart(document.getElementById('chart-cases')).data.datasets.length") == 3
    # The early warning, in plain words, at the top.
    expect(page.locator(".warning-alert")).to_have_count(1)
    expect(page.locator(".warning-alert")).to_contain_text("Swat: breaches 9 this week, 125% above the 4-week average")
    # The pyramids: Bannu's is inverted, hidden counts are hatched rows without a number.
    expect(page.locator(".district-pyramid.inverted[data-region='bannu']")).to_be_visible()
    expect(page.locator(".district-pyramid[data-region='dir'] .pyr-row.is-hidden[data-level='1']")).to_be_visible()
    base = page.locator(".district-pyramid[data-region='swat'] .pyr-row[data-level='1']").bounding_box()
    top = page.locator(".district-pyramid[data-region='swat'] .pyr-row[data-level='6']").bounding_box()
    assert base["y"] > top["y"]  # The base is drawn at the bottom.
    shot(page, "patterns-desktop")

    # A district chosen: the page, its figures and its exports follow.
    page.select_option("#id_region", "bannu")
    with page.expect_navigation():
        page.click("#pattern-filters button[type=submit]")
    assert "region=bannu" in page.url
    page.wait_for_function(CHARTS_DRAWN)
    expect(page.locator(".district-pyramid")).to_have_count(1)
    page.locator("#trend-cases summary").click()
    rows = page.locator("#trend-table-cases tbody tr")
    expect(rows.first).to_be_visible()
    with page.expect_download() as download:
        page.click("#export-csv")
    with open(download.value.path(), encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == rows.count() == 6
    assert {line["region"] for line in lines} == {"bannu"}

    # The printed report: no filters, no buttons, every table open.
    expect(page.locator("#print-report")).to_be_visible()  # Shown by the script.
    page.emulate_media(media="print")
    expect(page.locator("#pattern-filters")).to_be_hidden()
    expect(page.locator("#print-report")).to_be_hidden()
    expect(page.locator("#exports")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    for table in ("#trend-table-cases", "#trend-table-compliance", "#pyramid-table", "#warnings-table"):
        expect(page.locator(table)).to_be_visible()
    shot(page, "patterns-print")
    page.emulate_media(media="screen")
    expect(page.locator("#pattern-filters")).to_be_visible()
    assert errors == []
    context.close()


def test_the_report_reads_right_to_left_in_urdu_on_a_phone(month, live, browser):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.add_cookies([{"name": "django_language", "value": "ur", "url": live.url}])
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, live.url, "dave")
    page.goto(f"{live.url}/reports/patterns/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ur"
    page.wait_for_function(CHARTS_DRAWN)
    expect(page.locator(".warning-alert")).to_have_count(1)
    # Charts are as wide as the phone, and time runs from the right.
    for chart in CHARTS:
        box = page.locator(f"#chart-{chart}").bounding_box()
        assert box["x"] > 0
        assert box["x"] + box["width"] <= 375
    assert page.evaluate("Chart.getChart(document.getElementById('chart-cases')).options.scales.x.reverse") is True
    assert no_sideways_scroll(page)
    # With every table open, wide tables scroll inside their box, never the page.
    for summary in page.locator("details summary").all():
        summary.click()
    expect(page.locator("#pyramid-table")).to_be_visible()
    assert no_sideways_scroll(page)
    # The pyramid's labels start on the right.
    label = page.locator(".district-pyramid[data-region='swat'] .pyr-row[data-level='1'] .pyr-label").bounding_box()
    count = page.locator(".district-pyramid[data-region='swat'] .pyr-row[data-level='1'] .pyr-count").bounding_box()
    assert label["x"] > count["x"]
    shot(page, "patterns-ur-phone")
    page.emulate_media(media="print")
    expect(page.locator("#pattern-filters")).to_be_hidden()
    expect(page.locator("#trend-table-cases")).to_be_visible()
    assert errors == []
    context.close()
