"""Monitoring an agreement: compliance checks (idempotent, with payments against instalments, conflicts
between offline uploads), breaches, recurrence of a feud, closing surveys, what falls due for monitors."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from datetime import UTC

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from accounts import services as account_services
from cases import services
from cases.models import (
    CaseEvent,
    ComplianceCheck,
    ComplianceConflict,
    DueItem,
    Recurrence,
    Reminder,
    Survey,
)
from tests.factories import ForumFactory

# These tests replay months of work with one API client (time_machine): see tokens_outlive_the_simulation.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tokens_outlive_the_simulation")]

INSTALMENT_TERMS = [
    {"kind": "apology", "description": "The second family apologises publicly at the mosque."},
    {
        "kind": "compensation",
        "description": "Repair the channel and pay 30,000 PKR",
        "amount": "30000.00",
        "currency": "PKR",
        "instalments": [
            {"due": "2026-01-31", "amount": "10000.00"},
            {"due": "2026-02-28", "amount": "10000.00"},
            {"due": "2026-03-31", "amount": "10000.00"},
        ],
    },
]


def at(day: str, hour: int = 10):
    return time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC), tick=False)


def post_check(client, case_id, term_id, status="met", key=None, **extra):
    return client.post(
        f"/api/cases/{case_id}/compliance-checks/",
        {"term": term_id, "status": status, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def kinds(client, case_id) -> list[str]:
    return [e["kind"] for e in client.get(f"/api/cases/{case_id}/timeline/").json()]


# --- Compliance checks -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eight_racing_posts_with_one_key_store_one_check(postgres, world, final_case):
    """Eight connections post the same upload at the same moment, through the whole API stack, on PostgreSQL:
    one check, one 201, seven 200s with the same body."""
    case = final_case()
    term = case.terms[0]["id"]
    key = str(uuid.uuid4())
    token = account_services.token_issue(user=world.bob).key
    barrier = threading.Barrier(8)
    results = []
    lock = threading.Lock()

    def upload():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            response = post_check(client, case.id, term, "breached", key=key, notes="Channel blocked again")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(code for code, _ in results) == [200] * 7 + [201]
    assert len({body["id"] for _, body in results}) == 1
    assert ComplianceCheck.objects.filter(case_id=case.id).count() == 1
    assert CaseEvent.objects.filter(case_id=case.id, kind="breach_recorded").count() == 1
    assert Reminder.objects.filter(case_id=case.id, kind="consider_step_up").count() == 1


def test_a_key_reused_for_a_different_check_is_a_conflict(world, as_user, final_case):
    case = final_case()
    bob = as_user(world.bob)
    key = str(uuid.uuid4())
    assert post_check(bob, case.id, case.terms[0]["id"], "met", key=key).status_code == 201
    refused = post_check(bob, case.id, case.terms[0]["id"], "breached", key=key)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert ComplianceCheck.objects.filter(case_id=case.id).count() == 1


def test_a_breach_goes_on_the_timeline_and_suggests_a_step_up(world, as_user, final_case):
    case = final_case()
    bob = as_user(world.bob)
    assert (
        post_check(bob, case.id, case.terms[1]["id"], "breached", notes="Shots fired at the channel").status_code == 201
    )
    timeline = bob.get(f"/api/cases/{case.id}/timeline/").json()
    breach = next(e for e in timeline if e["kind"] == "breach_recorded")
    assert breach["actor"] == "bob"
    assert breach["data"]["status"] == "breached"
    assert breach["data"]["term"] == case.terms[1]["id"]
    reminders = as_user(world.alice).get("/api/reminders/").json()
    assert [r["kind"] for r in reminders if r["case"] == case.id] == ["consider_step_up"]
    assert case.refresh()["rung"]["level"] == 1  # Suggested, never moved.


@pytest.mark.parametrize(
    ("who", "status"),
    [("bob", 201), ("alice", 201), ("carol", 403), ("dave", 404), ("eve", 404), ("frank", 404)],
)
def test_only_the_forums_monitors_and_facilitators_record_and_read_checks(world, as_user, final_case, who, status):
    case = final_case()
    client = as_user(getattr(world, who))
    assert post_check(client, case.id, case.terms[0]["id"]).status_code == status
    listed = client.get(f"/api/cases/{case.id}/compliance-checks/")
    assert listed.status_code == (200 if status == 201 else status)
    if status == 201:
        assert [c["status"] for c in listed.json()] == ["met"]


def test_bad_check_input_is_400_and_stores_nothing(world, as_user, final_case):
    case = final_case()
    bob = as_user(world.bob)
    apology, compensation = case.terms[0]["id"], case.terms[1]["id"]
    cases = [
        (apology, {"status": "kept"}, "status"),
        (apology, {"status": "met", "paid": "100.00"}, "paid"),  # Payments go to compensation terms.
        (compensation, {"status": "met", "paid": "-5"}, "paid"),
        (compensation, {"status": "met", "observed_at": "tomorrow"}, "observed_at"),
        (999999, {"status": "met"}, "term"),
    ]
    for term, body, field in cases:
        response = bob.post(
            f"/api/cases/{case.id}/compliance-checks/",
            {"term": term, **body},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"]
    future = (dt.datetime.now(UTC) + dt.timedelta(days=2)).isoformat()
    response = post_check(bob, case.id, apology, observed_at=future)
    assert response.status_code == 400
    assert ComplianceCheck.objects.filter(case_id=case.id).count() == 0


def test_an_offline_check_arriving_after_anothers_is_kept_and_flagged(world, as_user, final_case):
    """Bob checks the term in a village without signal on the 3rd; Alice's check of the same term reaches the
    server on the 4th; Bob's upload arrives on the 5th. Both stay, flagged for the facilitator."""
    with at("2026-01-01"):
        case = final_case()
    term = case.terms[0]["id"]
    alice, bob = as_user(world.alice), as_user(world.bob)
    with at("2026-01-04"):
        assert post_check(alice, case.id, term, "met").status_code == 201
    with at("2026-01-05"):
        late = post_check(bob, case.id, term, "not_met", observed_at="2026-01-03T09:00:00Z")
    assert late.status_code == 201
    checks = alice.get(f"/api/cases/{case.id}/compliance-checks/").json()
    assert [(c["status"], c["recorded_by"]) for c in checks] == [("not_met", "bob"), ("met", "alice")]
    assert checks[0]["conflicts_with"] == [checks[1]["id"]]
    conflict = ComplianceConflict.objects.get(case_id=case.id)
    assert "compliance_conflict" in kinds(alice, case.id)

    # A check made after the other was on the server is no conflict.
    with at("2026-01-06"):
        assert post_check(bob, case.id, term, "met", observed_at="2026-01-06T08:00:00Z").status_code == 201
    assert ComplianceConflict.objects.filter(case_id=case.id).count() == 1

    # The monitor cannot close it; the facilitator marks it reviewed, once.
    assert bob.post(f"/api/compliance-conflicts/{conflict.pk}/review/").status_code == 403
    assert as_user(world.eve).post(f"/api/compliance-conflicts/{conflict.pk}/review/").status_code == 404
    assert alice.post(f"/api/compliance-conflicts/{conflict.pk}/review/").status_code == 204
    assert alice.post(f"/api/compliance-conflicts/{conflict.pk}/review/").status_code == 204
    conflict.refresh_from_db()
    assert conflict.reviewed_by == world.alice
    assert kinds(alice, case.id).count("compliance_conflict_reviewed") == 1


# --- Instalments -----------------------------------------------------------------------------------


def test_instalments_add_up_and_payments_cover_them_in_order(world, as_user, final_case):
    from cases import selectors
    from cases.models import Term

    with at("2026-01-01"):
        case = final_case(INSTALMENT_TERMS)
    compensation = case.terms[1]
    assert [i["amount"] for i in compensation["instalments"]] == ["10000.00"] * 3
    bob = as_user(world.bob)
    with at("2026-02-01"):
        assert post_check(bob, case.id, compensation["id"], "partly_met", paid="15000.00").status_code == 201
    term = Term.objects.get(pk=compensation["id"])
    schedule = selectors.instalment_schedule(term=term, today=dt.date(2026, 3, 5))
    assert [(row["status"], str(row["covered"])) for row in schedule] == [
        ("paid", "10000.00"),
        ("overdue", "5000.00"),
        ("due", "0.00"),
    ]
    timeline = bob.get(f"/api/cases/{case.id}/timeline/").json()
    paid = [e["data"].get("paid") for e in timeline if e["kind"] == "compliance_checked"]
    assert paid == ["15000.00"]
    recorded = next(e for e in timeline if e["kind"] == "agreement_recorded")
    assert recorded["data"]["terms"][1]["instalments"][0] == {"due": "2026-01-31", "amount": "10000.00"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "25000.00"}, "add up"),
        ({"kind": "apology"}, "compensation"),
        (
            {"instalments": [{"due": "2026-02-28", "amount": "15000.00"}, {"due": "2026-01-31", "amount": "15000.00"}]},
            "after",
        ),
    ],
)
def test_an_instalment_schedule_that_does_not_fit_is_400(world, open_case, change, message):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    term = {**INSTALMENT_TERMS[1], **change}
    response = case.agree([term], expect=400)
    error = response.json()["error"]
    assert message in error["fields"]["terms"]["0"]["instalments"][0]
    assert case.client.get(f"/api/cases/{case.id}/agreement/").status_code == 404


def test_a_zero_instalment_is_400(open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    term = {**INSTALMENT_TERMS[1], "instalments": [{"due": "2026-01-31", "amount": "0"}]}
    assert "instalments" in case.agree([term], expect=400).json()["error"]["fields"]["terms"]["0"]


# --- What falls due -------------------------------------------------------------------------------


def test_the_due_items_task_lists_each_thing_once_and_resolves_what_is_done(world, as_user, final_case):
    with at("2026-01-01"):
        case = final_case(INSTALMENT_TERMS)
    bob = as_user(world.bob)
    with at("2026-01-27"):
        first = services.due_items_refresh()
        again = services.due_items_refresh()
    assert first == again
    open_items = DueItem.objects.filter(case_id=case.id, resolved_at__isnull=True)
    # Both terms due 30 days after the agreement became final (within the week), the first instalment too.
    assert sorted((i.kind, i.due_on.isoformat()) for i in open_items) == [
        ("check_due", "2026-01-31"),
        ("check_due", "2026-01-31"),
        ("instalment_due", "2026-01-31"),
    ]
    with at("2026-01-28"):
        due = bob.get("/api/monitor/due/").json()
        assert len(due) == 3
        assert {d["case_reference"] for d in due} == {case.case["reference"]}
        assert as_user(world.eve).get("/api/monitor/due/").json() == []
        assert as_user(world.frank).get("/api/monitor/due/").json() == []
        # Checking the compensation term with the first instalment paid answers two of the three.
        assert post_check(bob, case.id, case.terms[1]["id"], "met", paid="10000.00").status_code == 201
        assert [d["kind"] for d in bob.get("/api/monitor/due/").json()] == ["check_due"]
    with at("2026-03-05"):
        services.due_items_refresh()
        due = bob.get("/api/monitor/due/").json()
    # The apology's check is overdue, the second instalment is overdue, the next check of the compensation
    # term (30 days after 28 January) is due.
    assert sorted((d["kind"], d["due_on"], d["overdue"]) for d in due) == [
        ("check_due", "2026-01-31", True),
        ("check_due", "2026-02-27", True),
        ("instalment_due", "2026-02-28", True),
    ]
    # Ending the case ends its items.
    with at("2026-03-06"):
        case.move("withdrawn", reason="The families moved away")
        services.due_items_refresh()
    assert not DueItem.objects.filter(case_id=case.id, resolved_at__isnull=True).exists()


def test_a_truce_about_to_expire_is_due(world, as_user, open_case):
    with at("2026-01-01"):
        case = open_case(forum=world.sulha)
        case.move("jaha_appointed")
        case.move("truce", truce_expires="2026-01-20")
    services.membership_grant(user=world.bob, forum=world.sulha, role="monitor")
    with at("2026-01-10"):
        services.due_items_refresh()
        assert as_user(world.bob).get("/api/monitor/due/").json() == []
    with at("2026-01-15"):
        services.due_items_refresh()
        due = as_user(world.bob).get("/api/monitor/due/").json()
    assert [(d["kind"], d["due_on"]) for d in due] == [("truce_expiring", "2026-01-20")]


def test_a_case_handed_to_a_monitor_is_theirs_alone(world, as_user, final_case):
    from tests.factories import UserFactory

    with at("2026-01-01"):
        case = final_case()
    zara = UserFactory(username="zara")
    services.membership_grant(user=zara, forum=world.jirga, role="monitor")
    alice = as_user(world.alice)
    refused = alice.post(f"/api/cases/{case.id}/monitor/", {"monitor": "eve"}, format="json")
    assert refused.status_code == 400
    assert "monitor" in refused.json()["error"]["fields"]
    assert (
        as_user(world.bob).post(f"/api/cases/{case.id}/monitor/", {"monitor": "bob"}, format="json").status_code == 403
    )
    handed = alice.post(f"/api/cases/{case.id}/monitor/", {"monitor": "zara"}, format="json")
    assert handed.status_code == 200
    assert handed.json()["monitor"] == "zara"
    with at("2026-01-28"):
        services.due_items_refresh()
        assert len(as_user(zara).get("/api/monitor/due/").json()) == 3
        assert as_user(world.bob).get("/api/monitor/due/").json() == []
        # The facilitator keeps seeing the forum's items.
        assert len(alice.get("/api/monitor/due/").json()) == 3
    assert "monitor_assigned" in kinds(alice, case.id)


# --- Recurrence -----------------------------------------------------------------------------------


def test_a_new_case_between_the_same_families_links_to_the_earlier_one(world, as_user, open_case):
    with at("2025-01-10"):
        first = open_case()
    with at("2025-06-01"):
        first.move("withdrawn", reason="They settled privately")
    with at("2026-05-01"):
        # The same families, the other way round and spelt with other capitals and spaces.
        second = open_case(
            parties=[
                {"name": "yousaf  FAMILY", "kind": "family", "role": "first_party"},
                {"name": "Khan Family", "kind": "family", "role": "second_party"},
            ]
        )
    alice = as_user(world.alice)
    history = alice.get(f"/api/cases/{second.id}/recurrences/").json()
    assert [(h["reference"], h["direction"], h["status"], h["basis"]) for h in history] == [
        (first.case["reference"], "earlier", "matched", "names")
    ]
    later = alice.get(f"/api/cases/{first.id}/recurrences/").json()
    assert [(h["reference"], h["direction"]) for h in later] == [(second.case["reference"], "later")]
    timeline = alice.get(f"/api/cases/{second.id}/timeline/").json()
    linked = next(e for e in timeline if e["kind"] == "recurrence_linked")
    assert linked["data"]["earlier"][0]["reference"] == first.case["reference"]
    # Names never reach the timeline.
    assert "Khan" not in str(timeline)


def test_party_records_link_and_one_side_alone_does_not(world, as_user, open_case):
    first = open_case()
    khan = next(p for p in first.case["parties"] if p["role"] == "first_party")
    yousaf = next(p for p in first.case["parties"] if p["role"] == "second_party")
    alice = as_user(world.alice)
    same_records = open_case(
        parties=[{"party": khan["id"], "role": "first_party"}, {"party": yousaf["id"], "role": "second_party"}]
    )
    assert [p["pseudonym"] for p in same_records.case["parties"]] == [khan["pseudonym"], yousaf["pseudonym"]]
    assert [h["basis"] for h in alice.get(f"/api/cases/{same_records.id}/recurrences/").json()] == ["party_record"]
    one_side = open_case(
        parties=[
            {"party": khan["id"], "role": "first_party"},
            {"name": "Afridi family", "kind": "family", "role": "second_party"},
        ]
    )
    assert alice.get(f"/api/cases/{one_side.id}/recurrences/").json() == []
    # A party record of another forum is refused, not silently copied.
    response = alice.post(
        "/api/cases/",
        {
            "forum": world.sulha.pk,
            "title": "Another dispute",
            "dispute_type": "land",
            "risk_level": "low",
            "offence_class": "civil",
            "parties": [
                {"party": khan["id"], "role": "first_party"},
                {"name": "X", "kind": "person", "role": "second_party"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "parties" in response.json()["error"]["fields"]


def test_recurrence_stays_within_the_district_and_24_months(world, as_user, open_case):
    with at("2023-01-10"):
        old = open_case()
        old.move("withdrawn", reason="Gave up")
    elsewhere = ForumFactory(name="Far Jirga", kind="jirga")  # Its own district.
    assert elsewhere.region_id != world.jirga.region_id
    services.membership_grant(user=world.alice, forum=elsewhere, role="facilitator")
    with at("2024-12-01"):  # 23 months after the old case ended: one feud.
        within = open_case()
    with at("2025-02-01"):  # 25 months after: a new dispute (it still repeats the case of December).
        late = open_case()
        far = open_case(forum=elsewhere)
    alice = as_user(world.alice)
    history = alice.get(f"/api/cases/{within.id}/recurrences/").json()
    assert [(h["case"], h["direction"]) for h in history] == [(old.id, "earlier"), (late.id, "later")]
    assert [h["case"] for h in alice.get(f"/api/cases/{late.id}/recurrences/").json()] == [within.id]
    assert alice.get(f"/api/cases/{far.id}/recurrences/").json() == []


def test_a_facilitator_confirms_rejects_or_links_by_reference(world, as_user, open_case):
    first = open_case()
    second = open_case()
    third = open_case(
        parties=[
            {"name": "Khan-Zai clan", "kind": "group", "role": "first_party"},
            {"name": "Yousafzai elders", "kind": "group", "role": "second_party"},
        ]
    )
    alice, bob = as_user(world.alice), as_user(world.bob)
    link = next(h for h in alice.get(f"/api/cases/{second.id}/recurrences/").json() if h["case"] == first.id)
    assert bob.post(f"/api/recurrences/{link['id']}/", {"status": "rejected"}, format="json").status_code == 403
    assert (
        as_user(world.eve).post(f"/api/recurrences/{link['id']}/", {"status": "rejected"}, format="json").status_code
        == 404
    )
    assert alice.post(f"/api/recurrences/{link['id']}/", {"status": "maybe"}, format="json").status_code == 400
    assert (
        alice.post(f"/api/recurrences/{link['id']}/", {"status": "rejected"}, format="json").json()["status"]
        == "rejected"
    )
    history = alice.get(f"/api/cases/{second.id}/recurrences/").json()
    assert [(h["direction"], h["status"]) for h in history] == [("rejected", "rejected")]
    assert second.id not in [h["case"] for h in alice.get(f"/api/cases/{first.id}/recurrences/").json()]
    # The names differ, so nothing was matched; the facilitator links it by the earlier case's reference.
    assert alice.get(f"/api/cases/{third.id}/recurrences/").json() == []
    linked = alice.post(
        f"/api/cases/{third.id}/recurrences/", {"reference": first.case["reference"].lower()}, format="json"
    )
    assert linked.status_code == 201
    assert [(h["case"], h["status"], h["basis"]) for h in linked.json()] == [(first.id, "confirmed", "facilitator")]
    unknown = alice.post(f"/api/cases/{third.id}/recurrences/", {"reference": "JIR-1999-00001"}, format="json")
    assert unknown.status_code == 400
    backwards = alice.post(f"/api/cases/{first.id}/recurrences/", {"reference": third.case["reference"]}, format="json")
    assert backwards.status_code == 422
    assert Recurrence.objects.filter(case_id=first.id).count() == 0


# --- Closing surveys ------------------------------------------------------------------------------


def survey_body(party_id, **overrides):
    return {
        "party": party_id,
        "satisfaction": 4,
        "fairness": 5,
        "felt_heard": True,
        "would_use_again": True,
        **overrides,
    }


def test_surveys_are_asked_at_closing_once_per_party(world, as_user, final_case):
    case = final_case()
    first, second = (p["id"] for p in case.case["parties"])
    bob = as_user(world.bob)
    early = bob.post(f"/api/cases/{case.id}/surveys/", survey_body(first), format="json")
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "not_closing"
    case.move("implementation")
    assert bob.post(f"/api/cases/{case.id}/surveys/", survey_body(first), format="json").status_code == 201
    again = bob.post(f"/api/cases/{case.id}/surveys/", survey_body(first, satisfaction=1), format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "survey_exists"
    case.check_all_terms("met")
    case.move("closed", outcome="resolved", reason="Kept")
    assert (
        as_user(world.alice)
        .post(f"/api/cases/{case.id}/surveys/", survey_body(second, satisfaction=2, felt_heard=False), format="json")
        .status_code
        == 201
    )
    surveys = bob.get(f"/api/cases/{case.id}/surveys/").json()
    assert [(s["satisfaction"], s["fairness"], s["felt_heard"]) for s in surveys] == [(4, 5, True), (2, 5, False)]
    assert "name" not in surveys[0]
    events = [e for e in bob.get(f"/api/cases/{case.id}/timeline/").json() if e["kind"] == "survey_recorded"]
    assert [e["data"]["satisfaction"] for e in events] == [4, 2]


@pytest.mark.parametrize(
    "change",
    [
        {"satisfaction": 0},
        {"satisfaction": 6},
        {"fairness": "very"},
        {"fairness": 2.5},
        {"felt_heard": "perhaps"},
        {"would_use_again": None},
        {"party": None},
    ],
)
def test_a_survey_answer_out_of_range_is_400(world, as_user, final_case, change):
    case = final_case()
    case.move("implementation")
    first = case.case["parties"][0]["id"]
    response = as_user(world.bob).post(f"/api/cases/{case.id}/surveys/", survey_body(first, **change), format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(change)
    assert Survey.objects.count() == 0


def test_a_survey_is_for_a_party_of_the_case(world, as_user, final_case, open_case):
    case = final_case(
        parties=[
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
            {"name": "Malik Aslam", "kind": "person", "role": "witness"},
        ]
    )
    case.move("implementation")
    witness = case.case["parties"][2]["id"]
    stranger = open_case().case["parties"][0]["id"]
    bob = as_user(world.bob)
    for party in (witness, stranger):
        response = bob.post(f"/api/cases/{case.id}/surveys/", survey_body(party), format="json")
        assert response.status_code == 400
        assert "party" in response.json()["error"]["fields"]


@pytest.mark.parametrize(("who", "status"), [("carol", 403), ("dave", 404), ("eve", 404), ("frank", 404)])
def test_only_the_forums_people_record_surveys(world, as_user, final_case, who, status):
    case = final_case()
    case.move("implementation")
    client = as_user(getattr(world, who))
    first = case.case["parties"][0]["id"]
    assert client.post(f"/api/cases/{case.id}/surveys/", survey_body(first), format="json").status_code == status
    assert client.get(f"/api/cases/{case.id}/surveys/").status_code == status
