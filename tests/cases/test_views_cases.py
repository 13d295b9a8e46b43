"""The facilitator's case pages: list, new case, case page with its moves and agreement editor.

alice facilitates Swat Jirga and Irbid Sulha, bob monitors Swat Jirga, carol administers, dave
regulates, eve belongs to nothing, frank facilitates Elsewhere Committee.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case
from tests.cases.conftest import ORDINARY_TERMS

pytestmark = pytest.mark.django_db

SWARA = "The offender's family gives a girl in marriage to the victim's family (swara)."
HTMX = {"HTTP_HX_REQUEST": "true"}


def open_case(world, forum=None, by=None, **overrides) -> Case:
    fields = {
        "title": "Water dispute over the irrigation channel",
        "dispute_type": "water",
        "risk_level": "medium",
        "offence_class": "compoundable",
        "parties": [
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
        ],
    }
    fields.update(overrides)
    return services.case_open(user=by or world.alice, forum=forum or world.jirga, **fields)


def move(world, case: Case, *states: str, **extra) -> Case:
    for state in states:
        case.refresh_from_db()
        services.case_transition(user=world.alice, case_id=case.pk, to=state, version=case.version, **extra)
    case.refresh_from_db()
    return case


def agree(world, case: Case, terms=None) -> None:
    services.agreement_record(
        user=world.alice,
        case_id=case.pk,
        terms=[{**t, "amount": t.get("amount"), "due": None} for t in (terms or ORDINARY_TERMS)],
    )


def logged_in(client, user) -> Client:
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def new_case_form(forum, **overrides) -> dict:
    data = {
        "forum": forum.pk,
        "title": "Water dispute over the irrigation channel",
        "summary": "The upper family diverted the channel in spring.",
        "dispute_type": "water",
        "risk_level": "medium",
        "offence_class": "compoundable",
        "referral_source": "",
        "fir_number": "",
        "parties-TOTAL_FORMS": "2",
        "parties-INITIAL_FORMS": "2",
        "parties-MIN_NUM_FORMS": "2",
        "parties-MAX_NUM_FORMS": "50",
        "parties-0-name": "Khan family",
        "parties-0-kind": "family",
        "parties-0-role": "first_party",
        "parties-1-name": "Yousaf family",
        "parties-1-kind": "family",
        "parties-1-role": "second_party",
    }
    data.update(overrides)
    return data


def terms_form(terms: list[dict]) -> dict:
    data = {
        "terms-TOTAL_FORMS": str(len(terms)),
        "terms-INITIAL_FORMS": "0",
        "terms-MIN_NUM_FORMS": "1",
        "terms-MAX_NUM_FORMS": "100",
    }
    for index, term in enumerate(terms):
        for key, value in term.items():
            data[f"terms-{index}-{key}"] = value
    return data


def transition_form(case: Case, to: str, **extra) -> dict:
    return {"to": to, "version": case.version, **extra}


# --- The list --------------------------------------------------------------------------------------


def test_the_list_needs_a_login(client):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("who", "seen"),
    [
        ("alice", {"Jirga case", "Sulha case"}),
        ("bob", {"Jirga case"}),
        ("carol", {"Jirga case", "Sulha case", "Elsewhere case"}),
        ("frank", {"Elsewhere case"}),
        ("dave", set()),
        ("eve", set()),
    ],
)
def test_the_list_shows_only_the_cases_of_my_forums(client, world, who, seen):
    open_case(world, title="Jirga case")
    open_case(world, forum=world.sulha, title="Sulha case")
    open_case(world, forum=world.other, by=world.frank, title="Elsewhere case")
    page = html(logged_in(client, getattr(world, who)).get("/cases/"))
    shown = {title for title in ("Jirga case", "Sulha case", "Elsewhere case") if title in page}
    assert shown == seen
    if not seen:
        assert "No cases match." in page


def test_each_row_links_to_its_case(client, world):
    case = open_case(world)
    page = html(logged_in(client, world.alice).get("/cases/"))
    assert f'href="/cases/{case.pk}/"' in page
    assert case.reference in page
    assert "Intake" in page


def test_the_list_filters_by_forum_state_and_dispute_type(client, world):
    water = open_case(world, title="Channel feud")
    land = open_case(world, forum=world.sulha, title="Orchard boundary", dispute_type="land")
    move(world, water, "mandate")
    client = logged_in(client, world.alice)

    assert "Orchard boundary" not in html(client.get("/cases/", {"forum": world.jirga.pk}))
    assert "Channel feud" in html(client.get("/cases/", {"forum": world.jirga.pk}))
    by_state = html(client.get("/cases/", {"state": "mandate"}))
    assert "Channel feud" in by_state
    assert "Orchard boundary" not in by_state
    by_type = html(client.get("/cases/", {"dispute_type": "land"}))
    assert "Orchard boundary" in by_type
    assert "Channel feud" not in by_type
    assert land.reference in html(client.get("/cases/", {"q": land.reference}))


def test_the_search_box_finds_words_of_the_title(client, world):
    open_case(world, title="Water dispute over the irrigation channel")
    open_case(world, title="Stolen goats at the market", dispute_type="theft")
    page = html(logged_in(client, world.alice).get("/cases/", {"q": "irrigation"}))
    assert "irrigation channel" in page
    assert "Stolen goats" not in page
    assert "1 case" in page


@pytest.mark.parametrize(
    "params",
    [
        {"forum": "jirga"},
        {"forum": "999999"},
        {"state": "nowhere"},
        {"dispute_type": "cattle"},
        {"page": "zzz"},
        {"page": "-3"},
        {"q": "x" * 500},
        {"q": "'\"<>&|!"},
    ],
)
def test_unusable_filters_never_break_the_list(client, world, params):
    open_case(world)
    response = logged_in(client, world.alice).get("/cases/", params)
    assert response.status_code == 200


def test_the_list_costs_the_same_number_of_queries_for_10_and_60_cases(client, world, django_assert_max_num_queries):
    client = logged_in(client, world.alice)
    for number in range(10):
        open_case(world, title=f"Case {number}")
    with CaptureQueriesContext(connection) as ten:
        assert client.get("/cases/").status_code == 200
    for number in range(10, 60):
        open_case(world, forum=world.sulha if number % 2 else world.jirga, title=f"Case {number}")
    with django_assert_max_num_queries(len(ten.captured_queries)):
        page = html(client.get("/cases/"))
    assert "60 cases" in page
    assert len(re.findall(r'class="case-row"', page)) == 50


def test_the_list_is_paginated_by_50(client, world):
    for number in range(55):
        open_case(world, title=f"Numbered case {number}")
    client = logged_in(client, world.alice)
    first = html(client.get("/cases/"))
    assert 'rel="next"' in first
    second = html(client.get("/cases/", {"page": 2}))
    assert len(re.findall(r'class="case-row"', second)) == 5
    assert "Page 2 of 2" in second


def test_an_htmx_request_gets_only_the_results(client, world):
    open_case(world, title="Channel feud")
    response = logged_in(client, world.alice).get("/cases/", {"q": "feud"}, **HTMX)
    body = html(response)
    assert response.status_code == 200
    assert body.startswith('<section id="case-results"')
    assert "<html" not in body
    assert "Channel feud" in body
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_works_with_and_without_htmx(client, world):
    page = html(logged_in(client, world.alice).get("/cases/"))
    assert 'method="get" action="/cases/"' in page
    assert 'hx-get="/cases/"' in page
    assert 'hx-target="#case-results"' in page
    assert 'hx-push-url="true"' in page


# --- Opening a case ----------------------------------------------------------------------------------


def test_the_new_case_form_offers_only_the_forums_i_facilitate(client, world):
    page = html(logged_in(client, world.alice).get("/cases/new/"))
    assert "Swat Jirga" in page
    assert "Irbid Sulha" in page
    assert "Elsewhere Committee" not in page
    # Two party rows to start with: the first and the second party.
    assert 'name="parties-1-role"' in page
    assert 'name="parties-2-role"' not in page
    assert re.search(r'name="parties-0-role"[^>]*>.*?<option value="first_party" selected', page, re.S)
    assert re.search(r'name="parties-1-role"[^>]*>.*?<option value="second_party" selected', page, re.S)
    assert 'data-add-row="parties"' in page


def test_an_administrator_may_open_a_case_in_any_forum(client, world):
    page = html(logged_in(client, world.carol).get("/cases/new/"))
    assert "Elsewhere Committee" in page
    assert "Swat Jirga" in page


@pytest.mark.parametrize("who", ["bob", "dave", "eve"])
def test_who_facilitates_nothing_cannot_open_a_case(client, world, who):
    client = logged_in(client, getattr(world, who))
    response = client.get("/cases/new/")
    assert response.status_code == 403
    assert "you facilitate no forum" in html(response)
    assert client.post("/cases/new/", new_case_form(world.jirga)).status_code == 403
    assert not Case.objects.exists()


def test_opening_a_case_leads_to_its_page(client, world):
    client = logged_in(client, world.alice)
    data = new_case_form(
        world.jirga,
        **{
            "parties-TOTAL_FORMS": "3",
            "parties-2-name": "Malik Gul",
            "parties-2-kind": "person",
            "parties-2-role": "guarantor",
            "fir_number": "FIR 12/2025",
        },
    )
    response = client.post("/cases/new/", data)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.forum == world.jirga
    assert case.fir_number == "FIR 12/2025"
    assert sorted(case.case_parties.values_list("role", flat=True)) == ["first_party", "guarantor", "second_party"]
    page = html(client.get(response["Location"]))
    assert f"Case {case.reference} opened." in page
    assert "Khan family" in page
    assert "Malik Gul" in page


def test_a_blank_added_party_row_is_ignored(client, world):
    data = new_case_form(world.jirga, **{"parties-TOTAL_FORMS": "3"})
    response = logged_in(client, world.alice).post("/cases/new/", data)
    assert response.status_code == 302
    assert Case.objects.get().case_parties.count() == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "x" * 201}, "Ensure this value has at most 200 characters"),
        ({"dispute_type": "cattle"}, "Select a valid choice."),
        ({"parties-1-name": ""}, "This field is required."),
        ({"parties-1-kind": "robot"}, "Select a valid choice."),
    ],
)
def test_field_errors_are_shown_next_to_the_field(client, world, change, message):
    response = logged_in(client, world.alice).post("/cases/new/", new_case_form(world.jirga, **change))
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert "Some fields need your attention." in page
    assert 'value="Khan family"' in page  # What was typed stays.
    assert not Case.objects.exists()


def test_a_forum_i_do_not_facilitate_is_not_a_choice(client, world):
    response = logged_in(client, world.alice).post("/cases/new/", new_case_form(world.other))
    assert response.status_code == 400
    assert "Select a valid choice." in html(response)
    assert not Case.objects.exists()


def test_the_services_refusal_is_shown_in_the_form(client, world):
    data = new_case_form(world.jirga, **{"parties-1-role": "first_party"})
    response = logged_in(client, world.alice).post("/cases/new/", data)
    assert response.status_code == 400
    page = html(response)
    assert "A case needs at least one first party and one second party." in page
    assert "Include at least one first_party and one second_party." in page
    assert not Case.objects.exists()


def test_a_tampered_formset_is_a_400_not_a_500(client, world):
    data = new_case_form(world.jirga)
    del data["parties-TOTAL_FORMS"]
    response = logged_in(client, world.alice).post("/cases/new/", data)
    assert response.status_code == 400
    data = new_case_form(world.jirga, **{"parties-TOTAL_FORMS": "100000"})
    assert logged_in(client, world.alice).post("/cases/new/", data).status_code == 400


# --- The case page -----------------------------------------------------------------------------------


def test_the_case_page_shows_the_case(client, world):
    case = open_case(world, risk_level="high", fir_number="FIR 7")
    page = html(logged_in(client, world.alice).get(f"/cases/{case.pk}/"))
    for text in (
        case.reference,
        case.title,
        "Swat Jirga",
        "Intake",
        "Dialogue",
        "High",
        "Compoundable (the parties may settle it)",
        "Khan family",
        "Yousaf family",
        "First party",
        "FIR 7",
        "Case opened: Water dispute, risk High, at rung 1.",
    ):
        assert text in page, text
    for party in case.case_parties.select_related("party"):
        assert party.party.pseudonym in page
    assert 'data-to="mandate"' in page
    assert f'name="version" value="{case.version}"' in page


@pytest.mark.parametrize("who", ["eve", "dave", "frank"])
def test_a_case_outside_my_forums_does_not_exist(client, world, who):
    case = open_case(world)
    client = logged_in(client, getattr(world, who))
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/transition/", transition_form(case, "mandate")).status_code == 404
    assert client.post(f"/cases/{case.pk}/agreement/", terms_form(ORDINARY_TERMS)).status_code == 404
    case.refresh_from_db()
    assert case.state == "intake"
    assert not hasattr(case, "agreement")


def test_an_unknown_case_is_404(client, world):
    assert logged_in(client, world.alice).get("/cases/999999/").status_code == 404


def test_a_monitor_reads_the_case_but_cannot_change_it(client, world):
    case = open_case(world)
    move(world, case, "mandate", "hearings")
    agree(world, case)
    client = logged_in(client, world.bob)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert case.reference in page
    assert "Only the forum's facilitators move it" in page
    assert "/transition/" not in page
    assert 'id="agreement-form"' not in page
    assert "Draft" in page  # The agreement itself is readable.
    response = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "legality_review"))
    assert response.status_code == 403
    assert "Only the forum&#x27;s facilitators may do this." in html(response)
    assert client.post(f"/cases/{case.pk}/agreement/", terms_form(ORDINARY_TERMS)).status_code == 403
    case.refresh_from_db()
    assert case.state == "hearings"
    assert case.agreement.revision == 1


def test_a_move_through_the_page_redirects_and_lands_on_the_timeline(client, world):
    case = open_case(world)
    client = logged_in(client, world.alice)
    response = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "mandate"))
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state == "mandate"
    page = html(client.get(response["Location"]))
    assert "Moved to Mandate." in page
    assert "Moved from Intake to Mandate." in page
    assert 'data-to="hearings"' in page


def test_a_move_without_its_reason_is_refused_in_the_page(client, world):
    case = open_case(world)
    response = logged_in(client, world.alice).post(f"/cases/{case.pk}/transition/", transition_form(case, "withdrawn"))
    assert response.status_code == 422
    page = html(response)
    assert "This move needs a reason." in page
    # The refusal sits in the form of the move that was refused, and that form is open to be seen.
    assert re.search(r'data-to="withdrawn">.*?This move needs a reason\.', page, re.S)
    assert '<details class="other-moves" open>' in page
    case.refresh_from_db()
    assert case.state == "intake"


def test_a_back_move_with_a_reason_is_shown_with_it(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    agree(world, case)
    case = move(world, case, "legality_review")
    client = logged_in(client, world.alice)
    data = transition_form(case, "hearings", reason="The channel's owner was not heard.")
    assert client.post(f"/cases/{case.pk}/transition/", data).status_code == 302
    page = html(client.get(f"/cases/{case.pk}/"))
    assert "Moved from Legality review to Hearings — reason: The channel&#x27;s owner was not heard." in page


def test_a_stale_version_is_refused_and_the_page_shows_the_case_as_it_is(client, world):
    case = open_case(world)
    stale = case.version
    move(world, case, "mandate")
    response = logged_in(client, world.alice).post(
        f"/cases/{case.pk}/transition/", {"to": "hearings", "version": stale}
    )
    assert response.status_code == 409
    page = html(response)
    assert "The case changed since you loaded it." in page
    assert f'name="version" value="{stale + 1}"' in page
    case.refresh_from_db()
    assert case.state == "mandate"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"to": "closed", "version": 1}, 422),
        ({"to": "nowhere", "version": 1}, 422),
        ({"to": "mandate", "version": "one"}, 400),
        ({"to": "mandate"}, 400),
        ({"to": "truce", "version": 1, "truce_expires": "next spring"}, 400),
        ({}, 400),
    ],
)
def test_nonsense_moves_are_refused_never_a_500(client, world, data, status):
    case = open_case(world)
    response = logged_in(client, world.alice).post(f"/cases/{case.pk}/transition/", data)
    assert response.status_code == status
    assert 'role="alert"' in html(response)
    case.refresh_from_db()
    assert case.state == "intake"


def test_the_decision_state_waits_for_an_agreement(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert "Record an agreement with at least one term first." in page
    assert re.search(r'data-to="legality_review">.*?<button[^>]*disabled', page, re.S)
    response = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "legality_review"))
    assert response.status_code == 422


def test_closing_through_the_page_needs_an_outcome_and_keeps_the_reason(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    agree(world, case)
    case = move(world, case, "legality_review", "decision", "implementation")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert 'name="outcome"' in page
    assert "Partly resolved" in page
    refused = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "closed", reason="Half paid"))
    assert refused.status_code == 422
    assert "Closing needs an outcome" in html(refused)
    assert ">Half paid</textarea>" in html(refused)  # What was typed stays.
    data = transition_form(case, "closed", outcome="partly_resolved", reason="The truce holds; half is paid.")
    assert client.post(f"/cases/{case.pk}/transition/", data).status_code == 302
    page = html(client.get(f"/cases/{case.pk}/"))
    assert 'id="case-state">Closed<' in page
    assert (
        "Moved from Implementation to Closed — reason: The truce holds; half is paid. Outcome: Partly resolved." in page
    )
    assert "/transition/" not in page  # An ended case has no moves,
    assert 'id="agreement-form"' not in page  # and its agreement no editor.


def test_a_truce_move_takes_an_expiry_date(client, world):
    case = move(world, open_case(world, forum=world.sulha), "jaha_appointed")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert 'name="truce_expires"' in page
    data = transition_form(case, "truce", truce_expires="2031-03-01")
    assert client.post(f"/cases/{case.pk}/transition/", data).status_code == 302
    case.refresh_from_db()
    assert str(case.truce_expires) == "2031-03-01"
    assert "The truce runs until 2031-03-01." in html(client.get(f"/cases/{case.pk}/"))


def test_htmx_moves_answer_the_main_section(client, world):
    case = open_case(world)
    client = logged_in(client, world.alice)
    response = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "mandate"), **HTMX)
    body = html(response)
    assert response.status_code == 200
    assert body.startswith('<div id="case-main"')
    assert "<html" not in body
    assert "Moved to Mandate." in body
    assert 'id="case-state">Mandate<' in body
    refused = client.post(f"/cases/{case.pk}/transition/", {"to": "withdrawn", "version": 2}, **HTMX)
    assert refused.status_code == 422
    assert html(refused).startswith('<div id="case-main"')
    assert "This move needs a reason." in html(refused)


def test_the_case_page_asks_htmx_to_swap_its_main_section(client, world):
    case = open_case(world)
    page = html(logged_in(client, world.alice).get(f"/cases/{case.pk}/"))
    assert '<div id="case-main" class="case-main" hx-target="this" hx-swap="outerHTML" data-swap-refusals>' in page
    assert f'hx-post="/cases/{case.pk}/transition/"' in page
    assert f'action="/cases/{case.pk}/transition/"' in page
    assert "js/cases.js" in page


def test_posts_need_the_csrf_token(world):
    case = open_case(world)
    client = logged_in(Client(enforce_csrf_checks=True), world.alice)
    assert client.post(f"/cases/{case.pk}/transition/", transition_form(case, "mandate")).status_code == 403
    assert client.post("/cases/new/", new_case_form(world.jirga)).status_code == 403
    case.refresh_from_db()
    assert case.state == "intake"


# --- The agreement editor ----------------------------------------------------------------------------


def test_the_editor_records_a_draft_and_shows_it(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert 'id="agreement-form"' in page
    assert "No agreement yet." in page
    response = client.post(f"/cases/{case.pk}/agreement/", terms_form(ORDINARY_TERMS))
    assert response.status_code == 302
    page = html(client.get(f"/cases/{case.pk}/"))
    assert "Agreement recorded (revision 1)." in page
    assert "Draft" in page
    assert "Revision 1" in page
    assert "25,000 PKR" in page
    assert "Agreement recorded (revision 1) with 3 terms." in page
    # The editor starts from the draft, so a change replaces it.
    assert 'name="terms-2-description"' in page
    assert "A one-year truce between the two families." in page
    # And one blank row below them, to add a term without JavaScript.
    assert re.search(r'<textarea name="terms-3-description"[^>]*>\s*</textarea>', page)
    assert 'name="terms-4-description"' not in page
    again = terms_form([{"kind": "apology", "description": "A public apology", "currency": "pkr"}])
    assert client.post(f"/cases/{case.pk}/agreement/", again).status_code == 302
    case.refresh_from_db()
    assert case.agreement.revision == 2
    assert list(case.agreement.terms.values_list("currency", flat=True)) == ["PKR"]


def test_a_blank_spare_row_is_skipped(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    data = terms_form([*ORDINARY_TERMS, {"kind": "", "description": "", "amount": "", "currency": "", "due": ""}])
    data["terms-INITIAL_FORMS"] = "3"
    assert logged_in(client, world.alice).post(f"/cases/{case.pk}/agreement/", data).status_code == 302
    case.refresh_from_db()
    assert case.agreement.terms.count() == 3


def test_a_removed_term_is_left_out(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    data = terms_form(ORDINARY_TERMS)
    data["terms-1-DELETE"] = "on"
    assert logged_in(client, world.alice).post(f"/cases/{case.pk}/agreement/", data).status_code == 302
    case.refresh_from_db()
    assert list(case.agreement.terms.values_list("kind", flat=True)) == ["apology", "truce"]


def test_a_prohibited_term_is_refused_next_to_it_with_the_law(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    client = logged_in(client, world.alice)
    terms = [*ORDINARY_TERMS, {"kind": "other", "description": SWARA}]
    response = client.post(f"/cases/{case.pk}/agreement/", terms_form(terms))
    assert response.status_code == 422
    page = html(response)
    # The fourth term carries the refusal and the law; the others do not.
    rows = re.findall(r'<fieldset class="row term-row[^"]*">.*?</fieldset>', page, re.S)
    rows = [row for row in rows if "__prefix__" not in row]  # Not the empty row kept for "Add term".
    assert len(rows) == 4
    assert "refused" in rows[3].split(">")[0]
    assert "310-A" in rows[3]
    assert "Prohibited:" in rows[3]
    assert all("310-A" not in row for row in rows[:3])
    # Everything typed is still there to correct.
    assert "gives a girl in marriage" in rows[3]
    assert "A one-year truce between the two families." in rows[2]
    assert 'value="25000.00"' in rows[1]
    # The attempt is on the timeline, and nothing was recorded.
    assert "A prohibited term was refused" in page
    case.refresh_from_db()
    assert not hasattr(case, "agreement")


def test_a_prohibited_term_through_htmx_comes_back_in_the_section(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    terms = [{"kind": "other", "description": SWARA}]
    response = logged_in(client, world.alice).post(f"/cases/{case.pk}/agreement/", terms_form(terms), **HTMX)
    assert response.status_code == 422
    assert html(response).startswith('<div id="case-main"')
    assert "310-A" in html(response)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ({"kind": "bribe", "description": "x"}, "Select a valid choice."),
        ({"kind": "apology", "description": ""}, "This field is required."),
        ({"kind": "compensation", "description": "pay", "amount": "-5"}, "greater than or equal to 0"),
        ({"kind": "compensation", "description": "pay", "amount": "lots"}, "Enter a number."),
        ({"kind": "compensation", "description": "pay", "currency": "rupees"}, "at most 3 characters"),
        ({"kind": "compensation", "description": "pay", "currency": "P1R"}, "A three-letter ISO code such as PKR."),
        ({"kind": "apology", "description": "sorry", "due": "soon"}, "Enter a valid date."),
    ],
)
def test_bad_terms_are_shown_in_the_editor(client, world, term, message):
    case = move(world, open_case(world), "mandate", "hearings")
    response = logged_in(client, world.alice).post(f"/cases/{case.pk}/agreement/", terms_form([term]))
    assert response.status_code == 400
    assert message in html(response)


def test_an_agreement_needs_a_term(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    data = terms_form(ORDINARY_TERMS[:1])
    data["terms-0-DELETE"] = "on"
    response = logged_in(client, world.alice).post(f"/cases/{case.pk}/agreement/", data)
    assert response.status_code == 400
    assert "An agreement needs at least one term." in html(response)


def test_a_final_agreement_has_no_editor_and_refuses_a_post(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    agree(world, case)
    case = move(world, case, "legality_review", "decision")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert "Final" in page
    assert 'id="agreement-form"' not in page
    assert "The agreement became final (revision 1)." in page
    response = client.post(f"/cases/{case.pk}/agreement/", terms_form(ORDINARY_TERMS))
    assert response.status_code == 409
    assert "The agreement is final" in html(response)


# --- Home and navigation -----------------------------------------------------------------------------


def test_home_lists_my_open_cases(client, world):
    open_case(world, title="Channel feud")
    ended = open_case(world, title="Old quarrel")
    move(world, ended, "withdrawn", reason="The families left the process.")
    open_case(world, forum=world.other, by=world.frank, title="Elsewhere case")
    page = html(logged_in(client, world.alice).get("/"))
    home = page.split('id="facilitator-home"')[1]
    assert "Channel feud" in home
    assert "Old quarrel" not in home
    assert "Elsewhere case" not in home
    assert 'href="/cases/"' in home
    assert 'href="/cases/new/"' in home
    assert "No open cases." not in home


def test_home_says_when_there_are_no_open_cases(client, world):
    assert "No open cases." in html(logged_in(client, world.alice).get("/"))


@pytest.mark.parametrize(
    ("who", "has_link"), [("alice", True), ("bob", True), ("carol", True), ("dave", False), ("eve", False)]
)
def test_the_top_nav_links_to_the_cases_for_those_who_have_any(client, world, who, has_link):
    nav = html(logged_in(client, getattr(world, who)).get("/")).split('class="topnav"')[1].split("</nav>")[0]
    assert ('href="/cases/"' in nav) is has_link


def test_the_page_asks_before_the_agreement_becomes_final(client, world):
    case = move(world, open_case(world), "mandate", "hearings")
    agree(world, case)
    case = move(world, case, "legality_review")
    client = logged_in(client, world.alice)
    page = html(client.get(f"/cases/{case.pk}/"))
    assert re.search(r'data-to="decision">.*?name="confirm_final" value="1" required', page, re.S)
    assert "This makes the agreement final." in page
    # A browser that does not hold the box back (or a hand-made post) gets the page again, nothing changed.
    refused = client.post(f"/cases/{case.pk}/transition/", transition_form(case, "decision"))
    assert refused.status_code == 400
    assert re.search(r'data-to="decision">.*?tick the box to confirm', html(refused), re.S)
    case.refresh_from_db()
    assert case.state == "legality_review"
    assert case.agreement.status == "draft"
    confirmed = transition_form(case, "decision", confirm_final="1")
    assert client.post(f"/cases/{case.pk}/transition/", confirmed).status_code == 302
    case.refresh_from_db()
    assert case.state == "decision"
    assert case.agreement.status == "final"


def test_other_moves_ask_for_no_confirmation(client, world):
    case = open_case(world)
    page = html(logged_in(client, world.alice).get(f"/cases/{case.pk}/"))
    assert "confirm_final" not in page
