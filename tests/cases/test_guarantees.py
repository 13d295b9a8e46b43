"""The guarantees ledger (issue 19, item 2): guarantors and deposits on a case, called in or forfeited only
after a recorded breach, deposits returned, and no closing as resolved while a deposit is held."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from cases.models import CaseEvent, PatternMonth
from reports import patterns
from tests.conftest import token_client

pytestmark = pytest.mark.usefixtures("postgres")

MONEY = {
    "kind": "money",
    "amount": "50000.00",
    "currency": "PKR",
    "held_by": "Malik Gul Khan, the jirga's elder",
    "deposited_by": "second_party",
    "received_at": "2026-11-02",
}
GOODS = {
    "kind": "goods",
    "description": "Two rifles",
    "held_by": "Haji Abdul Wahid",
    "deposited_by": "first_party",
    "received_at": "2026-11-03",
}


def _events(case_id: int, kind: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case_id=case_id, kind=kind).order_by("seq"))


def _breach(case) -> None:
    """A monitor's (here: the facilitator's) breached check: a `breach_recorded` event on the timeline."""
    response = case.client.post(
        f"/api/cases/{case.id}/compliance-checks/",
        {"term": case.terms[0]["id"], "status": "breached", "notes": "The channel was blocked again."},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content


def test_a_facilitator_adds_and_lists_guarantors_and_deposits(open_case):
    case = open_case()
    first = next(p for p in case.case["parties"] if p["role"] == "first_party")
    client = case.client

    named = client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "second_party", "name": "Haji Sher Ali", "guarantees": "That the truce holds for a year."},
        format="json",
    )
    assert named.status_code == 201, named.content
    assert named.json()["name"] == "Haji Sher Ali"
    assert named.json()["status"] == "active"
    party = client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "first_party", "party": first["id"], "guarantees": "The first payment."},
        format="json",
    )
    assert party.status_code == 201, party.content
    assert party.json()["pseudonym"] == first["pseudonym"]

    money = client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json")
    assert money.status_code == 201, money.content
    assert (money.json()["amount"], money.json()["currency"], money.json()["status"]) == ("50000.00", "PKR", "held")
    goods = client.post(f"/api/cases/{case.id}/deposits/", GOODS, format="json")
    assert goods.status_code == 201, goods.content
    assert goods.json()["amount"] is None

    guarantors = client.get(f"/api/cases/{case.id}/guarantors/").json()
    assert [g["name"] for g in guarantors] == ["Haji Sher Ali", ""]
    deposits = client.get(f"/api/cases/{case.id}/deposits/").json()
    assert [d["kind"] for d in deposits] == ["money", "goods"]

    # The timeline says what happened with ids, sides, kinds and amounts, never a name.
    added = _events(case.id, "guarantor_added")
    received = _events(case.id, "deposit_received")
    assert [e.data["stands_for"] for e in added] == ["second_party", "first_party"]
    assert received[0].data["amount"] == "50000.00"
    assert received[0].data["kind"] == "money"
    timeline = client.get(f"/api/cases/{case.id}/timeline/").content.decode()
    for name in ("Haji Sher Ali", "Malik Gul Khan", "Haji Abdul Wahid", "rifles"):
        assert name not in timeline

    # Names are encrypted at rest: the database holds no plain name.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, guarantees FROM cases_guarantor WHERE case_id = %s", [case.id])
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
        cursor.execute("SELECT held_by, description FROM cases_deposit WHERE case_id = %s", [case.id])
        stored += " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "Sher Ali" not in stored
    assert "Gul Khan" not in stored
    assert "rifles" not in stored


def test_bad_input_is_a_400_with_fields(open_case, world):
    case = open_case()
    client = case.client
    no_amount = client.post(f"/api/cases/{case.id}/deposits/", {**MONEY, "amount": None}, format="json")
    assert no_amount.status_code == 400
    assert "amount" in no_amount.json()["error"]["fields"]
    both = client.post(
        f"/api/cases/{case.id}/guarantors/", {"stands_for": "first_party", "guarantees": "x"}, format="json"
    )
    assert both.status_code == 400
    assert "name" in both.json()["error"]["fields"]
    # A party of another case is not this case's guarantor.
    other = open_case()
    stranger = other.case["parties"][0]["id"]
    response = client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "first_party", "party": stranger, "guarantees": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "party" in response.json()["error"]["fields"]


def test_forfeit_and_call_are_refused_before_a_breach_and_allowed_after(final_case):
    case = final_case()
    client = case.client
    deposit = client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").json()
    guarantor = client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "second_party", "name": "Haji Sher Ali", "guarantees": "The payment."},
        format="json",
    ).json()

    refused = client.post(f"/api/deposits/{deposit['id']}/forfeit/", {"reason": "They broke it"}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "breach_not_recorded"
    refused = client.post(f"/api/guarantors/{guarantor['id']}/call/", {"reason": "They broke it"}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "breach_not_recorded"
    assert not _events(case.id, "deposit_forfeited")

    _breach(case)
    no_reason = client.post(f"/api/deposits/{deposit['id']}/forfeit/", {}, format="json")
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["code"] == "reason_required"

    forfeited = client.post(
        f"/api/deposits/{deposit['id']}/forfeit/", {"reason": "The second family blocked the channel."}, format="json"
    )
    assert forfeited.status_code == 200, forfeited.content
    assert forfeited.json()["status"] == "forfeited"
    [event] = _events(case.id, "deposit_forfeited")
    assert event.data["deposit"] == deposit["id"]
    assert event.data["reason"] == "The second family blocked the channel."
    assert event.actor.username == "alice"
    again = client.post(f"/api/deposits/{deposit['id']}/forfeit/", {"reason": "again"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "deposit_settled"

    called = client.post(f"/api/guarantors/{guarantor['id']}/call/", {"reason": "The payment is late."}, format="json")
    assert called.status_code == 200, called.content
    assert called.json()["status"] == "called"
    [event] = _events(case.id, "guarantor_called")
    assert event.data == {"guarantor": guarantor["id"], "stands_for": "second_party", "reason": "The payment is late."}


def test_closing_as_resolved_waits_for_every_deposit(final_case):
    case = final_case()
    client = case.client
    held = client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").json()
    goods = client.post(f"/api/cases/{case.id}/deposits/", GOODS, format="json").json()
    case.move("implementation")
    case.check_all_terms("met")
    refused = case.move("closed", expect=422, outcome="resolved", reason="Kept")
    assert refused.json()["error"]["code"] == "deposit_open"
    assert "deposit" in refused.json()["error"]["detail"]

    assert client.post(f"/api/deposits/{held['id']}/return/", {}, format="json").status_code == 200
    assert case.move("closed", expect=422, outcome="resolved", reason="Kept").json()["error"]["code"] == "deposit_open"
    # A breach later, then the goods are forfeited: nothing is held any more.
    _breach(case)
    case.check_all_terms("met")
    response = client.post(f"/api/deposits/{goods['id']}/forfeit/", {"reason": "Shots fired"}, format="json")
    assert response.status_code == 200
    case.move("closed", outcome="resolved", reason="Kept")
    assert case.case["state"] == "closed"
    assert [e.data["deposit"] for e in _events(case.id, "deposit_returned")] == [held["id"]]


def test_other_outcomes_close_with_a_deposit_held_and_it_is_returned_after(final_case):
    case = final_case()
    deposit = case.client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").json()
    case.move("implementation")
    case.move("closed", outcome="breakdown", reason="The families walked away")
    # The ended case keeps its ledger closed to new entries, but a held deposit still goes back.
    late = case.client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json")
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "case_not_open"
    returned = case.client.post(f"/api/deposits/{deposit['id']}/return/", {"reason": "Case ended"}, format="json")
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"


def test_who_may_do_what(final_case, world):
    case = final_case()
    deposit = case.client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").json()
    guarantor = case.client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "first_party", "name": "Haji Sher Ali", "guarantees": "The truce."},
        format="json",
    ).json()
    _breach(case)

    monitor = token_client(world.bob)  # bob monitors the jirga: reads, never records or calls in.
    assert len(monitor.get(f"/api/cases/{case.id}/deposits/").json()) == 1
    assert len(monitor.get(f"/api/cases/{case.id}/guarantors/").json()) == 1
    assert monitor.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").status_code == 403
    assert monitor.post(f"/api/deposits/{deposit['id']}/forfeit/", {"reason": "x"}, format="json").status_code == 403
    assert monitor.post(f"/api/guarantors/{guarantor['id']}/call/", {"reason": "x"}, format="json").status_code == 403

    for outsider in (world.eve, world.frank, world.dave):  # nobody, another forum's facilitator, a regulator
        client = token_client(outsider)
        for path in (f"/api/cases/{case.id}/deposits/", f"/api/cases/{case.id}/guarantors/"):
            response = client.get(path)
            assert response.status_code == 404, (outsider, path)
            assert response.json()["error"]["code"] == "not_found"
            assert client.post(path, MONEY, format="json").status_code in (400, 404)
        for path in (
            f"/api/deposits/{deposit['id']}/forfeit/",
            f"/api/deposits/{deposit['id']}/return/",
            f"/api/guarantors/{guarantor['id']}/call/",
        ):
            assert client.post(path, {"reason": "x"}, format="json").status_code == 404, (outsider, path)
    assert token_client(world.eve).post("/api/deposits/999999/return/", {}, format="json").status_code == 404
    assert _events(case.id, "deposit_forfeited") == []


def test_the_monitors_page_lists_guarantors_and_deposits(final_case, world, client):
    case = final_case()
    case.client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json")
    case.client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "second_party", "name": "Haji Sher Ali", "guarantees": "That the truce holds."},
        format="json",
    )
    client.force_login(world.bob)
    page = client.get("/monitor/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Haji Sher Ali" in text
    assert "That the truce holds." in text
    assert "50,000" in text or "50000" in text
    assert "Malik Gul Khan" in text


def test_the_case_page_shows_the_ledger_and_its_forms_to_facilitators(open_case, world, client):
    case = open_case()
    case.client.post(f"/api/cases/{case.id}/deposits/", GOODS, format="json")
    client.force_login(world.alice)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "Two rifles" in page
    assert f"/cases/{case.id}/guarantees/deposits/" in page  # The facilitator's form.
    client.force_login(world.bob)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "Two rifles" in page
    assert f"/cases/{case.id}/guarantees/deposits/" not in page


def test_the_case_page_forms_record_and_refuse_like_the_api(final_case, world, client):
    case = final_case()
    client.force_login(world.alice)
    response = client.post(
        f"/cases/{case.id}/guarantees/deposits/",
        {"kind": "money", "amount": "1000", "currency": "pkr", "held_by": "The elder", "deposited_by": "first_party",
         "received_at": "2026-11-01"},
    )  # fmt: skip
    assert response.status_code == 302
    [deposit] = case.client.get(f"/api/cases/{case.id}/deposits/").json()
    assert (deposit["amount"], deposit["currency"]) == ("1000.00", "PKR")

    # Before a breach the page offers no forfeit; a forged post is refused with the reason, in the section.
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert f"/guarantees/deposits/{deposit['id']}/forfeit/" not in page
    refused = client.post(f"/cases/{case.id}/guarantees/deposits/{deposit['id']}/forfeit/", {"reason": "Broken"})
    assert refused.status_code == 422
    assert "only after a recorded breach" in refused.content.decode()

    _breach(case)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert f"/guarantees/deposits/{deposit['id']}/forfeit/" in page
    done = client.post(f"/cases/{case.id}/guarantees/deposits/{deposit['id']}/forfeit/", {"reason": "Broken"})
    assert done.status_code == 302
    assert "Forfeited" in client.get(f"/cases/{case.id}/").content.decode()

    # Another forum's facilitator: the deposit does not exist for them.
    client.force_login(world.frank)
    assert client.post(f"/cases/{case.id}/guarantees/deposits/{deposit['id']}/return/", {}).status_code == 404


def test_the_regulators_patterns_count_forfeitures_and_calls_and_hide_small_counts(final_case, world):
    case = final_case()
    deposit = case.client.post(f"/api/cases/{case.id}/deposits/", MONEY, format="json").json()
    guarantor = case.client.post(
        f"/api/cases/{case.id}/guarantors/",
        {"stands_for": "second_party", "name": "Haji Sher Ali", "guarantees": "The payment."},
        format="json",
    ).json()
    _breach(case)
    case.client.post(f"/api/deposits/{deposit['id']}/forfeit/", {"reason": "Broken"}, format="json")
    case.client.post(f"/api/guarantors/{guarantor['id']}/call/", {"reason": "Broken"}, format="json")
    patterns.summarise(full=True, safety_lag=0)
    totals = [(row.deposits_forfeited, row.guarantors_called) for row in PatternMonth.objects.all()]
    assert (sum(f for f, _ in totals), sum(c for _, c in totals)) == (1, 1)

    regulator = token_client(world.dave)
    cells = regulator.get("/api/reports/patterns/").json()["cells"]
    assert cells
    for cell in cells:
        # One of each: fewer than min_cell, never published.
        assert cell["deposits_forfeited"] in (None, 0)
        assert cell["guarantors_called"] in (None, 0)
    assert any(cell["deposits_forfeited"] is None and cell["suppressed"] for cell in cells)
