"""Each forum kind walks from intake to closed; every guard refuses with its code."""

import uuid

import pytest

from cases.models import CaseEvent
from cases.workflows import WORKFLOWS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["jirga", "sulha", "muslahathi"])
def test_each_forum_kind_walks_from_intake_to_closed(world, open_case, kind):
    forum = {"jirga": world.jirga, "sulha": world.sulha}.get(kind)
    if forum is None:
        from cases import services

        forum = world.other
        services.membership_grant(user=world.alice, forum=forum, role="facilitator")
    case = open_case(forum=forum)
    case.walk_to_closed()
    assert case.case["state"] == "closed"
    assert case.case["outcome"] == "resolved"
    assert case.case["closed_at"]
    assert case.case["allowed_transitions"] == []
    timeline = case.client.get(f"/api/cases/{case.id}/timeline/").json()
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    visited = [e["data"]["to"] for e in timeline if e["kind"] == "transitioned"]
    assert visited == list(WORKFLOWS[kind].states[1:])
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "opened"
    assert "agreement_recorded" in kinds
    assert "agreement_finalised" in kinds


def test_a_stale_version_is_409(open_case):
    case = open_case()
    case.move("mandate")
    response = case.client.post(f"/api/cases/{case.id}/transitions/", {"to": "hearings", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_version"


@pytest.mark.parametrize("to", ["hearings", "closed", "nowhere", "intake"])
def test_a_move_the_workflow_does_not_have_is_422(open_case, to):
    response = open_case().move(to, expect=422)
    assert response.json()["error"]["code"] == "transition_not_allowed"


@pytest.mark.parametrize("to", ["withdrawn", "referred"])
def test_exits_need_a_reason(open_case, to):
    case = open_case()
    assert case.move(to, expect=422).json()["error"]["code"] == "reason_required"
    assert case.move(to, expect=422, reason="   ").json()["error"]["code"] == "reason_required"
    case.move(to, reason="The families went to court")
    assert case.case["state"] == to
    assert case.case["outcome"] == to
    assert case.move("mandate", expect=422).json()["error"]["code"] == "transition_not_allowed"


def test_back_moves_need_a_reason(open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    case.move("legality_review")
    assert case.move("hearings", expect=422).json()["error"]["code"] == "reason_required"
    case.move("hearings", reason="A term needs rewording")
    assert case.case["state"] == "hearings"


def test_a_non_compoundable_offence_can_only_be_referred_or_withdrawn(world, open_case):
    case = open_case(forum=world.sulha, offence_class="non_compoundable", dispute_type="killing")
    assert {t["to"] for t in case.case["allowed_transitions"]} == {"withdrawn", "referred"}
    assert case.move("jaha_appointed", expect=422).json()["error"]["code"] == "offence_not_compoundable"
    case.move("referred", reason="Only a court may decide a killing")
    assert case.case["state"] == "referred"


def test_entering_the_decision_state_needs_an_agreement(open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    legality = next(t for t in case.case["allowed_transitions"] if t["to"] == "legality_review")
    assert legality["blocked_by"] == ["agreement_missing"]
    assert case.move("legality_review", expect=422).json()["error"]["code"] == "agreement_missing"


def test_closing_needs_an_outcome_and_resolved_needs_compliance(open_case):
    case = open_case()
    for state in ("mandate", "hearings"):
        case.move(state)
    case.agree()
    for state in ("legality_review", "decision", "implementation"):
        case.move(state)
    assert case.move("closed", expect=422).json()["error"]["code"] == "outcome_required"
    assert case.move("closed", expect=422, outcome="resolved").json()["error"]["code"] == "compliance_open"
    case.check_all_terms("met")
    case.move("closed", outcome="resolved")
    assert case.case["outcome"] == "resolved"


def test_partly_resolved_closes_without_every_check(open_case):
    case = open_case()
    case.walk_to_closed(outcome="partly_resolved")
    assert case.case["outcome"] == "partly_resolved"


def test_the_latest_check_counts(open_case):
    case = open_case()
    for state in ("mandate", "hearings"):
        case.move(state)
    case.agree()
    for state in ("legality_review", "decision", "implementation"):
        case.move(state)
    case.check_all_terms("not_met")
    assert case.move("closed", expect=422, outcome="resolved").json()["error"]["code"] == "compliance_open"
    case.check_all_terms("met")
    case.move("closed", outcome="resolved")


def test_a_refused_move_writes_nothing(open_case):
    case = open_case()
    before = CaseEvent.objects.filter(case_id=case.id).count()
    case.move("withdrawn", expect=422)
    case.move("hearings", expect=422)
    assert CaseEvent.objects.filter(case_id=case.id).count() == before
    assert case.refresh()["version"] == 1


def test_the_truce_records_its_expiry(world, open_case):
    case = open_case(forum=world.sulha)
    case.move("jaha_appointed")
    case.move("truce", truce_expires="2027-01-31")
    assert case.case["truce_expires"] == "2027-01-31"


def test_compliance_keys_are_idempotent_and_breaches_reach_the_timeline(as_user, world, open_case):
    case = open_case()
    for state in ("mandate", "hearings"):
        case.move(state)
    case.agree()
    term = case.client.get(f"/api/cases/{case.id}/agreement/").json()["terms"][0]["id"]
    monitor = as_user(world.bob)
    key = str(uuid.uuid4())
    body = {"term": term, "status": "breached", "notes": "Water blocked again"}
    early = monitor.post(f"/api/cases/{case.id}/compliance-checks/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "agreement_not_final"
    for state in ("legality_review", "decision"):
        case.move(state)
    first = monitor.post(f"/api/cases/{case.id}/compliance-checks/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = monitor.post(f"/api/cases/{case.id}/compliance-checks/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(monitor.get(f"/api/cases/{case.id}/compliance-checks/").json()) == 1
    kinds = [e["kind"] for e in monitor.get(f"/api/cases/{case.id}/timeline/").json()]
    assert kinds.count("breach_recorded") == 1
    assert case.refresh()["state"] == "decision"  # A breach suggests a step up; it never moves the case.


def test_compliance_needs_a_uuid_key(as_user, world, open_case):
    case = open_case()
    response = as_user(world.bob).post(
        f"/api/cases/{case.id}/compliance-checks/", {"term": 1, "status": "met"}, format="json"
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_regulators_and_outsiders_cannot_log_compliance(as_user, world, open_case):
    case = open_case()
    for who in (world.dave, world.eve):
        response = as_user(who).post(
            f"/api/cases/{case.id}/compliance-checks/",
            {"term": 1, "status": "met"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert response.status_code == 404
