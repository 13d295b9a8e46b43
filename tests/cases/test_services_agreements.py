"""Agreements: drafts are replaced until the decision state is left; prohibited terms never get in."""

import dataclasses

import pytest

from cases.screening import model
from tests.cases.conftest import ORDINARY_TERMS

pytestmark = pytest.mark.django_db

SWARA = {
    "kind": "other",
    "description": "The offender's family gives a girl in marriage to the victim's family (swara).",
}


def to_hearings(case):
    case.move("mandate")
    case.move("hearings")
    return case


def test_a_draft_is_recorded_and_replaced(open_case):
    case = to_hearings(open_case())
    first = case.agree().json()
    assert first["status"] == "draft"
    assert [t["kind"] for t in first["terms"]] == ["apology", "compensation", "truce"]
    assert first["terms"][1]["amount"] == "25000.00"
    second = case.agree([{"kind": "apology", "description": "A public apology"}]).json()
    assert second["id"] == first["id"]
    assert second["revision"] == 2
    assert [t["description"] for t in second["terms"]] == ["A public apology"]


def test_leaving_the_decision_state_makes_it_final(open_case):
    case = to_hearings(open_case())
    case.agree()
    case.move("legality_review")
    case.agree()  # Still a draft during the legality review.
    case.move("decision")
    response = case.agree(expect=409)
    assert response.json()["error"]["code"] == "agreement_final"
    assert case.client.get(f"/api/cases/{case.id}/agreement/").json()["status"] == "final"


def test_a_prohibited_term_is_refused_naming_the_law_and_stays_on_the_timeline(open_case):
    case = to_hearings(open_case())
    response = case.agree([*ORDINARY_TERMS, SWARA], expect=422)
    error = response.json()["error"]
    assert error["code"] == "prohibited_term"
    assert "310-A" in error["detail"]
    assert "3" in error["fields"]["terms"]  # The fourth term, counted from 0.
    assert case.client.get(f"/api/cases/{case.id}/agreement/").status_code == 404  # Nothing half-written.
    blocked = [
        e for e in case.client.get(f"/api/cases/{case.id}/timeline/").json() if e["kind"] == "prohibited_term_blocked"
    ]
    assert len(blocked) == 1
    assert blocked[0]["data"]["term_index"] == 3
    assert any("310-A" in c for c in blocked[0]["data"]["citations"])


def test_a_refused_replacement_keeps_the_old_draft(open_case):
    case = to_hearings(open_case())
    case.agree()
    case.agree([SWARA], expect=422)
    agreement = case.client.get(f"/api/cases/{case.id}/agreement/").json()
    assert len(agreement["terms"]) == 3
    assert agreement["revision"] == 1


@pytest.mark.parametrize(
    ("term", "field"),
    [
        ({"kind": "bribe", "description": "x"}, "kind"),
        ({"kind": "apology", "description": ""}, "description"),
        ({"kind": "compensation", "description": "pay", "amount": "-5"}, "amount"),
        ({"kind": "compensation", "description": "pay", "amount": "lots"}, "amount"),
        ({"kind": "compensation", "description": "pay", "currency": "rupees"}, "currency"),
        ({"kind": "apology", "description": "sorry", "due": "soon"}, "due"),
    ],
)
def test_bad_terms_are_400(open_case, term, field):
    case = to_hearings(open_case())
    response = case.agree([term], expect=400)
    assert field in str(response.json()["error"]["fields"])


def test_an_empty_agreement_is_400(open_case):
    case = to_hearings(open_case())
    assert case.agree([], expect=400).json()["error"]["code"] == "invalid"


def test_only_facilitators_record_agreements(as_user, world, open_case):
    case = to_hearings(open_case())
    response = as_user(world.bob).post(f"/api/cases/{case.id}/agreement/", {"terms": ORDINARY_TERMS}, format="json")
    assert response.status_code == 403


def test_a_term_the_model_alone_refuses_is_refused_like_a_named_one(open_case, monkeypatch):
    """No phrase or rule matches the term; a model sure of it (here: a refusal line of 0) refuses it at the same
    door, naming the practice it finds and that practice's law, and nothing is stored."""
    shipped = model.shipped()
    assert shipped is not None
    sure = dataclasses.replace(shipped, threshold=0.0, refuse_above=0.0)
    monkeypatch.setattr(model, "shipped", lambda: sure)
    case = to_hearings(open_case())
    term = {"kind": "commitment", "description": "Repair the channel together before the sowing season."}
    error = case.agree([term], expect=422).json()["error"]
    assert error["code"] == "prohibited_term"
    practice = error["fields"]["terms"]["0"]["practice"]
    assert practice
    assert error["fields"]["terms"]["0"]["citations"]
    assert case.client.get(f"/api/cases/{case.id}/agreement/").status_code == 404
    blocked = [
        e for e in case.client.get(f"/api/cases/{case.id}/timeline/").json() if e["kind"] == "prohibited_term_blocked"
    ]
    assert [e["data"]["practice"] for e in blocked] == [practice]
