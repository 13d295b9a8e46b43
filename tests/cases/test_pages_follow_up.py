"""The case page's follow-up: compliance per term with instalments and conflicts, the monitor, the feud's
history and the closing survey, as the facilitator and the monitor see and use them (no JavaScript)."""

from __future__ import annotations

import re

import pytest

from cases import services
from cases.models import ComplianceConflict, Instalment, Recurrence, Survey
from tests.cases.test_services_monitoring import INSTALMENT_TERMS, at, post_check
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def page(client, user, case_id) -> str:
    client.force_login(user)
    response = client.get(f"/cases/{case_id}/")
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, section_id: str) -> str:
    # A section, or one that folds (<details>) on the case page; it closes at the start of a line (what it holds is
    # indented).
    match = re.search(rf'<(section|details)[^>]*id="{section_id}".*?\n</\1>', html, re.S)
    return match.group(0) if match else ""


def test_the_facilitator_sees_payments_overdue_instalments_and_checks(world, as_user, client, final_case):
    with at("2026-01-01"):
        case = final_case(INSTALMENT_TERMS)
    with at("2026-02-01"):
        post_check(as_user(world.bob), case.id, case.terms[1]["id"], "partly_met", paid="15000.00", notes="Paid half")
    with at("2026-03-05"):
        compliance = section(page(client, world.alice, case.id), "compliance")
    assert "15,000 of 30,000 PKR paid" in compliance
    rows = re.findall(r'<tr class="instalment-(\w+)">', compliance)
    assert rows == ["paid", "overdue", "due"]
    assert "Paid half" in compliance
    assert "Not checked yet" in compliance  # The apology.


def test_regulators_and_administrators_do_not_see_the_follow_up(world, client, final_case):
    case = final_case()
    html = page(client, world.carol, case.id)
    assert not section(html, "compliance")
    assert not section(html, "survey")


def test_a_conflict_is_shown_to_the_facilitator_until_reviewed(world, as_user, client, final_case):
    with at("2026-01-01"):
        case = final_case()
    term = case.terms[0]["id"]
    with at("2026-01-04"):
        post_check(as_user(world.alice), case.id, term, "met")
    with at("2026-01-05"):
        post_check(as_user(world.bob), case.id, term, "not_met", observed_at="2026-01-03T09:00:00Z")
    conflict = ComplianceConflict.objects.get()
    html = section(page(client, world.alice, case.id), "compliance")
    assert "Checks that disagree" in html
    assert "Mark reviewed" in html
    # The monitor sees the conflict but cannot close it.
    monitor_view = section(page(client, world.bob, case.id), "compliance")
    assert "Checks that disagree" in monitor_view
    assert "Mark reviewed" not in monitor_view
    client.force_login(world.bob)
    assert client.post(f"/cases/{case.id}/conflicts/{conflict.pk}/review/").status_code == 403
    client.force_login(world.alice)
    response = client.post(f"/cases/{case.id}/conflicts/{conflict.pk}/review/", follow=True)
    assert "both checks stay on record" in response.content.decode()
    assert "Checks that disagree" not in section(page(client, world.alice, case.id), "compliance")


def test_the_facilitator_hands_the_case_to_a_monitor(world, client, final_case):
    case = final_case()
    zara = UserFactory(username="zara", first_name="Zara")
    services.membership_grant(user=zara, forum=world.jirga, role="monitor")
    client.force_login(world.alice)
    response = client.post(f"/cases/{case.id}/monitor/", {"monitor": zara.pk}, follow=True)
    assert "Handed to Zara." in response.content.decode()
    assert "Followed by Zara." in section(page(client, world.alice, case.id), "monitor")
    refused = client.post(f"/cases/{case.id}/monitor/", {"monitor": world.eve.pk})
    assert refused.status_code == 400
    client.force_login(world.bob)
    assert client.post(f"/cases/{case.id}/monitor/", {"monitor": world.bob.pk}).status_code == 403


def test_the_feuds_history_and_the_facilitators_decision(world, client, open_case):
    first = open_case()
    second = open_case()
    history = section(page(client, world.alice, second.id), "history")
    assert first.case["reference"] in history
    assert "Earlier case" in history
    link = Recurrence.objects.get(case_id=second.id)
    client.post(f"/cases/{second.id}/history/{link.pk}/", {"status": "rejected"})
    link.refresh_from_db()
    assert link.status == "rejected"
    assert "Not the same feud" in section(page(client, world.alice, second.id), "history")
    # The earlier case no longer lists the rejected one.
    assert second.case["reference"] not in section(page(client, world.alice, first.id), "history")
    # A reference that is not an earlier case of the facilitator's forums is refused where it was typed.
    response = client.post(f"/cases/{second.id}/history/", {"reference": "JIR-1990-00001"})
    assert response.status_code == 400
    assert "No earlier case with this reference" in section(response.content.decode(), "history")
    client.post(f"/cases/{second.id}/history/", {"reference": first.case["reference"]})
    link.refresh_from_db()
    assert link.status == "confirmed"


def test_the_survey_form_appears_at_closing_and_refuses_bad_answers(world, client, final_case):
    case = final_case()
    assert not section(page(client, world.bob, case.id), "survey")
    case.move("implementation")
    survey = section(page(client, world.bob, case.id), "survey")
    assert 'id="survey-form"' in survey
    first = case.case["parties"][0]["id"]
    bad = client.post(f"/cases/{case.id}/survey/", {"party": first, "satisfaction": "9", "fairness": "3"})
    assert bad.status_code == 400
    assert Survey.objects.count() == 0
    answers = {"party": first, "satisfaction": "4", "fairness": "3", "felt_heard": "yes", "would_use_again": "no"}
    assert client.post(f"/cases/{case.id}/survey/", answers).status_code == 302
    again = client.post(f"/cases/{case.id}/survey/", answers)
    assert again.status_code == 400  # The party answered: no longer a choice.
    survey = section(page(client, world.bob, case.id), "survey")
    assert "4/5" in survey
    assert "Khan family" not in re.search(r'<table class="table" id="survey-answers">.*?</table>', survey, re.S).group(
        0
    )
    assert Survey.objects.count() == 1


def test_the_agreement_editor_splits_compensation_into_monthly_instalments(world, client, open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    client.force_login(world.alice)
    form = {
        "terms-TOTAL_FORMS": "1",
        "terms-INITIAL_FORMS": "0",
        "terms-MIN_NUM_FORMS": "1",
        "terms-MAX_NUM_FORMS": "100",
        "terms-0-kind": "compensation",
        "terms-0-description": "Diya of 100,000 PKR",
        "terms-0-amount": "100000",
        "terms-0-currency": "pkr",
        "terms-0-instalment_count": "3",
        "terms-0-first_instalment": "2026-01-31",
    }
    assert client.post(f"/cases/{case.id}/agreement/", form).status_code == 302
    rows = list(Instalment.objects.order_by("number").values_list("due_on", "amount"))
    assert [(d.isoformat(), str(a)) for d, a in rows] == [
        ("2026-01-31", "33333.33"),
        ("2026-02-28", "33333.33"),
        ("2026-03-31", "33333.34"),
    ]
    html = page(client, world.alice, case.id)
    assert "in 3 instalments" in html
    # Instalments without a first date are refused on the form.
    form["terms-0-first_instalment"] = ""
    assert client.post(f"/cases/{case.id}/agreement/", form).status_code == 400
