"""The ladder: up one rung with a reason, skips only for imminent risk with a justification, down freely."""

import datetime

import pytest
from django.utils import timezone

from cases import services
from cases.models import Reminder, Rung

pytestmark = pytest.mark.django_db


def climb(case, *, expect=200, **body):
    payload = {"version": case.case["version"], **body}
    response = case.client.post(f"/api/cases/{case.id}/escalations/", payload, format="json")
    assert response.status_code == expect, response.content
    if response.status_code == 200:
        case.case = response.json()
    return response


def code(response) -> str:
    return response.json()["error"]["code"]


def test_up_one_rung_with_a_reason(open_case):
    case = open_case()
    climb(case, direction="up", reason="Dialogue broke down: the second family left the hearing")
    assert case.case["rung"]["level"] == 2
    assert case.case["version"] == 2
    review = datetime.date.fromisoformat(case.case["review_due"])
    assert review == timezone.localdate() + datetime.timedelta(days=30)
    event = case.client.get(f"/api/cases/{case.id}/timeline/").json()[-1]
    assert event["kind"] == "escalated"
    assert event["data"]["from"] == 1
    assert event["data"]["to"] == 2
    assert event["data"]["reason"].startswith("Dialogue broke down")


def test_a_move_needs_a_reason(open_case):
    case = open_case()
    assert code(climb(case, direction="up", expect=422)) == "reason_required"
    assert code(climb(case, direction="up", reason="  ", expect=422)) == "reason_required"


def test_skipping_rungs_needs_imminent_risk_and_a_justification(open_case):
    case = open_case(risk_level="high")
    assert code(climb(case, direction="up", to_level=3, reason="x", justification="y", expect=422)) == (
        "rung_skip_not_allowed"
    )
    imminent = open_case(risk_level="imminent", dispute_type="killing")
    assert code(climb(imminent, direction="up", to_level=3, reason="Threats of revenge", expect=422)) == (
        "rung_skip_not_allowed"
    )
    climb(
        imminent,
        direction="up",
        to_level=3,
        reason="Threats of revenge",
        justification="Armed men gathered at the house last night; the police station confirmed it",
    )
    assert imminent.case["rung"]["level"] == 3
    event = imminent.client.get(f"/api/cases/{imminent.id}/timeline/").json()[-1]
    assert event["data"]["justification"].startswith("Armed men")


def test_down_any_number_of_rungs(open_case):
    case = open_case(risk_level="imminent")
    climb(case, direction="up", to_level=4, reason="r", justification="j")
    climb(case, direction="down", to_level=1, reason="Both families came back to the table")
    assert case.case["rung"]["level"] == 1
    assert case.case["review_due"] is None  # Nothing left to step down from.
    event = case.client.get(f"/api/cases/{case.id}/timeline/").json()[-1]
    assert event["kind"] == "de_escalated"
    assert (event["data"]["from"], event["data"]["to"]) == (4, 1)


def test_no_move_past_the_ends(open_case):
    case = open_case(risk_level="imminent")
    assert code(climb(case, direction="down", reason="r", expect=422)) == "already_at_base"
    climb(case, direction="up", to_level=6, reason="r", justification="j")
    assert code(climb(case, direction="up", reason="r", expect=422)) == "already_at_top"


@pytest.mark.parametrize(
    "body",
    [
        {"direction": "sideways", "reason": "r"},
        {"direction": "up", "reason": "r", "to_level": 9},
        {"direction": "up", "reason": "r", "to_level": 1},
        {"direction": "down", "reason": "r", "to_level": "two"},
        {"reason": "r"},
    ],
)
def test_bad_moves_are_400(open_case, body):
    case = open_case()
    if body.get("direction") == "down":
        climb(case, direction="up", reason="first")
    response = climb(case, expect=400, **body)
    assert code(response) == "invalid"


def test_a_stale_version_is_409(open_case):
    case = open_case()
    response = case.client.post(
        f"/api/cases/{case.id}/escalations/", {"direction": "up", "reason": "r", "version": 7}, format="json"
    )
    assert response.status_code == 409
    assert code(response) == "stale_version"


def test_only_an_open_case_moves(open_case):
    case = open_case()
    case.move("withdrawn", reason="The families settled privately")
    assert code(climb(case, direction="up", reason="r", expect=422)) == "case_not_open"


def test_who_may_move(as_user, world, open_case):
    case = open_case()
    body = {"direction": "up", "reason": "r", "version": 1}
    assert as_user(world.bob).post(f"/api/cases/{case.id}/escalations/", body, format="json").status_code == 403
    for outsider in (world.dave, world.eve, world.frank):
        response = as_user(outsider).post(f"/api/cases/{case.id}/escalations/", body, format="json")
        assert response.status_code == 404
    assert as_user(world.carol).post(f"/api/cases/{case.id}/escalations/", body, format="json").status_code == 200


def test_a_rung_for_administrators_only(as_user, world, open_case):
    Rung.objects.filter(ladder=world.jirga.ladder, level=2).update(movable_by="administrator")
    case = open_case()
    assert climb(case, direction="up", reason="r", expect=403).json()["error"]["code"] == "forbidden"
    body = {"direction": "up", "reason": "r", "version": 1}
    assert as_user(world.carol).post(f"/api/cases/{case.id}/escalations/", body, format="json").status_code == 200


def test_past_review_dates_ask_to_step_down_once(as_user, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    assert services.reminders_create_for_due_reviews() == 0  # Not due yet.
    later = timezone.localdate() + datetime.timedelta(days=31)
    assert services.reminders_create_for_due_reviews(today=later) == 1
    assert services.reminders_create_for_due_reviews(today=later) == 0  # Twice creates nothing twice.
    reminders = as_user(world.alice).get("/api/reminders/").json()
    assert [(r["case"], r["kind"]) for r in reminders] == [(case.id, "consider_step_down")]
    assert as_user(world.frank).get("/api/reminders/").json() == []
    climb(case, direction="down", reason="Cooperation returned")
    assert as_user(world.alice).get("/api/reminders/").json() == []


def test_ending_a_case_answers_its_reminders(as_user, world, open_case):
    case = open_case()
    climb(case, direction="up", reason="r")
    services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=31))
    assert len(as_user(world.alice).get("/api/reminders/").json()) == 1
    case.move("withdrawn", reason="The families settled between themselves")
    assert as_user(world.alice).get("/api/reminders/").json() == []
    assert services.reminders_create_for_due_reviews(today=timezone.localdate() + datetime.timedelta(days=60)) == 0


def test_the_beat_task_runs_the_same_service(world, open_case):
    from cases.models import Case
    from cases.tasks import review_reminders

    case = open_case()
    climb(case, direction="up", reason="r")
    Case.objects.filter(pk=case.id).update(review_due=timezone.localdate() - datetime.timedelta(days=1))
    assert review_reminders.apply().get() == 1
    assert review_reminders.apply().get() == 0
    assert Reminder.objects.filter(case_id=case.id, kind="consider_step_down").count() == 1


def test_a_breach_suggests_a_step_up_but_never_moves(as_user, world, open_case):
    import uuid

    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    case.move("legality_review")
    case.move("decision")
    term = case.client.get(f"/api/cases/{case.id}/agreement/").json()["terms"][0]["id"]
    as_user(world.bob).post(
        f"/api/cases/{case.id}/compliance-checks/",
        {"term": term, "status": "breached"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert case.refresh()["rung"]["level"] == 1
    kinds = [r["kind"] for r in as_user(world.alice).get("/api/reminders/").json()]
    assert kinds == ["consider_step_up"]
