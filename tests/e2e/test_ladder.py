"""The escalation ladder from a phone: a facilitator skips rungs for an imminent threat and steps the case
back down; an administrator reads the pyramid's shape; both pages read right to left in Arabic."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from cases import services
from tests.e2e.conftest import SHOTS, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Al-Khatib family", "kind": "family", "role": "first_party"},
    {"name": "Al-Masri family", "kind": "family", "role": "second_party"},
]


def _open(people, forum, risk="medium", title="Boundary dispute"):
    return services.case_open(
        user=people.alice,
        forum=forum,
        title=title,
        dispute_type="land",
        risk_level=risk,
        offence_class="compoundable",
        parties=PARTIES,
    )


@pytest.fixture
def pyramid(people):
    """An inverted pyramid, built through the services before the browser starts: one case at the base,
    two climbed to the police for an imminent threat."""
    _open(people, people.jirga)
    for number in range(2):
        case = _open(people, people.sulha, risk="imminent", title=f"Revenge threat {number + 1}")
        services.case_escalate(
            user=people.alice,
            case_id=case.pk,
            direction="up",
            to_level=5,
            reason="Threats of revenge",
            justification="Armed men gathered at the house",
            version=case.version,
        )
    return people


def section_shot(page, selector: str, name: str) -> None:
    """The whole page, and the section itself at a size one can read."""
    shot(page, name)
    if SHOTS:
        page.locator(selector).screenshot(path=os.path.join(SHOTS, f"{name}-section.png"))


def open_ladder(page) -> None:
    """The ladder folds on the case page until asked."""
    if page.locator("#ladder").get_attribute("open") is None:
        page.locator("#ladder > summary").click()


def step(page, direction: str, **inputs: str) -> None:
    open_ladder(page)
    box = page.locator(f"details.ladder-box[data-direction={direction}]")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    form = page.locator(f"#ladder-{direction}")
    for name, value in inputs.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()


def test_a_facilitator_skips_rungs_for_an_imminent_threat_and_steps_back_down(people, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")

    page.goto(f"{live.url}/cases/new/")
    page.select_option("#id_forum", str(people.sulha.pk))
    page.fill("#id_title", "Killing in the market: revenge feared")
    page.select_option("#id_dispute_type", "killing")
    page.select_option("#id_risk_level", "imminent")
    page.select_option("#id_offence_class", "compoundable")
    page.fill("#id_parties-0-name", "Al-Khatib family")
    page.fill("#id_parties-1-name", "Al-Masri family")
    with page.expect_navigation():
        page.click("#case-form button[type=submit].primary")

    expect(page.locator("#ladder .pyramid-rung.current")).to_have_attribute("data-level", "1")
    expect(page.locator("#ladder-now")).to_contain_text("Now at rung 1 (Dialogue).")

    # A skip without a justification is refused where it was asked, and what was typed stays.
    step(page, "up", to_level="4", reason="The victim's family swore revenge at the funeral")
    expect(page.locator("#ladder-up .alert")).to_contain_text("skipping rungs needs an imminent risk")
    expect(page.locator("#up-reason")).to_have_value("The victim's family swore revenge at the funeral")
    step(page, "up", justification="Armed men gathered at the Al-Masri house last night; the police confirmed it")

    expect(page.locator("#ladder .pyramid-rung.current")).to_have_attribute("data-level", "4")
    expect(page.locator(".notice")).to_have_text("Moved up to rung 4 (Guarantees).")
    moved_up = (
        "Moved up from rung 1 (Dialogue) to rung 4 (Guarantees) — reason: The victim's family swore revenge at the "
        "funeral; justification: Armed men gathered at the Al-Masri house last night; the police confirmed it"
    )
    expect(page.locator("#ladder-history")).to_contain_text(moved_up)
    expect(page.locator("#timeline")).to_contain_text(moved_up)
    expect(page.locator("#ladder-review")).to_contain_text("Review due")
    # The pyramid: the base is the widest rung and sits below the others.
    base = page.locator(".pyramid-rung[data-level='1']").bounding_box()
    top = page.locator(".pyramid-rung[data-level='6']").bounding_box()
    assert base["width"] > top["width"]
    assert base["y"] > top["y"]
    assert fits_the_screen(page)
    section_shot(page, "#ladder", "ladder-up")

    step(page, "down", to_level="1", reason="The elders' jaha secured a truce; both families came to the table")
    expect(page.locator("#ladder .pyramid-rung.current")).to_have_attribute("data-level", "1")
    expect(page.locator("#ladder-down")).to_have_count(0)  # Nothing below the base.

    # The page as stored, not only as swapped.
    page.reload()
    expect(page.locator("#ladder .pyramid-rung.current")).to_have_attribute("data-level", "1")
    expect(page.locator("#ladder-review")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text(
        "Moved down from rung 4 (Guarantees) to rung 1 (Dialogue) — reason: The elders' jaha secured a truce"
    )
    assert fits_the_screen(page)
    section_shot(page, "#ladder", "ladder-down")


def test_an_administrator_reads_the_pyramid(pyramid, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "carol")
    with page.expect_navigation():
        page.click("#administrator-statistics")
    expect(page.locator("h1")).to_have_text("Escalation statistics")
    expect(page.locator("#inverted-warning")).to_contain_text("Inverted pyramid")
    expect(page.locator(".chart-row")).to_have_count(6)
    expect(page.locator(".chart-row[data-level='5'] .chart-count")).to_have_text("2")
    expect(page.locator(".chart-row[data-level='1'] .chart-count")).to_have_text("1")
    expect(page.locator("#moves-up")).to_have_text("2")
    # Bars are centred, stacked with the base at the bottom, and as wide as their counts.
    police = page.locator(".chart-row[data-level='5'] .chart-bar").bounding_box()
    base = page.locator(".chart-row[data-level='1'] .chart-bar").bounding_box()
    track = page.locator(".chart-row[data-level='1'] .chart-track").bounding_box()
    assert base["y"] > police["y"]
    assert police["width"] > base["width"] * 1.8
    assert abs((base["x"] + base["width"] / 2) - (track["x"] + track["width"] / 2)) < 2
    assert fits_the_screen(page)
    section_shot(page, "#report-results", "statistics")

    # The filter swaps the results in place and keeps them in the address.
    page.select_option("#id_forum", str(pyramid.jirga.pk))
    page.click(".report-filters button[type=submit]")
    expect(page.locator("#inverted-warning")).to_have_count(0)
    expect(page.locator("#moves-up")).to_have_text("0")
    page.wait_for_url(f"**/reports/escalations/?*forum={pyramid.jirga.pk}*")


def test_ladder_and_statistics_read_right_to_left(pyramid, live, phone):
    case = _open(pyramid, pyramid.sulha, risk="imminent", title="تهديد بالثأر")
    services.case_escalate(user=pyramid.alice, case_id=case.pk, direction="up", reason="تهديد", version=case.version)
    page = phone.new_page()
    log_in(page, live.url, "alice")
    with page.expect_navigation():
        page.select_option("#language", "ar")
    assert page.get_attribute("html", "dir") == "rtl"

    page.goto(f"{live.url}/cases/{case.pk}/")
    open_ladder(page)
    page.locator("details.ladder-box[data-direction=up] summary").click()
    assert fits_the_screen(page)
    # The pyramid stays centred; the moves' list starts on the right.
    rung = page.locator(".pyramid-rung[data-level='1']").bounding_box()
    assert abs(rung["x"] + rung["width"] / 2 - 390 / 2) < 30
    history = page.locator("#ladder-history li").first.bounding_box()
    assert history["x"] + history["width"] > 390 - 60
    section_shot(page, "#ladder", "ladder-ar")

    page.goto(f"{live.url}/reports/escalations/")
    expect(page.locator(".chart-row")).to_have_count(6)
    assert fits_the_screen(page)
    # The label column is on the right in right-to-left, the count on the left.
    label = page.locator(".chart-row[data-level='1'] .chart-label").bounding_box()
    count = page.locator(".chart-row[data-level='1'] .chart-count").bounding_box()
    assert label["x"] > count["x"]
    section_shot(page, "#report-pyramid", "statistics-ar")
