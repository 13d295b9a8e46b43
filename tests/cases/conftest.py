"""Helpers for walking cases through their workflows, through the API as a client would."""

from __future__ import annotations

import uuid

import pytest

from cases.workflows import WORKFLOWS

ORDINARY_TERMS = [
    {"kind": "apology", "description": "The second family apologises publicly at the mosque."},
    {
        "kind": "compensation",
        "description": "Repair the channel and pay 25,000 PKR",
        "amount": "25000.00",
        "currency": "PKR",
    },
    {"kind": "truce", "description": "A one-year truce between the two families."},
]


def new_case_body(forum, **overrides) -> dict:
    body = {
        "forum": forum.pk,
        "title": "Water dispute over the irrigation channel",
        "dispute_type": "water",
        "risk_level": "medium",
        "offence_class": "compoundable",
        "parties": [
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
        ],
    }
    body.update(overrides)
    return body


class Walker:
    """Drives one case through the API and remembers its version."""

    def __init__(self, client, case: dict):
        self.client = client
        self.case = case

    @property
    def id(self) -> int:
        return self.case["id"]

    def move(self, to: str, *, expect: int = 200, **extra):
        body = {"to": to, "version": self.case["version"], **extra}
        response = self.client.post(f"/api/cases/{self.id}/transitions/", body, format="json")
        assert response.status_code == expect, response.content
        if response.status_code == 200:
            self.case = response.json()
        return response

    def agree(self, terms=None, *, expect: int = 201):
        response = self.client.post(
            f"/api/cases/{self.id}/agreement/", {"terms": ORDINARY_TERMS if terms is None else terms}, format="json"
        )
        assert response.status_code == expect, response.content
        return response

    def check_all_terms(self, status: str = "met"):
        agreement = self.client.get(f"/api/cases/{self.id}/agreement/").json()
        for term in agreement["terms"]:
            response = self.client.post(
                f"/api/cases/{self.id}/compliance-checks/",
                {"term": term["id"], "status": status},
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            assert response.status_code == 201, response.content

    def refresh(self) -> dict:
        self.case = self.client.get(f"/api/cases/{self.id}/").json()
        return self.case

    def walk_to_closed(self, outcome: str = "resolved") -> None:
        workflow = WORKFLOWS[self.case["forum_kind"]]
        for state in workflow.states[1:-1]:
            if state == workflow.agreement_state:
                self.agree()
            self.move(state)
        if outcome == "resolved":
            self.check_all_terms("met")
        self.move("closed", outcome=outcome, reason="Agreement kept")


@pytest.fixture
def open_case(world, as_user):
    """open_case(forum=…, by=user, **fields) → a Walker for a new case."""

    def make(forum=None, by=None, **overrides) -> Walker:
        client = as_user(by or world.alice)
        response = client.post("/api/cases/", new_case_body(forum or world.jirga, **overrides), format="json")
        assert response.status_code == 201, response.content
        return Walker(client, response.json())

    return make


@pytest.fixture
def final_case(open_case):
    """final_case(terms=…) → a jirga case in `decision`, its agreement final."""

    def make(terms=None, **overrides):
        case = open_case(**overrides)
        case.move("mandate")
        case.move("hearings")
        case.agree(terms)
        case.move("legality_review")
        case.move("decision")
        case.terms = case.client.get(f"/api/cases/{case.id}/agreement/").json()["terms"]
        return case

    return make


__all__ = ["ORDINARY_TERMS", "Walker", "new_case_body"]


@pytest.fixture
def rules_only(monkeypatch):
    """The screening's rules alone: the statistical model set aside, so that retraining cannot change a verdict."""
    from cases.screening import model

    monkeypatch.setattr(model, "shipped", lambda: None)


def verdict(term: str) -> tuple[str, str | None]:
    """The screening's verdict on a term and the practice it names, as a facilitator would see them."""
    from cases.screening import engine

    screening = engine.screen(term)
    return screening.verdict, screening.practice


@pytest.fixture
def grace(world):
    """grace is the jirga's legal reviewer (the district's legal-aid lawyer)."""
    from cases import services
    from cases.models import Membership
    from tests.factories import UserFactory

    grace = UserFactory(username="grace")
    services.membership_grant(user=grace, forum=world.jirga, role=Membership.Role.LEGAL_REVIEWER)
    return grace
