"""The printable settlement for the forum's staff, in the forum's language, and the case page's attestation form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import Settlement, SettlementAttestation
from cases.workflows import WORKFLOWS

pytestmark = pytest.mark.django_db


def finalise(case) -> None:
    """Walk the case through its workflow until the agreement is final (one move past the agreement state)."""
    workflow = WORKFLOWS[case.case["forum_kind"]]
    for state in workflow.states[1:]:
        if state == workflow.agreement_state:
            case.agree()
        case.move(state)
        if workflow.states.index(state) > workflow.states.index(workflow.agreement_state):
            return


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sulha_case(open_case, world):
    case = open_case(forum=world.sulha, title="Killing at the market", dispute_type="killing")
    finalise(case)
    return case


@pytest.fixture
def muslahathi_case(open_case, world):
    services.membership_grant(user=world.alice, forum=world.other, role="facilitator")
    case = open_case(
        forum=world.other,
        title="Hurt in a quarrel",
        dispute_type="injury",
        fir_number="123/2026",
        referral_source="Police station Saddar",
        parties=[
            {"name": "Aslam Khan", "kind": "person", "role": "first_party"},
            {"name": "Bashir Ahmed", "kind": "person", "role": "second_party"},
        ],
    )
    finalise(case)
    return case


def test_a_sulha_settlement_prints_in_arabic_right_to_left(sulha_case, world):
    response = logged_in(world.alice).get(f"/cases/{sulha_case.id}/settlement/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert '<bdi class="party-name">Khan family</bdi>' in page
    assert "Irbid Sulha" in page
    code = Settlement.objects.get(agreement__case_id=sulha_case.id).code
    assert f"{code[:5]}-{code[5:]}" in page
    assert "<svg" in page  # The QR code, inline.
    assert "signature-box" in page
    assert "witness-box" in page
    assert 'id="crpc-345"' not in page
    assert response["Cache-Control"] == "no-store"


def test_a_muslahathi_settlement_is_a_compromise_deed_in_urdu(muslahathi_case, world):
    page = logged_in(world.alice).get(f"/cases/{muslahathi_case.id}/settlement/").content.decode()
    assert '<html lang="ur" dir="rtl">' in page
    assert 'class="settlement doc-compromise_deed"' in page
    assert 'id="crpc-345"' in page
    assert "123/2026" in page
    assert "Police station Saddar" in page
    assert "<bdi>Aslam Khan</bdi>" in page  # The first party stands as complainant.
    assert "<bdi>Bashir Ahmed</bdi>" in page


def test_the_staff_may_print_it_in_another_language(sulha_case, world):
    page = logged_in(world.alice).get(f"/cases/{sulha_case.id}/settlement/?lang=en").content.decode()
    assert '<html lang="en" dir="ltr">' in page
    assert "Sulhnama" in page


def test_outside_the_forum_there_is_no_settlement_to_print(sulha_case, world):
    assert logged_in(world.frank).get(f"/cases/{sulha_case.id}/settlement/").status_code == 404
    assert logged_in(world.dave).get(f"/cases/{sulha_case.id}/settlement/").status_code == 404
    anonymous = Client().get(f"/cases/{sulha_case.id}/settlement/")
    assert anonymous.status_code == 302


def test_a_draft_has_no_settlement_to_print(open_case, world):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    assert logged_in(world.alice).get(f"/cases/{case.id}/settlement/").status_code == 404


def test_the_case_page_offers_the_print_and_the_reading_form_to_facilitators(sulha_case, world):
    page = logged_in(world.alice).get(f"/cases/{sulha_case.id}/").content.decode()
    assert 'id="settlement-print-link"' in page
    assert 'id="attest-form"' in page


def test_a_reading_recorded_from_the_case_page_shows_on_the_paper(sulha_case, world):
    client = logged_in(world.alice)
    response = client.post(
        f"/cases/{sulha_case.id}/settlement/attest/",
        {
            "read_to": "The jaha and both families",
            "language": "ar",
            "witnesses": "Abu Salim\nUmm Khaled\n",
            "read_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    attestation = SettlementAttestation.objects.get()
    assert attestation.witnesses == ["Abu Salim", "Umm Khaled"]
    paper = client.get(f"/cases/{sulha_case.id}/settlement/").content.decode()
    assert "The jaha and both families" in paper
    assert "<bdi>Umm Khaled</bdi>" in paper
    case_page = client.get(f"/cases/{sulha_case.id}/").content.decode()
    assert "Abu Salim" in case_page


def test_a_monitor_sees_the_settlement_but_no_reading_form(open_case, world):
    case = open_case()
    finalise(case)
    client = logged_in(world.bob)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert 'id="settlement-print-link"' in page
    assert 'id="attest-form"' not in page
    refused = client.post(
        f"/cases/{case.id}/settlement/attest/",
        {"read_to": "x", "language": "ps", "witnesses": "y", "read_on": timezone.localdate().isoformat()},
    )
    assert refused.status_code == 403
    assert not SettlementAttestation.objects.exists()


def test_a_reading_with_missing_facts_comes_back_with_the_message(sulha_case, world):
    response = logged_in(world.alice).post(
        f"/cases/{sulha_case.id}/settlement/attest/",
        {"read_to": "The jaha", "language": "ar", "witnesses": "", "read_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    assert 'id="attest-form"' in response.content.decode()
    assert not SettlementAttestation.objects.exists()
