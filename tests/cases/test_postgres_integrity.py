"""What PostgreSQL itself guarantees: one winner among racing transitions, and an append-only timeline."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError, IntegrityError

from cases import services
from cases.models import Case, CaseEvent
from config.errors import ConflictError

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_racing_transitions_one_wins(postgres, world, open_case):
    case_id = open_case().id
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt():
        try:
            barrier.wait()
            services.case_transition(user=world.alice, case_id=case_id, to="mandate", version=1)
            result = "ok"
        except ConflictError as error:
            result = error.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok"] + ["stale_version"] * 19
    assert Case.objects.get(pk=case_id).version == 2
    assert CaseEvent.objects.filter(case_id=case_id, kind="transitioned").count() == 1
    seqs = list(CaseEvent.objects.filter(case_id=case_id).values_list("seq", flat=True).order_by("seq"))
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_database_refuses_to_change_an_event(postgres, open_case):
    case_id = open_case().id
    with pytest.raises(DatabaseError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_caseevent SET kind = 'forged' WHERE case_id = %s", [case_id])
    with pytest.raises(DatabaseError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_caseevent WHERE case_id = %s", [case_id])
    assert CaseEvent.objects.filter(case_id=case_id, kind="forged").count() == 0
    assert CaseEvent.objects.filter(case_id=case_id).count() >= 1


def test_the_database_refuses_a_state_from_another_workflow(open_case):
    case_id = open_case().id  # A jirga case.
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case_id).update(state="jaha_appointed")


def test_the_database_refuses_a_non_compoundable_case_in_hearings(open_case):
    case_id = open_case(offence_class="non_compoundable").id
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case_id).update(state="mandate")


def test_every_declared_state_fits_the_database_constraint(world, open_case):
    from cases.workflows import WORKFLOWS

    forums = {"jirga": world.jirga, "sulha": world.sulha}
    for kind in ("jirga", "sulha"):
        case_id = open_case(forum=forums[kind]).id
        for state in WORKFLOWS[kind].open_states:
            with transaction.atomic():
                Case.objects.filter(pk=case_id).update(state=state)


def test_event_seq_is_unique_per_case(open_case):
    from django.utils import timezone

    case_id = open_case().id
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseEvent.objects.create(case_id=case_id, seq=1, kind="forged", at=timezone.now())


def test_eight_racing_uploads_with_one_key_make_one_check(postgres, world, open_case):
    import uuid

    case = open_case()
    case.move("mandate")
    case.move("hearings")
    case.agree()
    for state in ("legality_review", "decision"):
        case.move(state)
    term_id = case.client.get(f"/api/cases/{case.id}/agreement/").json()["terms"][0]["id"]
    key = uuid.uuid4()
    barrier = threading.Barrier(8)
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def upload():
        try:
            barrier.wait()
            check, created = services.compliance_record(
                user=world.bob, case_id=case.id, term_id=term_id, status="met", idempotency_key=key
            )
            with lock:
                results.append((check.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert CaseEvent.objects.filter(case_id=case.id, kind="compliance_checked").count() == 1
