"""Asking a legal reviewer instead of a refusal: a facilitator who believes a refused term is lawful sends it again
with `ask_review`; it is stored, held and marked, the agreement cannot become final, and the reviewer's decision
ends it (prohibited: out of the draft, as the refusal would have; lawful: kept, and the same words pass next time).
A text a reviewer has already found prohibited cannot be sent to review again."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from cases import services
from cases.models import Term
from tests.cases.conftest import ORDINARY_TERMS

pytestmark = pytest.mark.django_db

SWARA = {
    "kind": "other",
    "description": "The offender's family gives a girl in marriage to the victim's family (swara).",
}
PRACTICE = "woman-given-in-settlement"


@pytest.fixture
def hearing(open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    return case


def events(case, kind: str) -> list[dict]:
    return [e for e in case.client.get(f"/api/cases/{case.id}/timeline/").json() if e["kind"] == kind]


def test_a_refusal_says_a_reviewer_may_be_asked(hearing):
    error = hearing.agree([*ORDINARY_TERMS, SWARA], expect=422).json()["error"]
    assert error["code"] == "prohibited_term"
    assert error["fields"]["terms"]["3"]["may_ask_review"] is True
    assert error["fields"]["terms"]["3"]["practice"] == PRACTICE


def test_asking_a_reviewer_stores_the_refused_term_held_and_marked(hearing):
    response = hearing.agree([*ORDINARY_TERMS, {**SWARA, "ask_review": True}])
    terms = response.json()["terms"]
    assert [t["screening"]["verdict"] for t in terms] == ["pass", "pass", "pass", "review"]
    assert terms[3]["screening"]["practice"] == PRACTICE
    assert terms[3]["screening"]["refused"] is True
    assert "refused" not in terms[0]["screening"]  # Others keep the contract's shape exactly.
    recorded = events(hearing, "agreement_recorded")[-1]["data"]
    assert recorded["held_for_review"] == [4]
    assert recorded["refused_then_held"] == [4]
    assert events(hearing, "prohibited_term_blocked") == []  # Not refused: waiting for the reviewer.
    hearing.move("legality_review")
    assert hearing.move("decision", expect=422).json()["error"]["code"] == "screening_pending"


def test_the_reviewer_finding_it_prohibited_takes_it_out_as_the_refusal_would_have(hearing, grace, as_user):
    hearing.agree([*ORDINARY_TERMS, {**SWARA, "ask_review": True}])
    queue = as_user(grace).get("/api/screening/reviews/").json()
    assert [item["screening"].get("refused") for item in queue] == [True]
    decided = as_user(grace).post(
        f"/api/terms/{queue[0]['id']}/screening/", {"decision": "prohibited", "note": "Swara."}, format="json"
    )
    assert decided.json() == {"removed": True}
    assert [t["kind"] for t in hearing.client.get(f"/api/cases/{hearing.id}/agreement/").json()["terms"]] == [
        "apology", "compensation", "truce",
    ]  # fmt: skip
    blocked = events(hearing, "prohibited_term_blocked")
    assert [(e["actor"], e["data"]["practice"]) for e in blocked] == [("grace", PRACTICE)]
    # Now a reviewer has found these words prohibited: asking again is refused, and not offered.
    again = hearing.agree([{**SWARA, "ask_review": True}], expect=422).json()["error"]
    assert again["code"] == "prohibited_term"
    assert "may_ask_review" not in again["fields"]["terms"]["0"]


def test_the_reviewer_finding_it_lawful_clears_the_same_words_for_good(hearing, grace, as_user):
    hearing.agree([{**SWARA, "ask_review": True}])
    term = Term.objects.get(agreement__case_id=hearing.id)
    kept = as_user(grace).post(f"/api/terms/{term.pk}/screening/", {"decision": "lawful"}, format="json").json()
    assert kept["screening"]["verdict"] == "pass"
    assert kept["screening"]["refused"] is True  # What happened stays visible.
    assert kept["reviewed"]["decision"] == "lawful"
    again = hearing.agree([SWARA]).json()["terms"][0]  # No need to ask again.
    assert again["screening"]["verdict"] == "pass"
    assert again["reviewed"]["decision"] == "lawful"


def test_a_held_refused_term_stays_held_when_a_term_is_added(world, hearing):
    hearing.agree([{**SWARA, "ask_review": True}])
    agreement, position = services.agreement_term_add(
        user=world.alice, case_id=hearing.id, term={"kind": "apology", "description": "A public apology."}
    )
    assert position == 2
    terms = list(agreement.terms.order_by("position"))
    assert [(t.screening_verdict, t.screening_refused) for t in terms] == [("review", True), ("pass", False)]


def test_asking_for_review_on_a_term_that_passes_changes_nothing(hearing):
    term = hearing.agree([{**ORDINARY_TERMS[0], "ask_review": True}]).json()["terms"][0]
    assert term["screening"] == {"verdict": "pass", "practice": None, "detail": ""}


def _terms_form(terms: list[dict]) -> dict:
    data = {"terms-TOTAL_FORMS": str(len(terms)), "terms-INITIAL_FORMS": "0", "terms-MIN_NUM_FORMS": "1",
            "terms-MAX_NUM_FORMS": "100"}  # fmt: skip
    for index, term in enumerate(terms):
        for key, value in term.items():
            data[f"terms-{index}-{key}"] = value
    return data


def test_the_page_offers_the_reviewer_on_the_refused_term_only(world, hearing, client):
    client.force_login(world.alice)
    url = f"/cases/{hearing.id}/agreement/"
    refused = client.post(url, _terms_form([ORDINARY_TERMS[0], SWARA]))
    assert refused.status_code == 422
    rows = re.findall(r'<fieldset class="row term-row[^"]*">.*?</fieldset>', refused.content.decode(), re.S)
    rows = [row for row in rows if "__prefix__" not in row]
    assert ["ask a legal reviewer to decide" in row for row in rows] == [False, True]
    sent = client.post(url, _terms_form([ORDINARY_TERMS[0], {**SWARA, "ask_review": "on"}]))
    assert sent.status_code == 302
    page = client.get(f"/cases/{hearing.id}/").content.decode()
    assert "Refused by the screening; the facilitator asked a legal reviewer" in page
    # The editor keeps the choice, so that recording the draft again keeps the term held.
    assert re.search(r'name="terms-1-ask_review"[^>]*checked', page)


REASON = "Here the girl is not given: the two families agreed her marriage long before the quarrel, with her consent."


def test_the_facilitators_reason_goes_to_the_reviewer_encrypted(hearing, grace, as_user, world, client):
    term = hearing.agree([{**SWARA, "ask_review": True, "ask_review_reason": f"  {REASON} "}]).json()["terms"][0]
    assert term["screening"]["ask_review_reason"] == REASON
    queue = as_user(grace).get("/api/screening/reviews/").json()
    assert queue[0]["screening"]["ask_review_reason"] == REASON
    client.force_login(grace)
    page = client.get("/screening/reviews/").content.decode()
    assert "The facilitator's reason:" in page
    assert REASON.replace("'", "&#x27;") in page
    with connection.cursor() as cursor:  # Stored encrypted, as the term's own words are.
        cursor.execute("SELECT review_reason FROM cases_term WHERE id = %s", [term["id"]])
        stored = cursor.fetchone()[0]
    assert stored
    assert "girl" not in stored
    # Recording the draft again (a term added) keeps the reason with the held term.
    services.agreement_term_add(user=world.alice, case_id=hearing.id, term={"kind": "apology", "description": "Sorry."})
    assert Term.objects.get(agreement__case_id=hearing.id, position=1).review_reason == REASON


def test_a_reason_is_kept_only_with_a_term_held_on_request(hearing):
    terms = hearing.agree([
        {**ORDINARY_TERMS[0], "ask_review": True, "ask_review_reason": "It passes anyway."},
        {**SWARA, "ask_review": True, "ask_review_reason": ""},
    ]).json()["terms"]  # fmt: skip
    assert [t["screening"].get("ask_review_reason") for t in terms] == [None, None]
    assert list(Term.objects.filter(agreement__case_id=hearing.id).values_list("review_reason", flat=True)) == ["", ""]


def test_a_reason_too_long_or_not_text_is_refused_and_nothing_is_stored(hearing):
    for reason in ("x" * 501, ["a"], {"why": "lawful"}):
        error = hearing.agree([{**SWARA, "ask_review": True, "ask_review_reason": reason}], expect=400).json()["error"]
        assert error["code"] == "invalid"  # The API's 400 for a field (a body that is not JSON is malformed).
        assert "ask_review_reason" in error["fields"]["terms"]["0"]
    assert not Term.objects.filter(agreement__case_id=hearing.id).exists()
    assert events(hearing, "prohibited_term_blocked") == []


def test_the_page_takes_the_reason_on_the_refused_row(world, hearing, client):
    client.force_login(world.alice)
    url = f"/cases/{hearing.id}/agreement/"
    refused = client.post(url, _terms_form([ORDINARY_TERMS[0], SWARA])).content.decode()
    assert 'name="terms-1-ask_review_reason"' in refused
    assert 'name="terms-0-ask_review_reason"' not in refused
    sent = client.post(
        url, _terms_form([ORDINARY_TERMS[0], {**SWARA, "ask_review": "on", "ask_review_reason": REASON}])
    )
    assert sent.status_code == 302
    assert Term.objects.get(agreement__case_id=hearing.id, position=2).review_reason == REASON
