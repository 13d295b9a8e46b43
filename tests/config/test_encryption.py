"""Names encrypted at rest (issue 16, item 7): a dump of the database shows no name, summary, term or session
line; the pages still read them, find a case by a party's name and link recurrences; keys rotate."""

from __future__ import annotations

import importlib
import io
import json
import os
import secrets
import subprocess
import sys

import pgtrigger
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from cases import selectors
from cases import services as case_services
from cases.models import Case, CaseEvent, ComplianceCheck, Party, Recurrence, Term
from config import crypto
from deliberation import selectors as session_selectors
from deliberation import services as session_services
from deliberation.events import event_payload
from deliberation.models import Invitation, Participant, Proposal, SessionEvent
from tests.conftest import ROOT

NAME = "Gul Khan Afridi"
OTHER = "Zarmina Bibi Yousafzai"
SUMMARY = "Gul Khan Afridi diverted the channel above Zarmina Bibi Yousafzai's fields."
TERM = "Gul Khan Afridi repairs the channel before the sowing season."
LINE = "I, Gul Khan Afridi, will open the channel tomorrow."
PROPOSAL = "Gul Khan Afridi apologises at the mosque on Friday."
SECRETS = (NAME, OTHER, "Gul Khan", "Afridi", "Yousafzai", "diverted the channel", "sowing season", "open the channel",
           "apologises at the mosque")  # fmt: skip


def open_case(world, *, first=NAME, second=OTHER, title="Water turns on the upper channel"):
    return case_services.case_open(
        user=world.alice, forum=world.jirga, title=title, dispute_type="water", risk_level="medium",
        offence_class="civil", summary=SUMMARY,
        parties=[{"name": first, "kind": "person", "role": "first_party"},
                 {"name": second, "kind": "person", "role": "second_party"}],
    )  # fmt: skip


def seed(world):
    """A case with its parties, an agreement term, and a live session where a party's name was said and a
    term proposed by a guest shown under a party's name."""
    case = open_case(world)
    case_services.agreement_record(user=world.alice, case_id=case.pk, terms=[{"kind": "service", "description": TERM}])
    session = session_services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    session_services.session_start(user=world.alice, session_id=session.pk)
    _invitation, token = session_services.invitation_create(user=world.alice, session_id=session.pk, display_name=NAME)
    guest_user, _session = session_services.invitation_redeem(token=token)
    guest, _session = session_services.participant_connect(user=guest_user, session_id=session.pk)
    facilitator = Participant.objects.get(session=session, user=world.alice)
    said = session_services.say(session_id=session.pk, participant_id=guest.pk, body=LINE, client_id="c-1")
    session_services.propose(session_id=session.pk, participant_id=facilitator.pk, text=PROPOSAL, client_id="c-2")
    return case, session, said


def database_text() -> str:
    """Every row of every table of the database as PostgreSQL prints it: what a dump would show."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        parts = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" t')
            parts.extend(row[0] for row in cursor.fetchall())
    return "\n".join(parts)


def read_everything() -> list[object]:
    """Every encrypted value, read through the models as the pages read them."""
    return [
        *Case.objects.values_list("summary", flat=True),
        *Party.objects.values_list("name", flat=True),
        *Term.objects.values_list("description", flat=True),
        *ComplianceCheck.objects.values_list("notes", flat=True),
        *Participant.objects.values_list("display_name", flat=True),
        *Proposal.objects.values_list("text", flat=True),
        *SessionEvent.objects.order_by("session", "seq").values_list("data", flat=True),
        *CaseEvent.objects.order_by("case", "seq").values_list("data", flat=True),
        *Invitation.objects.values_list("display_name", flat=True),
    ]


@pytest.mark.django_db
def test_a_dump_shows_no_name_summary_term_or_session_line(postgres, world):
    seed(world)
    dump = database_text()
    assert "gAAAAA" in dump  # The values are there, as tokens.
    for secret in SECRETS:
        assert secret.lower() not in dump.lower(), secret


@pytest.mark.django_db
def test_the_pages_read_what_was_written(postgres, world):
    case, session, said = seed(world)
    client_case = selectors.case_get_for_user(user=world.alice, case_id=case.pk)
    assert client_case.summary == SUMMARY
    assert sorted(cp.party.name for cp in client_case.case_parties.all()) == sorted([NAME, OTHER])
    agreement = selectors.case_agreement(case=case)
    assert agreement is not None
    assert [t.description for t in agreement.terms.all()] == [TERM]
    assert Proposal.objects.get(session=session).text == PROPOSAL


@pytest.mark.django_db
def test_the_transcript_gives_the_same_objects_as_the_live_events(postgres, world):
    _case, session, said = seed(world)
    live = event_payload(said)
    assert live["data"] == {"body": LINE}
    transcript = session_selectors.transcript(session=session)
    stored = next(e for e in transcript if e["seq"] == said.seq)
    assert stored == live
    assert json.dumps(stored) == json.dumps(live)  # Byte for byte, keys in the same order.
    # A retried frame (same client_id) gets the stored event back, decrypted.
    again = session_services.say(session_id=session.pk, participant_id=said.actor_id, body=LINE, client_id="c-1")
    assert event_payload(again) == live


@pytest.mark.django_db
def test_the_session_events_stay_append_only(postgres, world):
    from django.db import DatabaseError, transaction

    _case, _session, said = seed(world)
    with pytest.raises(DatabaseError), transaction.atomic():
        SessionEvent.objects.filter(pk=said.pk).update(kind="forged")


@pytest.mark.django_db
def test_a_case_is_found_by_a_partys_whole_name_and_by_its_title(postgres, world):
    case = open_case(world)
    open_case(world, first="Someone Else", second="Another Person", title="Boundary stones moved")

    def found(q: str) -> set[int]:
        return set(selectors.case_list_for_user(user=world.alice, q=q).values_list("pk", flat=True))

    assert found(NAME) == {case.pk}
    assert found("  gul KHAN afridi ") == {case.pk}  # Normalised as the names are compared.
    assert found("upper channel") == {case.pk}  # The title stays searchable.
    assert found("Gul") == set()  # Only a whole name: a word of a name shows nothing.
    assert found(case.reference) == {case.pk}


@pytest.mark.django_db
def test_the_case_list_api_finds_a_party_by_name(postgres, world, as_user):
    case = open_case(world)
    body = as_user(world.alice).get("/api/cases/", {"q": NAME.upper()}).json()
    assert [c["id"] for c in body["results"]] == [case.pk]


@pytest.mark.django_db
def test_a_recurrence_is_matched_on_the_names_keyed_hash(postgres, world):
    earlier = open_case(world)
    later = open_case(world, first=OTHER.upper(), second=NAME)  # The other way round, spelt in capitals.
    link = Recurrence.objects.get(case=later)
    assert link.earlier_id == earlier.pk
    assert link.basis == Recurrence.Basis.NAMES
    keys = set(Party.objects.values_list("name_key", flat=True))
    assert all(len(key) == 64 for key in keys)
    assert selectors.party_name_key(NAME) in keys


@pytest.mark.django_db
def test_keys_rotate_from_a_to_b_and_a_is_dropped(postgres, world, settings):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SULH_ENCRYPTION_KEYS = [key_a]
    settings.SULH_HASH_KEY = "hash-key-one"
    case = open_case(world)
    seed(world)
    before = read_everything()

    settings.SULH_ENCRYPTION_KEYS = [key_b, key_a]
    out = io.StringIO()
    call_command("rotate_encryption_key", "--batch", "3", stdout=out)
    report = out.getvalue()
    assert "deliberation_sessionevent.data:" in report
    assert "cases_party.name: 0 re-encrypted" not in report

    settings.SULH_ENCRYPTION_KEYS = [key_b]
    assert read_everything() == before
    assert selectors.case_get_for_user(user=world.alice, case_id=case.pk).summary == SUMMARY

    again = io.StringIO()
    call_command("rotate_encryption_key", stdout=again)  # Idempotent: nothing left to rewrite.
    assert "0 values re-encrypted, 0 name hashes recomputed" in again.getvalue()

    # A new hash key: the search misses until the hashes are recomputed.
    settings.SULH_HASH_KEY = "hash-key-two"
    assert not selectors.case_list_for_user(user=world.alice, q=NAME).filter(pk=case.pk).exists()
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "cases_party.name_key: " in out.getvalue()
    assert selectors.case_list_for_user(user=world.alice, q=NAME).filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_a_value_under_a_dropped_key_says_which_setting_to_fix(postgres, world, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SULH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    case = open_case(world)
    settings.SULH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="SULH_ENCRYPTION_KEYS"):
        Case.objects.get(pk=case.pk)


@pytest.mark.django_db
def test_an_encrypted_column_refuses_a_lookup_that_could_never_match(world):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        Party.objects.filter(name__icontains="khan").exists()
    assert Party.objects.filter(name__isnull=False).count() == 0


@pytest.mark.django_db
def test_the_migrations_encrypt_the_rows_written_before_them(postgres, world):
    """Rows as they were before 0019/0002 (plain text, plain name keys) are encrypted by the migrations' frozen
    code, which agrees with config.crypto."""
    case, session, said = seed(world)
    plain_key = "gul khan afridi"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_party SET name = %s, name_key = %s WHERE name_key = %s",
                       [NAME, plain_key, selectors.party_name_key(NAME)])  # fmt: skip
        cursor.execute("UPDATE cases_case SET summary = %s WHERE id = %s", [SUMMARY, case.pk])
        with pgtrigger.ignore():  # As the rows were before: plain text (the events are append-only).
            cursor.execute(
                "UPDATE deliberation_sessionevent SET data = %s WHERE id = %s", [json.dumps({"body": LINE}), said.pk]
            )
            cursor.execute(
                "UPDATE cases_caseevent SET data = %s::jsonb WHERE kind = 'agreement_recorded'",
                [json.dumps({"agreement": 1, "revision": 1, "terms": [{"kind": "service", "description": TERM}]})],
            )
    assert NAME in database_text()

    cases_0019 = importlib.import_module("cases.migrations.0019_encrypted_names")
    deliberation_0002 = importlib.import_module("deliberation.migrations.0002_encrypted_lines")
    with connection.schema_editor(atomic=False) as editor:
        cases_0019.encrypt_rows(None, editor)
        deliberation_0002.encrypt_rows(None, editor)

    dump = database_text()
    for secret in SECRETS:
        assert secret.lower() not in dump.lower(), secret
    assert Party.objects.get(name_key=crypto.keyed_hash(plain_key)).name == NAME
    assert Case.objects.get(pk=case.pk).summary == SUMMARY
    assert SessionEvent.objects.get(pk=said.pk).data == {"body": LINE}
    recorded = CaseEvent.objects.get(case=case, kind="agreement_recorded")
    assert recorded.data["terms"][0]["description"] == TERM
    # The frozen keys are config.crypto's.
    assert cases_0019._fernet().decrypt(crypto.encrypt("x").encode()) == b"x"
    assert deliberation_0002._fernet().decrypt(crypto.encrypt("x").encode()) == b"x"


def _check_deploy(**extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SULH_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="sulh.example.org")
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_is_clean_with_only_a_secret_key_and_keys_derive_from_it(settings):
    """CONTRACT.md section 1: DJANGO_DEBUG=0 and a real DJANGO_SECRET_KEY pass `check --deploy`; the keys are
    then derived from that secret, and still decrypt once it has moved to SECRET_KEY_FALLBACKS."""
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sulh.E10" not in result.stderr + result.stdout
    settings.SULH_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "an old secret key " * 4
    token = crypto.encrypt("Gul Khan Afridi")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key " * 4
    assert crypto.decrypt(token) == "Gul Khan Afridi"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ImproperlyConfigured):  # Gone with the old secret.
        crypto.decrypt(token)


def test_check_deploy_refuses_a_key_that_is_not_a_fernet_key():
    result = _check_deploy(SULH_ENCRYPTION_KEYS="not-a-fernet-key")
    assert result.returncode != 0
    assert "sulh.E101" in result.stderr + result.stdout


def test_check_deploy_refuses_encryption_switched_off():
    result = _check_deploy(
        SULH_ENCRYPTION_KEYS=Fernet.generate_key().decode(), SULH_HASH_KEY=secrets.token_hex(32), SULH_ENCRYPTION="off"
    )
    assert result.returncode != 0
    assert "sulh.E103" in result.stderr + result.stdout


def test_check_deploy_accepts_production_with_keys():
    result = _check_deploy(SULH_ENCRYPTION_KEYS=Fernet.generate_key().decode(), SULH_HASH_KEY=secrets.token_hex(32))
    assert "sulh.E10" not in result.stderr + result.stdout


def test_a_bad_key_is_refused_by_name(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SULH_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="SULH_ENCRYPTION_KEYS"):
        crypto.encrypt("x")


def test_the_switch_off_stores_plain_text_and_still_reads_tokens(settings):
    token = crypto.encrypt(NAME)
    assert token.startswith(crypto.TOKEN_PREFIX)
    assert NAME not in token
    settings.SULH_ENCRYPTION = False
    assert crypto.encrypt(NAME) == NAME
    assert crypto.decrypt(token) == NAME
    assert crypto.decrypt(NAME) == NAME


@pytest.mark.django_db
def test_the_generator_writes_ciphertext_and_keyed_hashes(postgres):
    call_command("generate_synthetic", "--cases", "40", "--seed", "3")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, name_key FROM cases_party")
        raw_parties = cursor.fetchall()
        cursor.execute("SELECT description FROM cases_term")
        raw_terms = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT data FROM deliberation_sessionevent")
        raw_events = [row[0] for row in cursor.fetchall()]
    assert raw_parties
    assert all(name.startswith(crypto.TOKEN_PREFIX) for name, _key in raw_parties)
    assert all(len(key) == 64 for _name, key in raw_parties)
    assert raw_terms
    assert all(text.startswith(crypto.TOKEN_PREFIX) for text in raw_terms)
    assert all(data.startswith(crypto.TOKEN_PREFIX) for data in raw_events)
    # Read through the models, as the pages do: names whose keyed hash is the one the services would store.
    for party in Party.objects.all():
        assert not party.name.startswith(crypto.TOKEN_PREFIX)
        assert party.name_key == selectors.party_name_key(party.name)
    dump = database_text()
    for name in Party.objects.values_list("name", flat=True)[:20]:
        assert name not in dump
