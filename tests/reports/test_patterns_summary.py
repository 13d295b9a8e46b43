"""The regulator summary (reports.patterns): counts equal to a plain recount of the timelines, incremental runs
equal to a full one, nothing counted twice, the watermark safe against transactions still open, and who may
refresh it and follow the task."""

import datetime as dt
import threading
import time
import uuid

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections, transaction

from cases import services
from cases.models import CaseEvent, Membership, PatternMonth, PatternState
from deliberation import services as session_services
from devdata import synthetic
from reports import patterns
from tests.cases.test_services_escalation import climb
from tests.cases.test_services_monitoring import survey_body
from tests.factories import ForumFactory, UserFactory
from tests.reports.pattern_totals import raw_rows, recount, summary_tables

# These tests replay months of work with one API client (time_machine): see tokens_outlive_the_simulation.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tokens_outlive_the_simulation")]

UTC = dt.UTC
SWARA = "The offender's family gives a girl in marriage to the victim's family (swara)."


def at(day: str, hour: int = 10):
    return time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC), tick=False)


def summarise(**kwargs) -> dict:
    # The tests write their events "now": fold them at once (test_young_events_wait_for_the_next_run aside).
    return patterns.summarise(safety_lag=0, **kwargs)


def parties(first: str, second: str) -> list[dict]:
    return [
        {"name": first, "kind": "family", "role": "first_party"},
        {"name": second, "kind": "family", "role": "second_party"},
    ]


@pytest.fixture
def history(world, open_case, as_user):
    """A water feud in the jirga opened on a police referral (A): a refused swara term, escalated, agreed,
    checked, surveyed and closed as resolved after 36 days, then back between the same families (E); a
    killing brought to the sulha at imminent risk by the parties themselves (B), escalated and referred to
    the police; a land case heard in a live session and withdrawn (C); a debt case whose agreement was
    breached (D)."""
    bob = as_user(world.bob)
    with at("2026-01-05"):
        a = open_case(referral_source="police_station")
        b = open_case(
            forum=world.sulha,
            dispute_type="killing",
            risk_level="imminent",
            referral_source="parties",
            title="A killing at the wedding",
            parties=parties("Haddad family", "Nasser family"),
        )
        c = open_case(dispute_type="land", risk_level="low", parties=parties("Afridi family", "Shinwari family"))
        d = open_case(dispute_type="debt", parties=parties("Gul family", "Zaman family"))
    with at("2026-01-06"):
        for state in ("mandate", "hearings"):
            d.move(state)
        d.agree()
        d.move("legality_review")
        d.move("decision")
    with at("2026-01-12"):
        climb(a, direction="up", reason="The second family left the hearing")
        climb(b, direction="up", reason="Threats after the funeral")
    with at("2026-01-15"):
        session = session_services.session_schedule(user=world.alice, case_id=c.id, scheduled_for=dt.datetime.now(UTC))
        session_services.session_start(user=world.alice, session_id=session.pk)
    with at("2026-01-20"):
        a.move("mandate")
        a.move("hearings")
        a.agree([{"kind": "other", "description": SWARA}], expect=422)
        a.agree()
        a.move("legality_review")
        a.move("decision")  # The agreement becomes final.
    with at("2026-01-25"):
        b.move("referred", reason="A killing is for the police")
    with at("2026-02-03"):
        a.move("implementation")
        a.check_all_terms("met")
        first, second = (p["id"] for p in a.case["parties"][:2])
        assert bob.post(f"/api/cases/{a.id}/surveys/", survey_body(first), format="json").status_code == 201
        body = survey_body(second, satisfaction=2, fairness=3, felt_heard=False)
        assert bob.post(f"/api/cases/{a.id}/surveys/", body, format="json").status_code == 201
    with at("2026-02-04"):
        term = d.client.get(f"/api/cases/{d.id}/agreement/").json()["terms"][1]
        breach = {"term": term["id"], "status": "breached"}
        response = bob.post(
            f"/api/cases/{d.id}/compliance-checks/", breach, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        assert response.status_code == 201
    with at("2026-02-10"):
        a.move("closed", outcome="resolved", reason="Agreement kept")
        c.move("withdrawn", reason="The families settled it themselves")
    with at("2026-02-15"):
        e = open_case()  # The Khan and Yousaf families again: a recurrence of A's feud.
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def month_row(month: str, forum, dispute_type: str) -> PatternMonth:
    return PatternMonth.objects.get(
        month=dt.date.fromisoformat(f"{month}-01"),
        region=forum.region,
        forum_kind=forum.kind,
        dispute_type=dispute_type,
    )


def test_the_counts_are_those_of_the_timelines(world, history):
    figures = summarise()

    assert figures["events"] == CaseEvent.objects.count()
    assert summary_tables() == recount()
    january_water = month_row("2026-01", world.jirga, "water")
    assert (january_water.opened, january_water.referred_in, january_water.imminent) == (1, 1, 0)
    assert (january_water.escalations_up, january_water.agreements, january_water.prohibited_blocked) == (1, 1, 1)
    february_water = month_row("2026-02", world.jirga, "water")
    assert (february_water.opened, february_water.recurrences) == (1, 1)
    assert (february_water.closed, february_water.resolved, february_water.withdrawn) == (1, 1, 0)
    assert (february_water.checks, february_water.checks_met) == (3, 3)
    assert (february_water.surveys, february_water.satisfaction_sum, february_water.fairness_sum) == (2, 6, 8)
    assert february_water.felt_heard == 1
    killing = month_row("2026-01", world.sulha, "killing")
    assert (killing.opened, killing.imminent, killing.referred_in, killing.referred) == (1, 1, 0, 1)
    assert month_row("2026-01", world.jirga, "land").sessions == 1
    assert month_row("2026-02", world.jirga, "land").withdrawn == 1
    debt = month_row("2026-02", world.jirga, "debt")
    assert (debt.breaches, debt.checks, debt.checks_met) == (1, 1, 0)
    tables = summary_tables()
    water = (dt.date(2026, 2, 1), world.jirga.region_id, "jirga", "water")
    assert tables["close_days"] == {(*water, 36): {"n": 1}}  # Opened 5 January, closed 10 February.
    assert tables["week"][(dt.date(2026, 1, 5), world.sulha.region_id)] == {"imminent": 1}
    assert tables["week"][(dt.date(2026, 1, 12), world.jirga.region_id)] == {"escalations_up": 1}
    assert tables["week"][(dt.date(2026, 2, 2), world.jirga.region_id)] == {"breaches": 1}

    # Run again with nothing new: nothing changes.
    before = raw_rows()
    again = summarise()
    assert (again["events"], again["chunks"]) == (0, 0)
    assert raw_rows() == before


def test_runs_with_events_in_between_equal_a_full_run(world, open_case, history):
    summarise(chunk_size=7)
    with at("2026-03-02"):
        feud = history["E"]
        climb(feud, direction="up", reason="The channel was blocked again")
        open_case(dispute_type="water", risk_level="imminent", parties=parties("Mohmand family", "Safi family"))
    summarise(chunk_size=3)
    with at("2026-03-09"):
        climb(feud, direction="down", reason="The families talk again")
        history["D"].move("hearings", reason="Appeal")  # Re-hearing.
    summarise()
    summarise()
    incremental = raw_rows()
    assert summary_tables() == recount()

    full = summarise(full=True, chunk_size=11)
    assert full["events"] == CaseEvent.objects.count()
    assert raw_rows() == incremental
    assert PatternState.objects.get().full_at is not None


def test_young_events_wait_for_the_next_run(world, open_case):
    with at("2026-04-01", hour=12):
        open_case()
        figures = patterns.summarise(safety_lag=60)
        assert figures["events"] == 0
        assert PatternMonth.objects.count() == 0
    with at("2026-04-01", hour=13):
        assert patterns.summarise(safety_lag=60)["events"] == CaseEvent.objects.count()
    assert summary_tables() == recount()


def test_generated_cases_summarised_in_steps_equal_a_full_run():
    until = "2026-06-01"
    steps = (700, 600, 700)  # 2,000 cases, as `generate_synthetic --cases 2000 --seed 3` in three goes.
    for number, cases in enumerate(steps):
        # Summarised here, in chunks of its own size, not by the command.
        call_command("generate_synthetic", "--cases", str(cases), "--seed", "3", "--until", until, "--no-summary")
        summarise(chunk_size=1500 + 500 * number)
    incremental = raw_rows()
    assert summary_tables() == recount()
    assert sum(row.opened for row in PatternMonth.objects.all()) == 2000

    summarise(full=True)
    assert raw_rows() == incremental


def test_the_command_runs_the_same_summary(world, open_case, capsys):
    with at("2026-05-04"):
        open_case()
        open_case(forum=world.sulha, risk_level="imminent")
    with at("2026-06-01"):  # A minute is long past for every event.
        call_command("summarise_patterns")
        first = capsys.readouterr().out
        call_command("summarise_patterns", "--full")
        full = capsys.readouterr().out
    assert first.startswith("Incremental summary:")
    assert f"{CaseEvent.objects.count():,} events folded" in first
    assert full.startswith("Full summary:")
    assert summary_tables() == recount()


# --- Two at once, and transactions still open (PostgreSQL: the tests need several connections) -----------


def in_thread(target, *args):
    """Run `target` on a thread of its own (its own database connection), keeping what it returns or raises."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = target(*args)
        except BaseException as error:  # noqa: BLE001 - handed back to the test.
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_count_every_event_once(postgres):
    synthetic.generate(cases=300, seed=5, until=dt.datetime(2026, 6, 1, tzinfo=UTC), writers=1)
    runs = [in_thread(lambda: summarise(chunk_size=150)) for _ in range(2)]
    for thread, outcome in runs:
        thread.join(60)
        assert "error" not in outcome, outcome.get("error")
    assert sum(outcome["value"]["events"] for _thread, outcome in runs) == CaseEvent.objects.count()
    assert summary_tables() == recount()


@pytest.mark.django_db(transaction=True)
def test_an_event_still_uncommitted_below_the_mark_is_waited_for(postgres, settings):
    """A transaction takes an event id, then a second one takes the next id and commits first: the summary
    must not move its mark past the first event before it commits."""
    jirga, sulha = ForumFactory(name="Swat Jirga", kind="jirga"), ForumFactory(name="Irbid Sulha", kind="sulha")
    alice = UserFactory(username="alice")
    for forum in (jirga, sulha):
        services.membership_grant(user=alice, forum=forum, role=Membership.Role.FACILITATOR)
    opened, go_on = threading.Event(), threading.Event()

    def slow_opening():
        with transaction.atomic():
            open_a_case(alice, jirga, "Slow family")
            opened.set()
            assert go_on.wait(20)

    writer, writer_outcome = in_thread(slow_opening)
    assert opened.wait(20)
    # A higher event id, committed first (in another forum: an opening locks its forum's reference counter).
    open_a_case(alice, sulha, "Quick family")
    summary, outcome = in_thread(summarise)
    time.sleep(0.5)
    assert summary.is_alive()  # Waiting for the slow opening to end.
    go_on.set()
    writer.join(20)
    summary.join(20)
    assert "error" not in writer_outcome, writer_outcome
    assert "error" not in outcome, outcome
    assert sum(row.opened for row in PatternMonth.objects.all()) == 2
    assert summary_tables() == recount()


def test_a_run_of_ids_without_events_costs_no_chunk_each(world, postgres):
    """Ids the event table's sequence gave to nothing (rolled-back transactions; in a test database, the earlier
    tests' events) are crossed at once: a full run in chunks of 5 ids over a gap of 100,000 ids takes a few chunks,
    not 20,000 (a test once took 13 minutes so), and counts what a run without the gap counts."""
    with at("2026-03-02"):
        open_a_case(world.alice, world.jirga, "Mohmand family")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('cases_caseevent', 'id'), (SELECT max(id) FROM cases_caseevent) "
            "+ 100000)"
        )
    with at("2026-03-09"):
        open_a_case(world.alice, world.sulha, "Safi family")
    events = CaseEvent.objects.count()
    full = summarise(full=True, chunk_size=5)
    assert full["events"] == events
    assert full["chunks"] <= events
    assert summary_tables() == recount()
    assert sum(row.opened for row in PatternMonth.objects.all()) == 2


def open_a_case(user, forum, family: str):
    return services.case_open(
        user=user,
        forum=forum,
        title="Water dispute",
        dispute_type="water",
        risk_level="medium",
        offence_class="compoundable",
        parties=parties(family, "Yousaf family"),
    )


# --- Who may refresh the summary and follow the task -------------------------------------------------------


def test_an_administrator_queues_the_summary(world, as_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_user(world.carol).post("/api/reports/patterns/refresh/")
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    assert uuid.UUID(task_id)
    assert len(callbacks) == 1  # Queued when the request's transaction commits, not before.


@pytest.mark.parametrize("who", ["dave", "alice", "bob", "eve", "frank"])
def test_only_administrators_refresh(world, as_user, who, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_user(getattr(world, who)).post("/api/reports/patterns/refresh/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert callbacks == []


@pytest.mark.parametrize(("who", "status"), [("carol", 200), ("dave", 200), ("alice", 403), ("bob", 403), ("eve", 403)])
def test_administrators_and_regulators_follow_the_task(world, as_user, who, status):
    response = as_user(getattr(world, who)).get(f"/api/reports/tasks/{uuid.uuid4()}/")
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"state": "PENDING", "progress": 0.0}
    else:
        assert response.json()["error"]["code"] == "forbidden"


def test_strangers_are_asked_to_log_in(world, api):
    assert api.post("/api/reports/patterns/refresh/").status_code == 401
    response = api.get(f"/api/reports/tasks/{uuid.uuid4()}/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.fixture
def eager_celery():
    """Tasks run in the caller's process, as in the embedded mode (no Redis). Sulh's own Celery app, which
    queues them: `current_app` is whichever app another test made last."""
    from config.celery import app

    conf = app.conf
    # A task copies task_store_eager_result when the app binds it (on the first task run in this process), so
    # the setting alone would not reach a task bound by an earlier test.
    task = app.tasks["cases.summarise_patterns"]
    saved = conf.task_always_eager, conf.task_store_eager_result, task.store_eager_result
    conf.task_always_eager = conf.task_store_eager_result = task.store_eager_result = True
    yield
    conf.task_always_eager, conf.task_store_eager_result, task.store_eager_result = saved


def test_in_the_embedded_mode_the_refresh_runs_at_once(
    world, open_case, as_user, eager_celery, django_capture_on_commit_callbacks
):
    with at("2026-05-04"):
        open_case()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(world.carol).post("/api/reports/patterns/refresh/")
    assert response.status_code == 202
    state = as_user(world.dave).get(f"/api/reports/tasks/{response.json()['task_id']}/").json()
    assert state == {"state": "SUCCESS", "progress": 1.0}
    assert summary_tables() == recount()


def test_a_task_id_that_is_not_one_is_a_404(world, as_user):
    response = as_user(world.dave).get("/api/reports/tasks/not-a-task/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_beat_runs_the_summary_nightly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["regulator-patterns"]
    assert entry["task"] == "cases.summarise_patterns"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {30})
