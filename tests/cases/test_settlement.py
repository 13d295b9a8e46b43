"""The written settlement (CONTRACT.md section 7): frozen when the agreement becomes final, verified by its code on a
public page that shows the forum, the kind of document, the date and the district, and never a name or a term."""

from __future__ import annotations

import datetime as dt

import pgtrigger
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from cases import services
from cases import settlements as docs
from cases.models import Agreement, CaseEvent, Settlement, SettlementAttestation
from config import crypto

from .conftest import ORDINARY_TERMS

pytestmark = pytest.mark.django_db

# What the parties' names, the terms and the case's title look like in new_case_body and ORDINARY_TERMS: none of it
# may reach the public page.
SECRETS = ["Khan family", "Yousaf family", "irrigation channel", "25,000", "25000", "mosque", "one-year truce"]


def settlement_of(case) -> dict:
    body = case.client.get(f"/api/cases/{case.id}/agreement/").json()
    return body["settlement"]


def test_the_agreement_carries_its_settlement_once_final(open_case):
    case = open_case()
    case.move("mandate")
    case.move("hearings")
    draft = case.agree().json()
    assert draft["status"] == "draft"
    assert "settlement" not in draft
    assert "settlement" not in case.client.get(f"/api/cases/{case.id}/agreement/").json()
    case.move("legality_review")
    case.move("decision")

    body = case.client.get(f"/api/cases/{case.id}/agreement/").json()
    assert body["status"] == "final"
    settlement = body["settlement"]
    assert set(settlement) == {"code", "verify_url", "sha256"}
    assert len(settlement["code"]) == 10
    assert set(settlement["code"]) <= set(docs.CODE_ALPHABET)
    assert settlement["verify_url"] == f"http://testserver/verify/{settlement['code']}/"
    assert len(settlement["sha256"]) == 64
    # The terms keep the shape the POST answers with.
    assert [t["kind"] for t in body["terms"]] == [t["kind"] for t in ORDINARY_TERMS]


def test_the_settlement_is_frozen_with_the_final_move_and_holds_what_the_paper_needs(final_case, world):
    case = final_case()
    stored = Settlement.objects.get(agreement__case_id=case.id)
    content = stored.content
    assert stored.sha256 == docs.content_hash(content)
    assert content["document"] == "faisla"
    assert content["forum"]["name"] == "Swat Jirga"
    assert content["forum"]["district"] == world.jirga.region.name
    assert [(p["name"], p["role"]) for p in content["parties"]] == [
        ("Khan family", "first_party"),
        ("Yousaf family", "second_party"),
    ]
    compensation = content["terms"][1]
    assert (compensation["amount"], compensation["currency"]) == ("25000.00", "PKR")
    assert content["agreement"]["finalised_at"]


def test_a_rehearing_keeps_the_same_settlement(final_case):
    case = final_case()
    code = settlement_of(case)["code"]
    case.move("hearings", reason="Appeal by the second family")
    case.move("legality_review")
    case.move("decision")
    assert settlement_of(case)["code"] == code
    assert Settlement.objects.filter(agreement__case_id=case.id).count() == 1


def test_a_final_agreement_without_a_settlement_gets_one_when_read(final_case):
    """Agreements made final before settlements existed (or by the generator) are frozen at the first read."""
    case = final_case()
    agreement = Agreement.objects.get(case_id=case.id)
    with pgtrigger.ignore("cases.Settlement:settlement_no_delete"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_settlement WHERE agreement_id = %s", [agreement.pk])
    settlement = settlement_of(case)
    assert Settlement.objects.get(agreement=agreement).code == settlement["code"]


def test_the_verify_page_says_genuine_without_names_or_terms(final_case, world):
    case = final_case()
    settlement = settlement_of(case)
    anonymous = Client()
    response = anonymous.get(f"/verify/{settlement['code']}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-genuine="true"' in page
    assert "Genuine" in page
    assert "Swat Jirga" in page
    assert "Faisla" in page
    assert world.jirga.region.name in page
    assert timezone.localdate().strftime("%B") in page
    assert "Final" in page
    for secret in [*SECRETS, case.case["reference"], world.jirga.region.parent.name]:
        assert secret not in page, secret
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{dashed}", " {spaced} "])
def test_a_typed_code_is_forgiving(final_case, typed):
    code = settlement_of(final_case())["code"]
    text = typed.format(code=code, lower=code.lower(), dashed=docs.code_display(code), spaced=f"{code[:5]} {code[5:]}")
    response = Client().get("/verify/", {"code": text}, follow=True)
    assert response.status_code == 200
    assert 'data-genuine="true"' in response.content.decode()


def test_an_unknown_code_is_a_404_page(db):
    response = Client().get("/verify/ABCDE-FGHJK/")
    assert response.status_code == 404
    assert "No settlement has the code" in response.content.decode()
    assert Client().get("/verify/", {"code": "nonsense"}).status_code == 404
    assert Client().get("/verify/").status_code == 200


def test_the_json_check_gives_the_same_fields(final_case, world):
    case = final_case()
    code = settlement_of(case)["code"]
    response = Client().get(f"/api/settlements/verify/{docs.code_display(code).lower()}/")
    assert response.status_code == 200
    body = response.json()
    assert body["genuine"] is True
    assert body["forum"] == "Swat Jirga"
    assert body["document"] == "faisla"
    assert body["district"] == world.jirga.region.name
    assert body["status"] == "final"
    assert set(body) == {
        "code", "genuine", "forum", "forum_kind", "document", "document_title", "district", "final_at", "status",
    }  # fmt: skip
    missing = Client().get("/api/settlements/verify/ABCDEFGHJK/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_changed_content_is_not_genuine(final_case):
    case = final_case()
    code = settlement_of(case)["code"]
    changed = Settlement.objects.get(code=code).content
    changed["terms"][1]["amount"] = "2500.00"
    # As someone with the database's keys would: past the trigger, with raw SQL, well encrypted.
    with pgtrigger.ignore("cases.Settlement:settlement_frozen"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_settlement SET content = %s WHERE code = %s",
            [crypto.encrypt(crypto.json_text(changed)), code],
        )
    page = Client().get(f"/verify/{code}/").content.decode()
    assert 'data-genuine="false"' in page
    assert "Not genuine" in page
    assert "Swat Jirga" not in page
    assert Client().get(f"/api/settlements/verify/{code}/").json()["genuine"] is False


def test_a_database_dump_shows_no_name_of_the_settlement(final_case, world):
    case = final_case()
    attest(world, case.id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM cases_settlement")
        (content,) = cursor.fetchone()
        cursor.execute("SELECT read_to || witnesses FROM cases_settlementattestation")
        (attestation,) = cursor.fetchone()
    if crypto.enabled():
        for name in ["Khan family", "Yousaf family", "Malik Gul", "elders"]:
            assert name not in content + attestation


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE cases_settlement SET content = '{}'::jsonb",
        "UPDATE cases_settlement SET sha256 = repeat('0', 64)",
        "UPDATE cases_settlement SET code = 'ABCDEFGHJK'",
        "DELETE FROM cases_settlement",
    ],
)
def test_the_database_refuses_to_change_a_frozen_settlement(final_case, sql):
    final_case()
    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_verify_page_is_throttled_per_address(final_case, settings):
    settings.SETTLEMENT_VERIFY_PER_MINUTE = 3
    code = settlement_of(final_case())["code"]
    client = Client()
    statuses = [client.get(f"/verify/{code}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(f"/api/settlements/verify/{code}/").status_code == 429
    assert Client(REMOTE_ADDR="203.0.113.9").get(f"/verify/{code}/").status_code == 200


def attest(world, case_id, user=None, **overrides):
    fields = {
        "read_to": "Both families' elders",
        "language": "ps",
        "witnesses": ["Malik Gul", "Haji Rahim"],
        "read_on": timezone.localdate(),
    }
    fields.update(overrides)
    return services.settlement_attest(user=user or world.alice, case_id=case_id, **fields)


def test_a_facilitator_records_the_reading_and_the_status_moves(final_case, world):
    case = final_case()
    code = settlement_of(case)["code"]
    attestation = attest(world, case.id)
    assert attestation.witnesses == ["Malik Gul", "Haji Rahim"]
    assert Settlement.objects.get(code=code).status == "attested"
    event = CaseEvent.objects.filter(case_id=case.id).order_by("-seq").first()
    assert event.kind == "settlement_attested"
    assert "Malik Gul" not in str(event.data)  # The timeline keeps no names of witnesses.
    # The frozen content did not move, so the paper is still genuine.
    body = Client().get(f"/api/settlements/verify/{code}/").json()
    assert (body["genuine"], body["status"]) == (True, "attested")


@pytest.mark.parametrize("who", ["bob", "carol", "frank", "eve"])
def test_only_the_forums_facilitators_record_a_reading(final_case, world, who):
    case = final_case()
    from config.errors import SulhError

    with pytest.raises(SulhError) as refused:
        attest(world, case.id, user=getattr(world, who))
    # Outside the forum the case does not exist (404); the forum's monitor and administrators may not (403).
    assert refused.value.status == (403 if who in ("bob", "carol") else 404)
    assert not SettlementAttestation.objects.exists()


def test_no_reading_before_the_agreement_is_final(open_case, world):
    from cases.services import SettlementNotFinal

    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    with pytest.raises(SettlementNotFinal):
        attest(world, case.id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("read_to", "  "),
        ("witnesses", []),
        ("language", "xx"),
        ("read_on", dt.date(2000, 1, 1)),
        ("read_on", dt.datetime.now(tz=dt.UTC).date() + dt.timedelta(days=3)),
    ],
)
def test_a_reading_needs_its_facts(final_case, world, field, value):
    from config.errors import SulhError

    case = final_case()
    with pytest.raises(SulhError) as refused:
        attest(world, case.id, **{field: value})
    assert refused.value.status == 400
    assert field in refused.value.fields


def test_attestation_rows_are_append_only(final_case, world):
    attest(world, final_case().id)
    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_settlementattestation SET read_to = 'someone else'")


@pytest.mark.parametrize(
    ("kind", "country", "language"),
    [
        ("sulha", "JO", "ar"),
        ("sulha", "IL", "ar"),
        ("muslahathi", "PK", "ur"),
        ("jirga", "AF", "ps"),
        ("jirga", "PK", "ur"),
    ],
)
def test_the_paper_is_printed_in_the_forums_language(kind, country, language):
    assert docs.print_language(forum_kind=kind, country=country) == language


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("abcde-fghjk", "ABCDEFGHJK"),
        (" ABCDE FGHJK ", "ABCDEFGHJK"),
        ("oiL23-45678", "01123" + "45678"),
        ("ABCDE-FGHJ", None),
        ("ABCDE-FGHJU", None),  # U is not in Crockford's alphabet.
        ("", None),
        ("ABCDE/FGHJK", None),
    ],
)
def test_a_typed_code_is_read_as_a_person_means_it(typed, code):
    assert docs.code_normalise(typed) == code


def test_codes_are_random_and_of_the_alphabet():
    codes = {docs.code_new() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 10 and set(c) <= set(docs.CODE_ALPHABET) for c in codes)


def test_the_settlement_holds_the_guarantees_ledger_as_it_stood(open_case, world, client):
    case = open_case()
    services.guarantor_add(
        user=world.alice,
        case_id=case.id,
        stands_for="second_party",
        guarantees="That the truce holds",
        name="Malik Zar",
    )
    services.deposit_add(
        user=world.alice, case_id=case.id, kind="money", held_by="Haji Sher", deposited_by="first_party",
        received_at=dt.date(2026, 3, 2), amount=100000, currency="PKR",
    )  # fmt: skip
    for state in ("mandate", "hearings"):
        case.move(state)
    case.agree()
    case.move("legality_review")
    case.move("decision")
    content = Settlement.objects.get(agreement__case_id=case.id).content
    assert content["guarantors"] == [
        {"name": "Malik Zar", "stands_for": "second_party", "guarantees": "That the truce holds"}
    ]
    [deposit] = content["deposits"]
    assert (deposit["kind"], deposit["amount"], deposit["held_by"], deposit["received_on"]) == (
        "money", "100000.00", "Haji Sher", "2026-03-02",
    )  # fmt: skip

    client.force_login(world.alice)
    page = client.get(f"/cases/{case.id}/settlement/").content.decode()
    assert "Malik Zar" in page
    assert "That the truce holds" in page
    assert "Haji Sher" in page
    assert "100,000" in page
