"""`generate_synthetic`: histories the services could have written, the same data for the same seed, and a
database that keeps working afterwards. Runs on SQLite and on PostgreSQL (COPY, and its writer threads in
the transactional tests)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases import selectors, services, synthetic
from cases.models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    ComplianceCheck,
    Forum,
    Membership,
    ProhibitedPractice,
    ReferenceCounter,
    Reminder,
    Term,
)
from cases.workflows import ENDED, EXITS, WORKFLOWS
from tests.cases.ladder_totals import totals
from tests.conftest import ROOT, db_url_for_subprocess

UNTIL = "2026-06-01"  # A pinned end of the three years, so that a test's data does not depend on the day.
UNTIL_AT = datetime(2026, 6, 1, tzinfo=UTC)
REFERENCE = re.compile(r"^(JIR|MUS|SUL)-(\d{4})-(\d{5,})$")
PSEUDONYM = re.compile(r"^P-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$")
EVENT_KINDS = {
    "opened", "transitioned", "agreement_recorded", "agreement_finalised", "compliance_checked", "breach_recorded",
    "prohibited_term_blocked", "escalated", "de_escalated", "session_started", "session_ended",
}  # fmt: skip


def generate(cases: int, *extra: str) -> str:
    call_command("generate_synthetic", "--cases", str(cases), *extra)


# --- What a valid history is --------------------------------------------------------------------------


def history_problems(case: Case, events: list[CaseEvent], agreement: Agreement | None, terms: list[Term],
                     checks: list[ComplianceCheck], reminders: list[Reminder], *, now: datetime) -> list[str]:  # fmt: skip
    """Replay the case's timeline against its workflow; every way it could not have come from the services."""
    problems = []
    workflow = WORKFLOWS[case.kind]

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(f"{case.reference}: {message}")

    expect([e.seq for e in events] == list(range(1, len(events) + 1)), "seq is not 1, 2, 3 …")
    expect(case.last_seq == len(events), "last_seq is not the last event's seq")
    expect(events[0].kind == "opened" and events[0].at == case.opened_at, "the first event is not the opening")
    expect(all(a.at <= b.at for a, b in zip(events, events[1:], strict=False)), "time runs backwards")
    expect(events[-1].at <= now, "an event is in the future")
    expect(case.forum.kind == case.kind, "not of its forum's kind")
    expect(events[0].data.get("rung") == 1, "not opened at the base of its forum's ladder")

    state, transitions, recorded, finalised_at, revision = "intake", 0, None, None, 0
    ladder_moves: list[CaseEvent] = []
    check_by_id = {check.pk: check for check in checks}
    term_ids = {term.pk for term in terms}
    latest: dict[int, str] = {}
    for i, event in enumerate(events):
        data = event.data
        expect(event.kind in EVENT_KINDS, f"unknown event kind {event.kind}")
        expect(event.kind != "opened" or i == 0, "opened twice")
        if event.kind == "transitioned":
            target = data["to"]
            transition = workflow.transition(state, target)
            expect(data["from"] == state, f"moved from {data['from']} while in {state}")
            expect(transition is not None, f"{state} → {target} is not declared for {case.kind}")
            if transition is None:
                break
            expect(transition.kind == data["kind"], f"{state} → {target} is {transition.kind}, not {data['kind']}")
            expect(transition.kind == "forward" or bool(data.get("reason")), f"{state} → {target} without a reason")
            expect(case.offence_class != "non_compoundable" or target in EXITS, "a non-compoundable case moved on")
            if target == workflow.agreement_state:
                expect(bool(recorded), f"entered {target} without an agreement with terms")
            if state == workflow.agreement_state and transition.kind == "forward":
                expect(events[i - 1].kind == "agreement_finalised" and events[i - 1].at == event.at,
                       "left the agreement state forward without agreement_finalised")  # fmt: skip
            if target == "truce":
                expect("truce_expires" in data, "a truce without an expiry")
            if target in ENDED:
                expect(data.get("outcome") == case.outcome and event.at == case.closed_at, "ended without its outcome")
            if target == "closed":
                expect(data["outcome"] in ("resolved", "partly_resolved", "breakdown"), "closed without an outcome")
            if data.get("outcome") == "resolved":
                expect(set(latest) == term_ids and set(latest.values()) == {"met"}, "resolved with a term not met")
            state = target
            transitions += 1
        elif event.kind == "agreement_recorded":
            expect(state not in ENDED and finalised_at is None, "agreement recorded after it could change")
            expect(data["agreement"] == getattr(agreement, "pk", None), "the event names another agreement")
            expect(data["revision"] == revision + 1 and len(data["terms"]) >= 1, "revisions skip, or no terms")
            recorded, revision = data["terms"], data["revision"]
        elif event.kind == "agreement_finalised":
            finalised_at = event.at
            expect(data == {"agreement": agreement.pk, "revision": agreement.revision}, "finalised another agreement")
        elif event.kind in ("compliance_checked", "breach_recorded"):
            check = check_by_id.get(data["check"])
            expect(finalised_at is not None, "a compliance check before the agreement was final")
            expect(check is not None and check.term_id == data["term"] and check.status == data["status"],
                   "the event does not match its check")  # fmt: skip
            if event.kind == "compliance_checked":
                latest[data["term"]] = data["status"]
                expect(check is not None and check.recorded_at == event.at, "check recorded at another time")
            else:
                expect(data["status"] == "breached" and events[i - 1].data == data, "breach without its check")
        elif event.kind in ("escalated", "de_escalated"):
            ladder_moves.append(event)
            expect(state not in ENDED, "moved on the ladder after the case ended")
        elif event.kind == "prohibited_term_blocked":
            expect({"term_index", "term_kind", "practice", "citations"} <= set(data), "blocked term lacks data")
            expect(ProhibitedPractice.objects.filter(code=data["practice"]).exists(), "unknown practice")

    expect(state == case.state, f"the timeline ends in {state}, the case is in {case.state}")
    expect(case.version == 1 + transitions + len(ladder_moves), "version is not 1 + the number of changes")
    problems += ladder_problems(case, events, ladder_moves, reminders, now=now)
    expect((case.closed_at is not None and case.outcome != "") == (case.state in ENDED), "ended ⇔ closed_at")
    expect((agreement is not None) == (recorded is not None), "agreement row without its event, or the reverse")
    if agreement is not None:
        expect(agreement.status == ("final" if finalised_at else "draft"), "agreement status")
        expect(agreement.finalised_at == finalised_at and agreement.revision == revision, "agreement times")
        expect([t.position for t in terms] == list(range(1, len(terms) + 1)), "term positions")
        stored = [{"kind": t.kind, "description": t.description} for t in terms]
        expect(stored == [{"kind": t["kind"], "description": t["description"]} for t in recorded or []],
               "the terms are not the last recorded ones")  # fmt: skip
        if case.outcome == "resolved":
            expect(set(selectors.latest_check_statuses(agreement=agreement).values()) == {"met"},
                   "resolved, yet the selector finds a term not met")  # fmt: skip
    expect(len(checks) == sum(e.kind == "compliance_checked" for e in events), "checks without events")
    breach_days = {datetime.fromisoformat(e.data["observed_at"]).date() for e in events if e.kind == "breach_recorded"}
    step_up = [r.due_on for r in reminders if r.kind == "consider_step_up"]
    expect(sorted(step_up) == sorted(breach_days), "a breach without its one reminder a day")
    expect(all(c.observed_at <= c.recorded_at and c.term_id in term_ids for c in checks), "check times or terms")
    match = REFERENCE.match(case.reference)
    expect(bool(match) and match[1] == services.REFERENCE_PREFIX[case.kind], "reference format")
    expect(bool(match) and int(match[2]) == case.opened_at.year, "reference year")
    return problems


def ladder_problems(case: Case, events: list[CaseEvent], moves: list[CaseEvent], reminders: list[Reminder], *,
                    now: datetime) -> list[str]:  # fmt: skip
    """Replay the moves along the ladder against services.case_escalate's rules, and the reminders against
    the review task and the breaches: each one where and when the services would have left it, answered by
    the next move or the case's end."""
    problems = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(f"{case.reference}: {message}")

    rungs = {rung.level: rung for rung in case.forum.ladder.rungs.all()}
    base, review_days = min(rungs), case.forum.ladder.review_days
    level, review_due, reviews = base, None, []  # reviews: (review date, set at, answered by the next move at)
    for event in moves:
        data = event.data
        target = data["to"]
        expect(data["from"] == level, f"moved from rung {data['from']} while on {level}")
        expect(bool(data.get("reason")), "a move without a reason")
        expect(data["from_code"] == rungs[level].code and data["to_code"] == rungs[target].code, "rung codes")
        if event.kind == "escalated":
            skip_allowed = case.risk_level == "imminent" and bool(data.get("justification"))
            expect(target == level + 1 or (target > level + 1 and skip_allowed), f"climbed {level} → {target}")
        else:
            expect(base <= target < level, f"stepped down {level} → {target}")
        if reviews and reviews[-1][2] is None:
            reviews[-1][2] = event.at
        review_due = None if target == base else (event.at + timedelta(days=review_days)).date()
        expect(data.get("review_due") == (review_due.isoformat() if review_due else None), "the move's review date")
        if review_due:
            reviews.append([review_due, event.at, None])
        level = target
    expect(case.rung.level == level, f"the case is on rung {case.rung.level}, its timeline ends on {level}")
    expect(case.review_due == review_due, "the case's review date is not its last move's")

    today = now.astimezone(UTC).date()
    end = case.closed_at
    wanted = set()
    for due, _set_at, next_move in reviews:
        task_ran = datetime(due.year, due.month, due.day, tzinfo=UTC) + timedelta(seconds=synthetic.REVIEW_TASK_DELAY)
        before = min(t for t in (next_move, end) if t is not None) if (next_move or end) else None
        if (before is not None and task_ran < before) or (before is None and due < today):
            wanted.add(due)
    step_down = [r for r in reminders if r.kind == "consider_step_down"]
    expect(sorted(r.due_on for r in step_down) == sorted(wanted), "review dates without their one reminder")
    move_times = [event.at for event in moves]
    for reminder in reminders:
        later = [t for t in move_times if t >= reminder.created_at]
        answered_by = later[0] if later else end
        expect(reminder.resolved_at == answered_by, f"{reminder.kind} of {reminder.due_on} not answered in time")
    return problems


def session_problems(case_events: dict[int, list[CaseEvent]]) -> list[str]:
    """Every session as deliberation.services would have left it: numbered 1, 2, 3 …, started and ended, its
    actors its own participants, and its start and end on the case's timeline while the case was open."""
    from deliberation.models import DialogueSession, Participant, SessionEvent

    problems = []
    participants = defaultdict(set)
    for participant_id, session_id in Participant.objects.values_list("id", "session_id"):
        participants[session_id].add(participant_id)
    events = defaultdict(list)
    for event in SessionEvent.objects.order_by("session_id", "seq"):
        events[event.session_id].append(event)
    for session in DialogueSession.objects.select_related("case"):
        timeline = {(e.kind, e.data.get("session")): e for e in case_events[session.case_id]}
        started, ended = timeline.get(("session_started", session.pk)), timeline.get(("session_ended", session.pk))
        mine = events[session.pk]
        kinds = [e.kind for e in mine]
        checks = [
            ([e.seq for e in mine] == list(range(1, len(mine) + 1)) and session.last_seq == len(mine), "seq"),
            (session.status == "ended" and "started" in kinds and "ended" in kinds, "not started and ended"),
            (all(e.actor_id in participants[session.pk] for e in mine if e.actor_id), "an actor from elsewhere"),
            (started is not None and started.at == session.started_at, "session_started not on the timeline"),
            (ended is not None and ended.at == session.ended_at, "session_ended not on the timeline"),
            (session.case.closed_at is None or session.ended_at < session.case.closed_at, "after the case ended"),
            (all(a.at <= b.at for a, b in zip(mine, mine[1:], strict=False)), "time runs backwards"),
        ]
        problems += [f"session {session.pk} of {session.case.reference}: {what}" for ok, what in checks if not ok]
    return problems


def all_problems(*, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    events, terms, checks = defaultdict(list), defaultdict(list), defaultdict(list)
    for event in CaseEvent.objects.order_by("case_id", "seq"):
        events[event.case_id].append(event)
    agreements = {a.case_id: a for a in Agreement.objects.all()}
    for term in Term.objects.order_by("agreement_id", "position"):
        terms[term.agreement_id].append(term)
    for check in ComplianceCheck.objects.order_by("observed_at", "id"):
        checks[check.case_id].append(check)
    reminders = defaultdict(list)
    for reminder in Reminder.objects.all():
        reminders[reminder.case_id].append(reminder)
    problems = []
    for case in Case.objects.select_related("forum", "rung"):
        agreement = agreements.get(case.pk)
        problems += history_problems(case, events[case.pk], agreement, terms[agreement.pk] if agreement else [],
                                     checks[case.pk], reminders[case.pk], now=now)  # fmt: skip
    roles = defaultdict(set)
    for case_id, role, pseudonym, party_forum, case_forum in CaseParty.objects.values_list(
        "case_id", "role", "party__pseudonym", "party__forum_id", "case__forum_id"
    ):
        roles[case_id].add(role)
        if not PSEUDONYM.match(pseudonym) or party_forum != case_forum:
            problems.append(f"party {pseudonym} of case {case_id}")
    problems += [f"case {i} lacks a side" for i in events if not {"first_party", "second_party"} <= roles[i]]
    problems += session_problems(events)
    counters = {(c.prefix, c.year): c.last_number for c in ReferenceCounter.objects.all()}
    for reference in Case.objects.values_list("reference", flat=True):
        prefix, year, number = REFERENCE.match(reference).groups()
        if counters.get((prefix, int(year)), 0) < int(number):
            problems.append(f"{reference} is beyond its counter")
    return problems


def digest() -> str:
    """Every generated row, without auto ids: ids in event data are replaced by what they point at."""
    h = hashlib.sha256()
    term_position = dict(Term.objects.values_list("id", "position"))
    check_key = dict(ComplianceCheck.objects.values_list("id", "idempotency_key"))
    reference = dict(Case.objects.values_list("id", "reference"))
    agreement_case = dict(Agreement.objects.values_list("id", "case_id"))
    from deliberation.models import DialogueSession, SessionEvent

    session_key = {
        pk: (reference[case_id], str(started)) for pk, case_id, started in DialogueSession.objects.values_list(
            "id", "case_id", "started_at")
    }  # fmt: skip
    for row in Case.objects.order_by("reference").values_list(
        "reference", "forum__name", "kind", "title", "summary", "dispute_type", "risk_level", "offence_class", "state",
        "rung__level", "version", "last_seq", "outcome", "opened_at", "closed_at", "truce_expires", "review_due",
        "referral_source", "fir_number", "opened_by__username",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in CaseParty.objects.order_by("case__reference", "party__pseudonym", "role").values_list(
        "case__reference", "role", "party__name", "party__kind", "party__pseudonym", "party__forum__name"
    ):
        h.update(repr(row).encode())
    for event in CaseEvent.objects.select_related("actor").order_by("case_id", "seq"):
        data = dict(event.data)
        for key, replace in (("agreement", lambda v: reference[agreement_case[v]]), ("term", term_position.get),
                             ("check", lambda v: str(check_key[v])), ("session", session_key.get)):  # fmt: skip
            if key in data:
                data[key] = replace(data[key])
        actor = event.actor.username if event.actor else None
        h.update(
            repr((reference[event.case_id], event.seq, event.kind, actor, event.at, sorted(data.items()))).encode()
        )
    for row in Agreement.objects.order_by("case__reference").values_list(
        "case__reference", "status", "revision", "recorded_at", "finalised_at"
    ):
        h.update(repr(row).encode())
    for row in Term.objects.order_by("agreement__case__reference", "position").values_list(
        "agreement__case__reference", "position", "kind", "description", "amount", "currency", "due"
    ):
        h.update(repr(row).encode())
    for row in ComplianceCheck.objects.order_by("idempotency_key").values_list(
        "idempotency_key", "case__reference", "term__position", "status", "notes", "observed_at", "recorded_at",
        "recorded_by__username",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in Reminder.objects.order_by("case__reference", "due_on").values_list(
        "case__reference", "kind", "due_on", "created_at", "resolved_at"
    ):
        h.update(repr(row).encode())
    from deliberation.models import Participant

    participant_name = dict(Participant.objects.values_list("id", "display_name"))
    for *row, data in SessionEvent.objects.order_by(
        "session__case__reference", "session__started_at", "seq"
    ).values_list(
        "session__case__reference", "seq", "kind", "actor__display_name", "actor__user__username", "at", "data"
    ):
        if "participant" in data:
            data = {**data, "participant": participant_name[data["participant"]]}
        h.update(repr((*row, sorted(data.items()))).encode())
    for row in ReferenceCounter.objects.order_by("prefix", "year").values_list("prefix", "year", "last_number"):
        h.update(repr(row).encode())
    return h.hexdigest()


def assert_ladder_totals_recount() -> None:
    """The escalation statistics' running totals, added batch by batch, equal a recount from scratch."""
    from cases import ladder_stats

    kept = totals()
    assert kept[1], "no moves were counted"
    ladder_stats.rebuild()
    assert totals() == kept


# --- Tests ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_writes_histories_the_services_could_have_written(capsys):
    generate(300, "--seed", "3", "--batch", "120")

    out, err = capsys.readouterr()
    assert re.search(r"Added 300 cases and [\d,]+ events in [\d.]+ s: [\d,]+ cases/s, [\d,]+ events/s\.", out)
    assert "300/300 cases" in err  # The progress bar.
    assert Case.objects.count() == 300
    assert all_problems() == []
    assert_ladder_totals_recount()


@pytest.mark.django_db
def test_the_cases_are_spread_like_real_ones():
    until = datetime(2026, 6, 1, tzinfo=UTC)
    generate(600, "--seed", "5", "--until", UNTIL)

    cases = Case.objects.all()
    states = Counter(cases.values_list("state", flat=True))
    assert sum(n for s, n in states.items() if s in ENDED) > 0
    assert sum(n for s, n in states.items() if s not in ENDED) > 0
    assert {"closed", "withdrawn", "referred"} <= set(states)
    assert set(cases.values_list("kind", flat=True)) == {"jirga", "muslahathi", "sulha"}
    assert Forum.objects.filter(cases__isnull=False).distinct().count() >= 15
    assert cases.values("forum__region__parent").distinct().count() >= 6  # Provinces.
    disputes = Counter(cases.values_list("dispute_type", flat=True))
    assert disputes["land"] > disputes["killing"]
    assert disputes["land"] > disputes["honour"]
    assert len(disputes) >= 12
    assert set(cases.values_list("risk_level", flat=True)) == {"low", "medium", "high", "imminent"}
    non_compoundable = Counter(cases.filter(offence_class="non_compoundable").values_list("state", flat=True))
    assert set(non_compoundable) <= {"intake", "referred", "withdrawn"}
    assert non_compoundable["referred"] > non_compoundable["withdrawn"]
    opened = list(cases.values_list("opened_at", flat=True))
    assert until - timedelta(days=3 * 365) <= min(opened) < until - timedelta(days=900)
    assert until - timedelta(days=30) < max(opened) < until
    assert len({when.year for when in opened}) == 4  # Three years back from June reach into four calendar years.
    kinds = Counter(CaseEvent.objects.values_list("kind", flat=True))
    assert kinds["breach_recorded"] > 0
    assert kinds["prohibited_term_blocked"] > 0
    assert kinds["agreement_finalised"] > 0
    assert kinds["escalated"] > kinds["de_escalated"] > 0
    assert kinds["session_started"] == kinds["session_ended"] > 0
    assert cases.filter(rung__level__gt=1).exclude(state__in=ENDED).exists()
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"consider_step_up", "consider_step_down"}
    assert Counter(cases.filter(state="closed").values_list("outcome", flat=True)).keys() == {
        "resolved", "partly_resolved", "breakdown"
    }  # fmt: skip
    assert all_problems(now=until) == []


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data():
    # Each run goes into a savepoint that is then rolled back, so both start from the same empty database;
    # sequences do not roll back, which is why the digest leaves auto ids out.
    digests = []
    for seed in (7, 7, 8):
        with transaction.atomic():
            generate(150, "--seed", str(seed), "--until", UNTIL, "--batch", "40")
            digests.append(digest())
            transaction.set_rollback(True)
    assert digests[0] == digests[1]
    assert digests[2] != digests[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_same_seed_gives_the_same_data_in_another_process():
    """A fresh database twice: once generated here, once by `manage.py` in a process of its own, with another
    hash seed (so that nothing may depend on set or dict ordering of strings). On PostgreSQL both go through
    the writer threads."""
    call_command("flush", "--no-input")
    generate(150, "--seed", "11", "--until", UNTIL, "--batch", "40")
    here = digest()
    assert all_problems(now=UNTIL_AT) == []

    call_command("flush", "--no-input")
    env = {**os.environ, "DATABASE_URL": db_url_for_subprocess(), "PYTHONHASHSEED": "4321", "CI": ""}
    subprocess.run(
        [sys.executable, "manage.py", "generate_synthetic", "--cases", "150", "--seed", "11", "--until", UNTIL,
         "--batch", "40"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert digest() == here


@pytest.mark.django_db
def test_a_second_run_adds_more_cases_with_new_references():
    generate(120, "--until", UNTIL)
    first = set(Case.objects.values_list("reference", flat=True))
    generate(120, "--until", UNTIL)  # The same (default) seed.

    references = list(Case.objects.values_list("reference", flat=True))
    assert len(references) == len(set(references)) == 240
    second = set(references) - first
    assert len(second) == 120

    # Not a copy of the first run: the stream continues.
    def titles(references: set[str]) -> list[str]:
        return sorted(Case.objects.filter(reference__in=references).values_list("title", flat=True))

    assert titles(first) != titles(second)
    assert all_problems(now=UNTIL_AT) == []


@pytest.mark.django_db
def test_case_open_still_gets_a_fresh_reference_afterwards():
    generate(150)
    forum = Forum.objects.get(name="Peshawar Jirga")
    facilitator = Membership.objects.filter(forum=forum, role="facilitator").first().user
    year = timezone.now().year
    numbers = [int(r.rsplit("-", 1)[1]) for r in Case.objects.filter(reference__startswith=f"JIR-{year}-")
               .values_list("reference", flat=True)]  # fmt: skip

    case = services.case_open(
        user=facilitator, forum=forum, title="Boundary wall between two houses", dispute_type="land",
        risk_level="low", offence_class="civil",
        parties=[{"name": "First family", "kind": "family", "role": "first_party"},
                 {"name": "Second family", "kind": "family", "role": "second_party"}],
    )  # fmt: skip

    assert case.reference == f"JIR-{year}-{max(numbers, default=0) + 1:05d}"
    assert services.case_transition(user=facilitator, case_id=case.pk, to="mandate", version=1).state == "mandate"


@pytest.mark.django_db
def test_running_it_again_creates_no_second_world():
    generate(20)
    counts = (Forum.objects.count(), Membership.objects.count())
    generate(20)
    assert (Forum.objects.count(), Membership.objects.count()) == counts


@pytest.mark.django_db
def test_an_interrupted_run_leaves_whole_cases_only():
    # A case that bypassed the counters takes the reference the 70th generated case (in the 4th batch of 20)
    # will want: that batch fails as a whole, the three before it stay, whole. It exists before both runs so
    # that both draw the same stream (the stream's salt is the number of cases already there).
    blocker = Case.objects.create(
        reference="in-the-way", forum=services.forum_ensure(name="Quetta Jirga", kind="jirga",
        region=services.region_ensure(code="pk-ba", name="Balochistan")), kind="jirga",
        rung=services.ladder_default().rungs.get(level=1), title="In the way", dispute_type="other",
        risk_level="low", offence_class="civil", opened_at=datetime(2026, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    with transaction.atomic():
        generate(100, "--seed", "9", "--until", UNTIL, "--batch", "20")
        doomed = Case.objects.exclude(pk=blocker.pk).order_by("id").values_list("reference", flat=True)[69]
        transaction.set_rollback(True)
    Case.objects.filter(pk=blocker.pk).update(reference=doomed)

    with pytest.raises(IntegrityError):
        generate(100, "--seed", "9", "--until", UNTIL, "--batch", "20")

    assert Case.objects.exclude(pk=blocker.pk).count() == 60
    blocker.delete()
    assert all_problems(now=UNTIL_AT) == []
    assert_ladder_totals_recount()


@pytest.mark.django_db(transaction=True)
def test_the_writer_threads_commit_whole_valid_batches(postgres):
    generate(250, "--seed", "13", "--batch", "30", "--writers", "3")

    assert Case.objects.count() == 250
    assert all_problems() == []
    assert_ladder_totals_recount()
    assert connection.vendor == "postgresql"


def test_it_refuses_nonsense():
    with pytest.raises(Exception, match="at least 1"):
        call_command("generate_synthetic", "--cases", "0")
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    with pytest.raises(Exception, match="future"):
        synthetic.generate(cases=1, until=datetime.fromisoformat(tomorrow).replace(tzinfo=UTC))
