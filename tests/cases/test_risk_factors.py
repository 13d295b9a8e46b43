"""The UN Framework's risk factors: a facilitator tags a case (API and page, one service), and regulators see
how many open cases of each district carry each factor, small counts hidden, next to the early warning."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case, CaseEvent, CaseRiskFactor
from reports import disclosure, pattern_report
from tests.factories import ForumFactory
from tests.reports.pattern_data import ALERT_WEEK, fill_weeks, make_districts

pytestmark = pytest.mark.django_db


def tag(client, case_id, factors):
    return client.put(f"/api/cases/{case_id}/risk-factors/", {"factors": factors}, format="json")


def tagged_events(case_id) -> list[dict]:
    return list(CaseEvent.objects.filter(case_id=case_id, kind="risk_factors_tagged").values_list("data", flat=True))


def test_the_facilitator_tags_and_untags_a_case(world, as_user, open_case):
    case = open_case()
    alice = as_user(world.alice)

    response = tag(alice, case.id, [13, 9])
    assert response.status_code == 200, response.content
    assert response.json()["risk_factors"] == [9, 13]
    assert tag(alice, case.id, [13]).json()["risk_factors"] == [13]
    assert tag(alice, case.id, [13]).status_code == 200  # The same again changes nothing.
    assert alice.get(f"/api/cases/{case.id}/").json()["risk_factors"] == [13]
    assert tagged_events(case.id) == [
        {"factors": [9, 13], "added": [9, 13], "removed": []},
        {"factors": [13], "added": [], "removed": [9]},
    ]


@pytest.mark.parametrize("factors", [[0], [15], ["nine"], [9, None], "9"])
def test_anything_but_numbers_1_to_14_is_a_400_and_changes_nothing(world, as_user, open_case, factors):
    case = open_case()
    alice = as_user(world.alice)
    tag(alice, case.id, [9])

    response = tag(alice, case.id, factors)

    assert response.status_code == 400, response.content
    assert "factors" in response.json()["error"]["fields"]
    assert list(CaseRiskFactor.objects.filter(case_id=case.id).values_list("factor", flat=True)) == [9]


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("dave", 404), ("eve", 404), ("frank", 404)])
def test_only_the_forums_facilitators_tag(world, as_user, open_case, who, status):
    case = open_case()
    assert tag(as_user(getattr(world, who)), case.id, [9]).status_code == status
    assert not CaseRiskFactor.objects.filter(case_id=case.id).exists()


def test_an_ended_case_keeps_its_tags(world, as_user, open_case):
    case = open_case()
    alice = as_user(world.alice)
    tag(alice, case.id, [8])
    case.move("withdrawn", reason="The families settled it themselves")

    response = tag(alice, case.id, [])

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "case_not_open"
    assert alice.get(f"/api/cases/{case.id}/").json()["risk_factors"] == [8]


def test_the_case_page_shows_the_tags_and_the_facilitator_changes_them(world, client, open_case):
    case = open_case()
    client.force_login(world.alice)
    html = client.get(f"/cases/{case.id}/").content.decode()
    assert "None tagged." in html
    assert 'name="factors" value="9"' in html

    response = client.post(f"/cases/{case.id}/risk-factors/", {"factors": ["9", "3"]}, follow=True)

    assert response.status_code == 200
    listed = re.search(r'<ul id="case-risk-factors">(.*?)</ul>', response.content.decode(), re.S).group(1)
    assert re.findall(r'data-factor="(\d+)"', listed) == ["3", "9"]
    assert "Intergroup tensions or discrimination" in listed
    assert "Risk factors of the UN Framework now tagged: 3, 9." in response.content.decode()  # The timeline.
    # A monitor of the forum reads them, without the form.
    client.force_login(world.bob)
    html = client.get(f"/cases/{case.id}/").content.decode()
    assert 'data-factor="9"' in html
    assert 'name="factors"' not in html


def open_tags(districts, counts: dict[tuple[str, int], int]) -> None:
    """`counts[(district, factor)]` open cases of a forum in the district carry the factor."""
    rung = services.ladder_default().rungs.get(level=1)
    forums: dict[str, object] = {}
    for (code, factor), n in counts.items():
        forum = forums.get(code) or forums.setdefault(code, ForumFactory(region=districts[code]))
        for _ in range(n):
            case = Case.objects.create(
                reference=f"T-{Case.objects.count() + 1}", forum=forum, kind=forum.kind, rung=rung, title="A case",
                dispute_type="land", risk_level="high", offence_class="compoundable", opened_at=timezone.now(),
            )  # fmt: skip
            CaseRiskFactor.objects.create(case=case, factor=factor, tagged_at=case.opened_at)


def test_regulators_see_open_cases_per_factor_with_small_counts_hidden(world, as_user):
    districts = make_districts()
    open_tags(districts, {("swat", 9): 7, ("swat", 13): 2, ("bannu", 9): 6, ("bannu", 13): 5, ("mardan", 9): 1})
    fill_weeks(districts)

    body = as_user(world.dave).get("/api/reports/warnings/", {"week": ALERT_WEEK.isoformat()}).json()

    counts = pattern_report.risk_factor_counts()
    by_district = {code: {f["factor"]: f["open_cases"] for f in cells} for code, cells in counts["districts"].items()}
    for district in body["districts"]:  # The districts the warning lists carry theirs.
        assert district["risk_factors"] == counts["districts"].get(district["region"], [])
    assert {d["region"] for d in body["districts"]} >= {"swat", "bannu"}
    assert by_district["swat"][13] is None  # 2
    assert by_district["mardan"][9] is None  # 1
    published = [v for factors in by_district.values() for v in factors.values() if v is not None]
    assert all(v >= 5 for v in published)
    assert {f["factor"]: f["name"] for f in body["risk_factors"]} == {
        9: "Intergroup tensions or discrimination",
        13: "Threats to protected populations",
    }
    # No hidden count follows from the others, the districts' or the all-districts totals.
    rows = [({"region": r, "factor": f}, n) for (r, f), n in
            {("swat", 9): 7, ("swat", 13): 2, ("bannu", 9): 6, ("bannu", 13): 5, ("mardan", 9): 1}.items()]  # fmt: skip
    tables = disclosure.aggregate(rows, ("region", "factor"))
    hidden = {g: set() for g in tables}
    for code, factor in tables[("region", "factor")]:
        if by_district.get(code, {}).get(factor) is None:
            hidden[("region", "factor")].add((code, factor))
    for cell in body["risk_factors"]:
        if cell["open_cases"] is None:
            hidden[("factor",)].add((cell["factor"],))
    served = {grouping: tables[grouping] for grouping in (("factor",), ("region", "factor"))}
    assert disclosure.recoverable(served, hidden, ("region", "factor")) == []
    assert len(hidden[("region", "factor")]) >= 3  # Swat's 2 and Mardan's 1, and at least one more with them.
    # The alert for Swat names its tagged factors too.
    swat_alert = next(a for a in body["alerts"] if a["region"] == "swat")
    assert {f["factor"] for f in swat_alert["risk_factors"]} == {9, 13}


def test_ended_cases_are_not_counted_and_the_dashboard_shows_the_factors(world, client):
    districts = make_districts()
    open_tags(districts, {("swat", 9): 12, ("bannu", 9): 6})
    ended = Case.objects.filter(forum__region__code="bannu")
    ended.update(state="withdrawn", outcome="withdrawn", closed_at=timezone.now())
    fill_weeks(districts)
    counts = pattern_report.risk_factor_counts()
    assert counts["districts"] == {
        "swat": [{"factor": 9, "name": "Intergroup tensions or discrimination", "open_cases": 12}]
    }

    client.force_login(world.dave)
    html = client.get("/reports/patterns/").content.decode()
    alert = re.search(r'<li class="alert warning-alert" data-region="swat".*?</li>', html, re.S).group(0)
    assert "9. Intergroup tensions or discrimination (12)" in alert
    listed = re.search(r'<ul class="factor-list" id="risk-factors".*?</ul>', html, re.S).group(0)
    assert "9. Intergroup tensions or discrimination: 12" in listed
