"""The escalation ladder in the pages: the case page's ladder and its moves, the home page's reminders,
and the statistics page with its CSV.

alice facilitates Swat Jirga and Irbid Sulha, bob monitors Swat Jirga, carol administers, dave
regulates, eve belongs to nothing, frank facilitates Elsewhere Committee.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case, Reminder
from reports import selectors as report_selectors
from tests.cases.test_services_escalation import climb

# These tests replay months of work with one API client (time_machine): see tokens_outlive_the_simulation.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tokens_outlive_the_simulation")]

HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def as_page(client, user):
    client.force_login(user)
    return client


def version(case) -> int:
    return Case.objects.get(pk=case.id).version


def rung(case) -> int:
    return Case.objects.get(pk=case.id).rung.level


def escalate(client, case, **data):
    return client.post(f"/cases/{case.id}/escalate/", {"version": version(case), **data})


# --- The case page's ladder ----------------------------------------------------------------------


def test_the_case_page_draws_the_ladder_with_the_current_rung(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="Dialogue broke down")
    page = html(as_page(client, world.alice).get(f"/cases/{case.id}/"))
    assert 'id="ladder"' in page
    rungs = re.findall(r'<li class="pyramid-rung( current)?"[^>]*data-level="(\d)"', page)
    assert [level for _, level in rungs] == ["1", "2", "3", "4", "5", "6"]  # The base first, drawn at the bottom.
    assert [level for current, level in rungs if current] == ["2"]
    assert 'aria-current="step"' in page
    assert "Now at rung 2 (Mediation)." in page
    review = Case.objects.get(pk=case.id).review_due
    assert f"Review due {review.day} " in page
    # Not imminent: one rung at a time, so no target select and no justification box.
    assert 'id="ladder-up"' in page
    assert 'id="up-to-level"' not in page
    assert 'name="justification"' not in page
    assert 'id="ladder-down"' in page
    assert f'action="/cases/{case.id}/escalate/"' in page


def test_an_imminent_case_offers_a_skip_with_a_justification(client, world, open_case):
    case = open_case(forum=world.sulha, risk_level="imminent", dispute_type="killing")
    page = html(as_page(client, world.alice).get(f"/cases/{case.id}/"))
    assert 'id="up-to-level"' in page
    assert 'name="justification"' in page
    assert 'id="ladder-down"' not in page  # At the base there is nowhere to step down to.


def test_up_through_the_page_redirects_and_lands_on_ladder_and_timeline(client, world, open_case):
    case = open_case()
    client = as_page(client, world.alice)
    response = escalate(client, case, direction="up", reason="The second family left the hearing")
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.id}/"
    assert rung(case) == 2
    page = html(client.get(response["Location"]))
    assert "Moved up to rung 2 (Mediation)." in page
    sentence = "Moved up from rung 1 (Dialogue) to rung 2 (Mediation) — reason: The second family left the hearing"
    history = page.split('id="ladder-history"', 1)[1].split("</section>", 1)[0]
    timeline = page.split('id="timeline"', 1)[1]
    assert sentence in history
    assert sentence in timeline


def test_a_skip_with_a_justification_and_back_down_to_the_base(client, world, open_case):
    case = open_case(forum=world.sulha, risk_level="imminent", dispute_type="killing")
    client = as_page(client, world.alice)
    response = escalate(
        client,
        case,
        direction="up",
        to_level="4",
        reason="Threats of revenge",
        justification="Armed men gathered at the house last night",
    )
    assert response.status_code == 302
    assert rung(case) == 4
    response = escalate(client, case, direction="down", to_level="1", reason="Both families came back to the table")
    assert response.status_code == 302
    assert rung(case) == 1
    page = html(client.get(f"/cases/{case.id}/"))
    assert (
        "Moved up from rung 1 (Dialogue) to rung 4 (Guarantees) — reason: Threats of revenge; "
        "justification: Armed men gathered at the house last night"
    ) in page
    assert (
        "Moved down from rung 4 (Guarantees) to rung 1 (Dialogue) — reason: Both families came back to the table"
    ) in page
    assert 'id="ladder-review"' not in page  # At the base there is no review date.


def test_a_move_without_a_reason_is_refused_inline(client, world, open_case):
    case = open_case()
    response = escalate(as_page(client, world.alice), case, direction="up", reason="  ")
    assert response.status_code == 422
    page = html(response)
    assert re.search(r'id="ladder-up">.*?Say what failed, or what changed, at this rung\.', page, re.S)
    assert '<details class="ladder-box" data-direction="up" open>' in page
    assert rung(case) == 1


def test_a_skip_without_imminent_risk_is_refused_inline_and_keeps_what_was_typed(client, world, open_case):
    case = open_case(risk_level="high")
    response = escalate(
        as_page(client, world.alice), case, direction="up", to_level="3", reason="Threats", justification="Because"
    )
    assert response.status_code == 422
    page = html(response)
    assert "skipping rungs needs an imminent risk and a written justification" in page
    assert ">Threats</textarea>" in page
    assert rung(case) == 1


def test_a_skip_without_a_justification_is_refused_inline(client, world, open_case):
    case = open_case(risk_level="imminent")
    response = escalate(as_page(client, world.alice), case, direction="up", to_level="3", reason="Threats")
    assert response.status_code == 422
    assert re.search(r'id="ladder-up">.*?skipping rungs needs', html(response), re.S)
    assert '<option value="3" selected>' in html(response)


def test_a_stale_version_is_refused_and_the_page_shows_the_ladder_as_it_is(client, world, open_case):
    case = open_case()
    stale = version(case)
    climb(case, direction="up", reason="Moved by someone else")
    response = as_page(client, world.alice).post(
        f"/cases/{case.id}/escalate/", {"direction": "up", "reason": "Me too", "version": stale}
    )
    assert response.status_code == 409
    page = html(response)
    assert "The case changed since you loaded it." in page
    assert "Now at rung 2 (Mediation)." in page
    assert rung(case) == 2


def test_already_at_the_base_is_refused_inline(client, world, open_case):
    case = open_case()
    response = escalate(as_page(client, world.alice), case, direction="down", reason="Calm")
    assert response.status_code == 422
    assert "The case is already at the base of the ladder." in html(response)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"direction": "sideways", "reason": "r", "version": 1}, 400),
        ({"direction": "up", "reason": "r", "version": "one"}, 400),
        ({"direction": "up", "reason": "r"}, 400),
        ({"direction": "up", "reason": "r", "version": 1, "to_level": "two"}, 400),
        ({"direction": "up", "reason": "r", "version": 1, "to_level": "9"}, 400),
        ({"direction": "up", "reason": "r", "version": 1, "to_level": "1"}, 400),
        ({"direction": "up", "reason": "r" * 5000, "version": 1}, 400),
        ({}, 400),
    ],
)
def test_nonsense_moves_are_refused_never_a_500(client, world, open_case, data, status):
    case = open_case()
    response = as_page(client, world.alice).post(f"/cases/{case.id}/escalate/", data)
    assert response.status_code == status
    assert 'role="alert"' in html(response)
    assert rung(case) == 1


def test_an_ended_case_shows_its_ladder_without_moves(client, world, open_case):
    case = open_case()
    case.move("withdrawn", reason="Settled privately")
    client = as_page(client, world.alice)
    page = html(client.get(f"/cases/{case.id}/"))
    assert 'id="ladder-rungs"' in page
    assert "/escalate/" not in page
    response = escalate(client, case, direction="up", reason="r")
    assert response.status_code == 422
    assert "Only an open case moves on the ladder." in html(response)


def test_a_monitor_sees_the_ladder_read_only(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="Dialogue broke down")
    client = as_page(client, world.bob)
    page = html(client.get(f"/cases/{case.id}/"))
    assert 'id="ladder-rungs"' in page
    assert "Moved up from rung 1 (Dialogue) to rung 2 (Mediation)" in page
    assert "/escalate/" not in page
    response = escalate(client, case, direction="down", reason="I am only a monitor")
    assert response.status_code == 403
    assert "Only the forum&#x27;s facilitators may do this." in html(response)
    assert rung(case) == 2


@pytest.mark.parametrize("who", ["dave", "eve", "frank"])
def test_outsiders_get_404(client, world, open_case, who):
    case = open_case()
    client = as_page(client, getattr(world, who))
    assert client.get(f"/cases/{case.id}/").status_code == 404
    assert escalate(client, case, direction="up", reason="r").status_code == 404
    assert rung(case) == 1


def test_an_administrator_moves_any_case(client, world, open_case):
    case = open_case()
    assert escalate(as_page(client, world.carol), case, direction="up", reason="r").status_code == 302
    assert rung(case) == 2


def test_htmx_moves_answer_the_main_section(client, world, open_case):
    case = open_case()
    client = as_page(client, world.alice)
    response = client.post(
        f"/cases/{case.id}/escalate/", {"direction": "up", "reason": "r", "version": version(case)}, **HTMX
    )
    body = html(response)
    assert response.status_code == 200
    assert body.startswith('<div id="case-main"')
    assert "<html" not in body
    assert "Moved up to rung 2 (Mediation)." in body
    assert f'hx-post="/cases/{case.id}/escalate/"' in body
    refused = client.post(f"/cases/{case.id}/escalate/", {"direction": "up", "version": version(case)}, **HTMX)
    assert refused.status_code == 422
    assert html(refused).startswith('<div id="case-main"')
    assert "Say what failed" in html(refused)


def test_the_ladder_needs_a_login_and_a_post(client, world, open_case):
    case = open_case()
    assert client.post(f"/cases/{case.id}/escalate/", {}).status_code == 302
    assert as_page(client, world.alice).get(f"/cases/{case.id}/escalate/").status_code == 405


# --- Reminders on the home page ------------------------------------------------------------------


def breach(world, case) -> None:
    """A final agreement and a monitor's breach: the service leaves a step-up reminder."""
    for state in ("mandate", "hearings"):
        case.move(state)
    case.agree()
    case.move("legality_review")
    case.move("decision")
    term = case.client.get(f"/api/cases/{case.id}/agreement/").json()["terms"][0]["id"]
    services.compliance_record(
        user=world.bob, case_id=case.id, term_id=term, status="breached", idempotency_key=uuid.uuid4()
    )


def test_reminders_show_on_the_home_page_and_link_to_the_case(client, world, open_case):
    down = open_case(title="Orchard boundary")
    climb(down, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    up = open_case(title="Channel feud")
    breach(world, up)
    page = html(as_page(client, world.alice).get("/"))
    assert 'id="reminders"' in page
    assert "Consider stepping down: review date passed" in page
    assert "Consider stepping up: a breach was recorded" in page
    assert f'href="/cases/{down.id}/#ladder"' in page
    assert f'href="/cases/{up.id}/#ladder"' in page
    for reminder in Reminder.objects.all():
        assert f'action="/reminders/{reminder.pk}/dismiss/"' in page


def test_others_do_not_see_the_reminders(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    for who in ("bob", "frank", "dave"):
        page = html(as_page(client, getattr(world, who)).get("/"))
        assert "Consider stepping down" not in page


def test_dismiss_works(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    reminder = Reminder.objects.get()
    client = as_page(client, world.alice)
    response = client.post(f"/reminders/{reminder.pk}/dismiss/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None
    page = html(client.get("/"))
    assert "Reminder dismissed." in page
    assert "Consider stepping down" not in page
    assert "No reminders." in page
    assert client.post(f"/reminders/{reminder.pk}/dismiss/").status_code == 302  # Twice is harmless.


def test_dismiss_through_htmx_answers_the_reminders(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    reminder = Reminder.objects.get()
    response = as_page(client, world.alice).post(f"/reminders/{reminder.pk}/dismiss/", **HTMX)
    assert response.status_code == 200
    body = html(response)
    assert body.startswith('<section id="reminders"')
    assert "Reminder dismissed." in body
    assert "No reminders." in body


def test_who_may_not_dismiss(client, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    reminder = Reminder.objects.get()
    assert as_page(client, world.bob).post(f"/reminders/{reminder.pk}/dismiss/").status_code == 403
    for who in ("dave", "eve", "frank"):
        assert as_page(client, getattr(world, who)).post(f"/reminders/{reminder.pk}/dismiss/").status_code == 404
    assert as_page(client, world.alice).post("/reminders/999999/dismiss/").status_code == 404
    reminder.refresh_from_db()
    assert reminder.resolved_at is None


# --- The statistics page and its CSV -------------------------------------------------------------


@pytest.fixture
def inverted(world, open_case):
    """One case at the base, three climbed to the police, one up and back down: more above than at the base."""
    open_case()
    for _ in range(3):
        case = open_case(forum=world.sulha, risk_level="imminent")
        climb(case, direction="up", to_level=5, reason="Threat", justification="Armed gathering reported")
    back = open_case()
    climb(back, direction="up", reason="r")
    climb(back, direction="down", reason="Cooperation returned")
    return world


def test_the_statistics_page_for_an_administrator(client, inverted):
    report = report_selectors.escalation_report(user=inverted.carol)
    response = as_page(client, inverted.carol).get("/reports/escalations/")
    assert response.status_code == 200
    page = html(response)
    assert "<h1>Escalation statistics</h1>" in page
    rows = re.findall(r'<li class="chart-row" data-level="(\d)">.*?<span class="chart-count">(\d+)</span>', page, re.S)
    assert [(int(level), int(n)) for level, n in rows] == [(r["level"], r["open_cases"]) for r in report["rungs"]]
    assert f'id="moves-up">{report["moves_up"]}<' in page
    assert f'id="moves-down">{report["moves_down"]}<' in page
    assert (report["moves_up"], report["moves_down"]) == (4, 1)
    assert f'id="escalated-cases">{report["escalated_cases"]}<' in page
    assert re.search(r'id="came-back-down">1 <span class="muted">\(25%\)</span>', page)
    assert report["inverted"] is True
    assert "Inverted pyramid" in page
    assert "More open cases sit above the base than at it" in page
    assert 'href="/reports/escalations.csv"' in page


def test_the_statistics_page_draws_the_moves_month_by_month(client, world, open_case):
    import time_machine

    def on(day):
        return time_machine.travel(datetime.datetime.fromisoformat(f"{day}T10:00:00+00:00"), tick=False)

    with on("2026-01-05"):
        first, second = open_case(), open_case()
        climb(first, direction="up", reason="r")
    with on("2026-03-02"):
        climb(second, direction="up", reason="r")
        climb(first, direction="down", reason="Cooperation returned")
    with on("2026-03-20"):
        page = html(as_page(client, world.carol).get("/reports/escalations/"))
    bars = re.findall(
        r'<li class="chart-month" data-month="([\d-]+)">.*?block-size: (\d+)%.*?block-size: (\d+)%', page, re.S
    )
    assert bars == [("2026-01", "100", "0"), ("2026-03", "100", "100")]
    rows = re.findall(r'<tr data-month="([\d-]+)">.*?class="n-up">(\d+)<.*?class="n-down">(\d+)<', page, re.S)
    assert rows == [("2026-01", "1", "0"), ("2026-03", "1", "1")]
    assert "↑1 ↓0" in page  # Onto rung 2, in January and in March.
    assert "↑0 ↓1" in page  # Back onto rung 1 in March.
    quiet = html(as_page(client, world.carol).get("/reports/escalations/", {"from": "2025-01-01", "to": "2025-12-31"}))
    assert "No case moved on the ladder in this period." in quiet


def test_a_healthy_pyramid_has_no_warning(client, world, open_case):
    for _ in range(3):
        open_case()
    climb(open_case(), direction="up", reason="r")
    page = html(as_page(client, world.carol).get("/reports/escalations/"))
    assert "Inverted pyramid" not in page


def test_the_csv_matches_the_report(client, inverted):
    report = report_selectors.escalation_report(user=inverted.carol)
    response = as_page(client, inverted.carol).get("/reports/escalations.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["level", "name", "open_cases", "median_days_at_rung"]
    medians = report["median_days_at_rung"]
    expected = [
        [str(r["level"]), r["name"], str(r["open_cases"]), str(medians.get(str(r["level"]), ""))]
        for r in report["rungs"]
    ]
    assert rows[1 : 1 + len(expected)] == expected
    tail = {row[0]: row[1] for row in rows[1 + len(expected) :] if row}
    assert tail == {
        "moves_up": str(report["moves_up"]),
        "moves_down": str(report["moves_down"]),
        "escalated_cases": str(report["escalated_cases"]),
        "came_back_down": str(report["came_back_down"]),
        "inverted": "true",
    }


def test_filters_apply_to_page_and_csv(client, inverted):
    client = as_page(client, inverted.carol)
    sulha = report_selectors.escalation_report(user=inverted.carol, forum=inverted.sulha.pk)
    page = html(client.get("/reports/escalations/", {"forum": inverted.sulha.pk}))
    assert f'id="moves-up">{sulha["moves_up"]}<' in page
    assert sulha["moves_up"] == 3
    assert f'href="/reports/escalations.csv?forum={inverted.sulha.pk}"' in page
    rows = list(csv.reader(io.StringIO(html(client.get("/reports/escalations.csv", {"forum": inverted.sulha.pk})))))
    assert ["moves_up", "3"] in rows
    future = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    later = html(client.get("/reports/escalations/", {"from": future}))
    assert 'id="moves-up">0<' in later


@pytest.mark.parametrize(
    "params",
    [
        {"forum": "jirga"},
        {"from": "yesterday"},
        {"to": "2020-13-45"},
        {"region": "not a slug!"},
        {"from": "2030-01-02", "to": "2030-01-01"},
    ],
)
def test_unusable_filters_never_break_the_page(client, world, params):
    response = as_page(client, world.carol).get("/reports/escalations/", params)
    assert response.status_code == 200
    assert 'class="error"' in html(response)
    assert as_page(client, world.carol).get("/reports/escalations.csv", params).status_code == 400


def test_a_facilitator_sees_the_statistics_of_their_forums(client, world, open_case):
    open_case(forum=world.other, by=world.frank)
    page = html(as_page(client, world.alice).get("/reports/escalations/"))
    assert "Elsewhere Committee" not in page  # Not among the forum filter's choices.
    assert "Swat Jirga" in page
    assert as_page(client, world.alice).get("/reports/escalations/", {"forum": world.other.pk}).status_code == 404
    assert as_page(client, world.alice).get("/reports/escalations.csv", {"forum": world.other.pk}).status_code == 404


@pytest.mark.parametrize("who", ["bob", "dave", "eve"])
def test_monitors_regulators_and_outsiders_get_403(client, world, who):
    client = as_page(client, getattr(world, who))
    response = client.get("/reports/escalations/")
    assert response.status_code == 403
    assert "Error 403" in html(response)
    assert client.get("/reports/escalations.csv").status_code == 403


def test_the_statistics_need_a_login(client):
    assert client.get("/reports/escalations/").status_code == 302
    assert client.get("/reports/escalations.csv").status_code == 302


def test_htmx_filters_answer_the_results(client, inverted):
    response = as_page(client, inverted.carol).get("/reports/escalations/", {"forum": inverted.jirga.pk}, **HTMX)
    assert response.status_code == 200
    body = html(response)
    assert body.startswith('<div id="report-results"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_the_home_page_links_to_the_statistics(client, world):
    assert 'href="/reports/escalations/"' in html(as_page(client, world.carol).get("/"))
    assert 'href="/reports/escalations/"' in html(as_page(client, world.alice).get("/"))
    assert 'href="/reports/escalations/"' not in html(as_page(client, world.bob).get("/"))
    assert 'href="/reports/escalations/"' not in html(as_page(client, world.dave).get("/"))
