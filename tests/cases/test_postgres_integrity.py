"""What PostgreSQL itself guarantees: one winner among racing transitions, and an append-only timeline."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError, IntegrityError

from cases import services
from cases.models import Case, CaseEvent
from config.errors import ConflictError
from reports import selectors as report_selectors
from tests.cases.ladder_totals import totals

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


def test_racing_moves_keep_the_escalation_totals_exact(postgres, world, open_case):
    """Twelve cases of one forum moved up and down at once, in opposite directions across the same two rungs:
    no deadlock, and the running totals equal a recount from the timelines."""
    from cases import ladder_stats

    ups = [open_case().id for _ in range(6)]
    downs = [open_case().id for _ in range(6)]
    for case_id in downs:
        services.case_escalate(user=world.alice, case_id=case_id, direction="up", reason="r", version=1)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def move(case_id: int, direction: str, version: int):
        try:
            barrier.wait()
            services.case_escalate(user=world.alice, case_id=case_id, direction=direction, reason="r", version=version)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(c, "up", 1)) for c in ups]
    threads += [threading.Thread(target=move, args=(c, "down", 2)) for c in downs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    kept = totals()
    ladder_stats.rebuild()
    assert totals() == kept
    body = report_selectors.escalation_report(user=world.carol, forum=world.jirga.pk)
    assert [(r["level"], r["open_cases"]) for r in body["rungs"][:2]] == [(1, 6), (2, 6)]
    assert (body["moves_up"], body["moves_down"]) == (12, 6)
