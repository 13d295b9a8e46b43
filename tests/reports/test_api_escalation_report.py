"""The pyramid's shape for administrators and facilitators, on data built through the services."""

import pytest

from tests.cases.test_services_escalation import climb

pytestmark = pytest.mark.django_db


def report(client, query: str = "") -> dict:
    response = client.get(f"/api/reports/escalations/{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_healthy_pyramid(as_user, world, open_case):
    for _ in range(3):
        open_case()
    up = open_case()
    climb(up, direction="up", reason="Mediation needed")
    body = report(as_user(world.alice))
    assert [(r["level"], r["open_cases"]) for r in body["rungs"]] == [(1, 3), (2, 1), (3, 0), (4, 0), (5, 0), (6, 0)]
    assert body["rungs"][0]["name"] == "Dialogue"
    assert body["moves_up"] == 1
    assert body["moves_down"] == 0
    assert body["inverted"] is False


def test_an_inverted_pyramid_is_flagged(as_user, world, open_case):
    open_case()
    for _ in range(2):
        case = open_case(risk_level="imminent")
        climb(case, direction="up", to_level=5, reason="Threat", justification="Armed gathering reported")
    body = report(as_user(world.alice))
    assert body["inverted"] is True
    assert body["rungs"][4]["open_cases"] == 2


def test_moves_down_and_medians(as_user, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    climb(case, direction="down", reason="Cooperation returned")
    body = report(as_user(world.alice))
    assert (body["moves_up"], body["moves_down"]) == (1, 1)
    assert set(body["median_days_at_rung"]) == {"1", "2"}
    assert body["median_days_at_rung"]["2"] >= 0
    assert body["escalated_cases"] == 1
    assert body["came_back_down"] == 1


def test_ended_cases_are_not_open(as_user, world, open_case):
    case = open_case()
    case.move("referred", reason="Sent to court")
    assert sum(r["open_cases"] for r in report(as_user(world.alice))["rungs"]) == 0


def test_filters(as_user, world, open_case):
    open_case(forum=world.jirga)
    open_case(forum=world.sulha)
    client = as_user(world.carol)
    assert sum(r["open_cases"] for r in report(client)["rungs"]) == 2
    assert sum(r["open_cases"] for r in report(client, f"?forum={world.sulha.pk}")["rungs"]) == 1
    province = world.jirga.region.parent.code
    assert sum(r["open_cases"] for r in report(client, f"?region={province}")["rungs"]) == 1
    assert report(client, "?from=2000-01-01&to=2000-12-31")["moves_up"] == 0
    bad = client.get("/api/reports/escalations/?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 400
    assert client.get("/api/reports/escalations/?from=yesterday").status_code == 400


def test_facilitators_see_only_their_forums(as_user, world, open_case):
    open_case(forum=world.other, by=world.frank)
    open_case(forum=world.jirga)
    assert sum(r["open_cases"] for r in report(as_user(world.alice))["rungs"]) == 1
    assert sum(r["open_cases"] for r in report(as_user(world.carol))["rungs"]) == 2
    response = as_user(world.alice).get(f"/api/reports/escalations/?forum={world.other.pk}")
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["bob", "dave", "eve"])
def test_monitors_regulators_and_outsiders_are_refused(as_user, world, who):
    response = as_user(getattr(world, who)).get("/api/reports/escalations/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_moves_per_rung_over_time(as_user, world, open_case):
    from django.utils import timezone

    case = open_case(risk_level="imminent")
    climb(case, direction="up", reason="r")
    climb(case, direction="up", to_level=4, reason="r", justification="Armed men gathered")
    climb(case, direction="down", to_level=2, reason="Cooperation returned")
    month = timezone.now().strftime("%Y-%m")
    series = report(as_user(world.alice))["moves_by_month"]
    assert series == [
        {"month": month, "level": 2, "moves_up": 1, "moves_down": 1},
        {"month": month, "level": 4, "moves_up": 1, "moves_down": 0},
    ]
    assert report(as_user(world.alice), "?to=2000-01-01")["moves_by_month"] == []
