"""Legal review of held agreement terms (CONTRACT.md section 6): the verdict on each term, who sees the terms
waiting, the two decisions and what each leaves behind, and the guard that keeps a draft with a held term from
becoming final.

A term is held by the screening engine; here the held state is set on the stored term directly, so that these
tests pin the review's rules whatever the engine decides about particular words (the engine has its own tests)."""

from __future__ import annotations

import pytest

from cases import services
from cases.models import Membership, ScreeningExample, Term
from deliberation import rules as session_rules
from tests.cases.conftest import ORDINARY_TERMS

pytestmark = pytest.mark.django_db

PRACTICE = "woman-given-in-settlement"


@pytest.fixture
def held(open_case):
    """A jirga case in legality review whose draft's second term is held for a legal reviewer."""
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    case.move("legality_review")
    term = Term.objects.get(agreement__case_id=case.id, position=2)
    Term.objects.filter(pk=term.pk).update(
        screening_verdict="review", screening_practice=PRACTICE, screening_detail="a girl may be part of the deal"
    )
    case.held = term
    return case


def timeline_kinds(case) -> list[str]:
    return [event["kind"] for event in case.client.get(f"/api/cases/{case.id}/timeline/").json()]


def test_every_term_carries_its_screening(held):
    terms = held.client.get(f"/api/cases/{held.id}/agreement/").json()["terms"]
    assert [t["screening"]["verdict"] for t in terms] == ["pass", "review", "pass"]
    assert terms[1]["screening"]["practice"] == PRACTICE
    assert terms[1]["screening"]["detail"] == "a girl may be part of the deal"
    assert terms[0]["screening"] == {"verdict": "pass", "practice": None, "detail": ""}
    assert terms[1]["reviewed"] is None


def test_a_held_term_keeps_the_agreement_from_becoming_final(held):
    response = held.move("decision", expect=422)
    assert response.json()["error"]["code"] == "screening_pending"
    allowed = {t["to"] for t in held.refresh()["allowed_transitions"]}
    assert "hearings" in allowed  # Going back stays possible.


def test_the_queue_lists_held_terms_for_reviewers_only(world, held, grace, as_user):
    for reviewer in (world.carol, grace):
        response = as_user(reviewer).get("/api/screening/reviews/")
        assert response.status_code == 200, response.content
        [item] = response.json()
        assert item["id"] == held.held.pk
        assert item["case"]["reference"] == held.case["reference"]
        assert item["screening"]["verdict"] == "review"
        assert item["law"]["citations"], item
    for other in (world.alice, world.bob, world.dave, world.eve):
        response = as_user(other).get("/api/screening/reviews/")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_a_reviewer_of_another_forum_sees_nothing_of_this_one(world, held, as_user):
    from tests.factories import UserFactory

    henry = UserFactory(username="henry")
    services.membership_grant(user=henry, forum=world.other, role=Membership.Role.LEGAL_REVIEWER)
    assert as_user(henry).get("/api/screening/reviews/").json() == []
    response = as_user(henry).post(f"/api/terms/{held.held.pk}/screening/", {"decision": "lawful"}, format="json")
    assert response.status_code == 404


def test_lawful_keeps_the_term_and_lets_the_agreement_become_final(held, grace, as_user):
    response = as_user(grace).post(
        f"/api/terms/{held.held.pk}/screening/", {"decision": "lawful", "note": "A money payment only."}, format="json"
    )
    assert response.status_code == 200, response.content
    term = response.json()
    assert term["screening"]["verdict"] == "pass"
    assert term["reviewed"]["decision"] == "lawful"
    assert term["reviewed"]["by"] == "grace"
    assert term["screening"]["reviewed"] == term["reviewed"]
    assert "screening_reviewed" in timeline_kinds(held)
    held.refresh()
    held.move("decision")
    assert held.client.get(f"/api/cases/{held.id}/agreement/").json()["status"] == "final"


def test_prohibited_takes_the_term_out_of_the_draft(world, held, as_user):
    response = as_user(world.carol).post(
        f"/api/terms/{held.held.pk}/screening/",
        {"decision": "prohibited", "note": "Swara in other words."},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"removed": True}
    agreement = held.client.get(f"/api/cases/{held.id}/agreement/").json()
    assert [(t["position"], t["kind"]) for t in agreement["terms"]] == [(1, "apology"), (2, "truce")]
    assert agreement["revision"] == 2
    events = held.client.get(f"/api/cases/{held.id}/timeline/").json()
    reviewed = [e for e in events if e["kind"] == "screening_reviewed"]
    blocked = [e for e in events if e["kind"] == "prohibited_term_blocked"]
    assert reviewed[-1]["data"]["decision"] == "prohibited"
    assert blocked[-1]["actor"] == "carol"
    assert blocked[-1]["data"]["practice"] == PRACTICE
    assert blocked[-1]["data"]["citations"]
    held.refresh()
    held.move("decision")  # Nothing waits any more.


def test_a_decided_term_is_not_under_review(held, grace, as_user):
    client = as_user(grace)
    assert (
        client.post(f"/api/terms/{held.held.pk}/screening/", {"decision": "lawful"}, format="json").status_code == 200
    )
    again = client.post(f"/api/terms/{held.held.pk}/screening/", {"decision": "prohibited"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_under_review"
    passed = Term.objects.filter(agreement__case_id=held.id, position=1).get()
    other = client.post(f"/api/terms/{passed.pk}/screening/", {"decision": "lawful"}, format="json")
    assert other.json()["error"]["code"] == "not_under_review"


def test_who_may_decide(world, held, as_user):
    url = f"/api/terms/{held.held.pk}/screening/"
    assert as_user(world.alice).post(url, {"decision": "lawful"}, format="json").status_code == 403
    assert as_user(world.bob).post(url, {"decision": "lawful"}, format="json").status_code == 403
    assert as_user(world.eve).post(url, {"decision": "lawful"}, format="json").status_code == 404
    assert as_user(world.frank).post(url, {"decision": "lawful"}, format="json").status_code == 404
    assert (
        as_user(world.carol).post("/api/terms/999999/screening/", {"decision": "lawful"}, format="json").status_code
        == 404
    )
    bad = as_user(world.carol).post(url, {"decision": "maybe"}, format="json")
    assert bad.status_code == 400
    assert "decision" in bad.json()["error"]["fields"]


def test_a_decision_is_remembered_for_the_same_words(held, grace, as_user):
    """The reviewer's decision becomes a labelled example: the same text posted again is decided the same way."""
    held_text = held.held.description
    as_user(grace).post(f"/api/terms/{held.held.pk}/screening/", {"decision": "lawful"}, format="json")
    example = ScreeningExample.objects.get()
    assert (example.prohibited, example.source, example.decided_by.username) == (False, "review", "grace")
    reposted = held.agree([*ORDINARY_TERMS[:1], {"kind": "compensation", "description": "  " + held_text + " "}])
    second = reposted.json()["terms"][1]
    assert second["screening"]["verdict"] == "pass"
    assert second["reviewed"]["decision"] == "lawful"


def test_a_prohibited_decision_refuses_the_same_words_next_time(held, grace, as_user):
    held_text = held.held.description
    as_user(grace).post(f"/api/terms/{held.held.pk}/screening/", {"decision": "prohibited"}, format="json")
    refused = held.agree([{"kind": "other", "description": held_text}], expect=422)
    assert refused.json()["error"]["code"] == "prohibited_term"


def test_a_legal_reviewer_reads_the_case_but_attends_no_session(world, held, grace, as_user):
    assert as_user(grace).get(f"/api/cases/{held.id}/").status_code == 200
    assert not session_rules.case_rules.is_forum_member(grace, world.jirga)


def test_the_reviewers_page_decides(world, held, grace, client):
    client.force_login(grace)
    page = client.get("/screening/reviews/")
    assert page.status_code == 200
    assert held.held.description in page.content.decode()
    response = client.post(f"/screening/terms/{held.held.pk}/", {"decision": "prohibited", "note": "No."})
    assert response.status_code == 302
    assert not Term.objects.filter(pk=held.held.pk).exists()
    client.force_login(world.alice)
    assert client.get("/screening/reviews/").status_code == 403


def test_the_case_page_marks_a_held_term(world, held, client):
    client.force_login(world.alice)
    page = client.get(f"/cases/{held.id}/").content.decode()
    assert "Held for legal review" in page
    assert "cannot become final until a legal reviewer decides" in page


def test_the_reviewer_sees_how_many_terms_wait_beside_the_link_on_every_page(world, held, grace, client):
    client.force_login(grace)
    page = client.get("/").content.decode()
    link = page[page.index('id="nav-reviews"') : page.index("</a>", page.index('id="nav-reviews"'))]
    assert "terms waiting:" in link
    assert link.rstrip().endswith("1</span>")
    services.term_screening_decide(user=grace, term_id=held.held.pk, decision="lawful", note="")
    page = client.get("/").content.decode()
    assert 'id="nav-reviews"' in page
    assert "terms waiting:" not in page
    client.force_login(world.alice)  # A facilitator has no such link.
    assert 'id="nav-reviews"' not in client.get("/").content.decode()
