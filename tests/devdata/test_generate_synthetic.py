"""`generate_synthetic`: histories the services could have written, the same data for the same seed, and a
database that keeps working afterwards. Runs on SQLite and on PostgreSQL (COPY, and its writer threads in
the transactional tests)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases import selectors, services
from cases.models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    CaseRiskFactor,
    ComplianceCheck,
    ComplianceConflict,
    Deposit,
    DueItem,
    Forum,
    Guarantor,
    Instalment,
    Membership,
    Party,
    ProhibitedPractice,
    Recurrence,
    ReferenceCounter,
    Reminder,
    Survey,
    Term,
    TieDeclaration,
)
from cases.workflows import ENDED, EXITS, WORKFLOWS
from devdata import synthetic
from devdata.synthetic import writers
from tests.cases.ladder_totals import totals
from tests.conftest import ROOT, db_url_for_subprocess

UNTIL = "2026-06-01"  # A pinned end of the three years, so that a test's data does not depend on the day.
UNTIL_AT = datetime(2026, 6, 1, tzinfo=UTC)
REFERENCE = re.compile(r"^(JIR|MUS|SUL)-(\d{4})-(\d{5,})$")
PSEUDONYM = re.compile(r"^P-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$")
EVENT_KINDS = {
    "opened", "transitioned", "agreement_recorded", "agreement_finalised", "compliance_checked", "breach_recorded",
    "prohibited_term_blocked", "escalated", "de_escalated", "session_started", "session_ended", "monitor_assigned",
    "compliance_conflict", "compliance_conflict_reviewed", "recurrence_linked", "recurrence_confirmed",
    "recurrence_rejected", "survey_recorded", "risk_factors_tagged", "guarantor_added", "deposit_received",
    "guarantor_called", "deposit_forfeited", "deposit_returned", "tie_declared", "tie_accepted", "tie_recused",
    "caucus_held",
}  # fmt: skip
SURVEYED_ROLES = {"first_party", "second_party", "victim"}  # As services.survey_record asks them.
FIRST, SECOND = "first_party", "second_party"


def generate(cases: int, *extra: str) -> str:
    call_command("generate_synthetic", "--cases", str(cases), *extra)


# --- What a valid history is --------------------------------------------------------------------------


@dataclass
class Monitoring:
    """A case's follow-up rows, and the forum's people, for history_problems."""

    instalments: dict[int, list[Instalment]] = field(default_factory=dict)  # By term id.
    conflicts: list[ComplianceConflict] = field(default_factory=list)
    recurrences: list[Recurrence] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    parties: dict[int, tuple[str, str]] = field(default_factory=dict)  # party id → (role, pseudonym)
    facilitators: set[int] = field(default_factory=set)
    monitors: dict[int, str] = field(default_factory=dict)  # user id → username
    references: dict[int, str] = field(default_factory=dict)  # case id → reference, of every case
    risk_factors: dict[int, tuple] = field(default_factory=dict)  # factor → (tagged_at, tagged_by_id)
    guarantors: dict[int, Guarantor] = field(default_factory=dict)  # By id.
    deposits: dict[int, Deposit] = field(default_factory=dict)  # By id.
    ties: dict[int, TieDeclaration] = field(default_factory=dict)  # By id.


def history_problems(case: Case, events: list[CaseEvent], agreement: Agreement | None, terms: list[Term],
                     checks: list[ComplianceCheck], reminders: list[Reminder], more: Monitoring, *,
                     now: datetime) -> list[str]:  # fmt: skip
    """Replay the case's timeline against its workflow; every way it could not have come from the services."""
    problems = []
    workflow = WORKFLOWS[case.kind]
    closing_stage = workflow.states[-2]  # Where services.survey_record starts asking.

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
    latest: dict[int, tuple] = {}  # term → (observed_at, id, status) of its latest observed check so far
    arrived: list[ComplianceCheck] = []  # The checks in the order they reached the server.
    conflicts: dict[int, dict[int, ComplianceConflict]] = defaultdict(dict)  # later → earlier → conflict
    for conflict in more.conflicts:
        conflicts[conflict.later_id][conflict.earlier_id] = conflict
    recurrences = {r.earlier_id: r for r in more.recurrences}
    survey_of = {more.parties[s.party_id][1]: s for s in more.surveys if s.party_id in more.parties}
    monitor, reviewed, decided, surveyed, linked = None, 0, [], [], 0
    tags: dict[int, tuple] = {}  # factor → (at, actor) of the event that added it
    held: set[int] = set()  # Deposits received and neither forfeited nor returned (cases.services.guarantees).
    guarantee_events: dict[int, str] = {}  # deposit or guarantor id (signed: guarantors negative) → last event
    ties: dict[int, list] = {}  # tie id → [person, status, sides accepted] as its events leave it
    breached = False
    for i, event in enumerate(events):
        data = event.data
        expect(event.kind in EVENT_KINDS, f"unknown event kind {event.kind}")
        expect(event.kind != "opened" or i == 0, "opened twice")
        if event.kind in ("transitioned", "session_started"):
            # cases.services.conflicts: nobody with a tie neither recused nor accepted by both sides moves the case
            # or starts its session; nobody recused does, ever.
            expect(not any(person == event.actor_id and status != "accepted" for person, status, _s in ties.values()),
                   f"{event.kind} by a person with an unresolved or recused tie")  # fmt: skip
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
                expect(not held, "closed as resolved with a deposit held")
                statuses = {status for _at, _id, status in latest.values()}
                expect(set(latest) == term_ids and statuses == {"met"}, "resolved with a term not met")
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
            if check is None:
                continue
            if event.kind == "compliance_checked":
                expect(check.recorded_at == event.at and check.recorded_by_id == event.actor_id,
                       "check recorded at another time, or by another")  # fmt: skip
                expect(data.get("paid") == (None if check.paid is None else str(check.paid)),
                       "the event's payment is not its check's")  # fmt: skip
                # services.compliance_record's offline rule: a conflict with each check of the term by someone
                # else that reached the server after this one was made, and with no other.
                unseen = {other.pk for other in arrived if other.term_id == check.term_id
                          and other.recorded_at > check.observed_at and other.recorded_by_id != check.recorded_by_id}  # fmt: skip
                expect(set(conflicts[check.pk]) == unseen, "conflicts are not the checks it could not have known of")
                expect(not unseen or (i + 1 < len(events) and events[i + 1].kind == "compliance_conflict"),
                       "a conflict without its event")  # fmt: skip
                expect(all(c.created_at == check.recorded_at for c in conflicts[check.pk].values()), "conflict time")
                arrived.append(check)
                if check.term_id not in latest or (check.observed_at, check.pk) > latest[check.term_id][:2]:
                    latest[check.term_id] = (check.observed_at, check.pk, check.status)
            else:
                breached = True
                j = i - 2 if events[i - 1].kind == "compliance_conflict" else i - 1
                expect(data["status"] == "breached" and events[j].kind == "compliance_checked" and events[j].data == data,
                       "breach without its check")  # fmt: skip
        elif event.kind == "compliance_conflict":
            before, mine = events[i - 1], conflicts[data["check"]]
            expect(before.kind == "compliance_checked" and before.data["check"] == data["check"]
                   and before.at == event.at and before.actor_id == event.actor_id, "a conflict apart from its check")  # fmt: skip
            expect(sorted(c["check"] for c in data["conflicts_with"]) == sorted(mine) and all(
                check_by_id[c["check"]].status == c["status"] for c in data["conflicts_with"] if c["check"] in mine
            ) and data["term"] == before.data["term"] and data["status"] == before.data["status"],
                "the conflict event does not match its rows")  # fmt: skip
        elif event.kind == "compliance_conflict_reviewed":
            conflict = conflicts[data["check"]].get(data["other"])
            expect(conflict is not None and conflict.reviewed_at == event.at and conflict.reviewed_by_id == event.actor_id,
                   "a review does not match its conflict")  # fmt: skip
            expect(event.actor_id in more.facilitators, "a conflict reviewed by someone not a facilitator")
            reviewed += 1
        elif event.kind in ("guarantor_added", "guarantor_called", "deposit_received", "deposit_forfeited",
                            "deposit_returned"):  # fmt: skip
            expect(event.actor_id in more.facilitators, f"{event.kind} by someone not a facilitator")
            expect(event.kind == "deposit_returned" or state not in ENDED, f"{event.kind} after the case ended")
            expect(not any(isinstance(v, str) and v.startswith("gAAAAA") for v in data.values()), "a name in an event")
            if event.kind in ("guarantor_called", "deposit_forfeited"):
                expect(breached and bool(data.get("reason")), f"{event.kind} without a breach or a reason")
            if event.kind.startswith("guarantor"):
                row = more.guarantors.get(data["guarantor"])
                expect(row is not None and row.stands_for == data["stands_for"], "a guarantor event without its row")
                guarantee_events[-data["guarantor"]] = event.kind
            else:
                row = more.deposits.get(data["deposit"])
                expect(row is not None and row.kind == data["kind"] and row.deposited_by == data["deposited_by"]
                       and data["amount"] == (None if row.amount is None else str(row.amount)),
                       "a deposit event does not match its row")  # fmt: skip
                expect((event.kind == "deposit_received") != (data["deposit"] in held), "a deposit settled twice")
                (held.add if event.kind == "deposit_received" else held.discard)(data["deposit"])
                guarantee_events[data["deposit"]] = event.kind
        elif event.kind in ("tie_declared", "tie_accepted", "tie_recused"):
            tie = more.ties.get(data["tie"])
            expect(state not in ENDED, f"{event.kind} after the case ended")
            expect(tie is not None and tie.person_id == data["person"], f"{event.kind} without its row")
            expect(event.actor_id in more.facilitators, f"{event.kind} by someone not a facilitator")
            if tie is None:
                continue
            if event.kind == "tie_declared":
                expect(data["tie"] not in ties and tie.declared_at == event.at and tie.declared_by_id == event.actor_id
                       and tie.kind == data["kind"] and more.parties.get(tie.party_id, ("", ""))[1] == data["pseudonym"]
                       and data["first_on_case"] == (not ties), "the declaration does not match its row")  # fmt: skip
                ties[data["tie"]] = [tie.person_id, "declared", set()]
            elif event.kind == "tie_accepted":
                person, status, sides = ties.get(data["tie"], [None, "", set()])
                side = data["side"]
                expect(status == "declared" and side not in sides and event.actor_id != person,
                       "an acceptance of a tie not awaiting it, twice, or recorded by the person tied")  # fmt: skip
                expect(getattr(tie, f"{side.removesuffix('_party')}_accepted_at") == event.at, "acceptance time")
                sides.add(side)
                expect(data["resolved"] == (sides == {FIRST, SECOND}), "resolved before both sides accepted")
                ties[data["tie"]] = [person, "accepted" if data["resolved"] else status, sides]
            else:
                expect(ties.get(data["tie"], [0, ""])[1] == "declared" and tie.recused_at == event.at,
                       "a recusal of a tie not awaiting one")  # fmt: skip
                ties.setdefault(data["tie"], [tie.person_id, "", set()])[1] = "recused"
        elif event.kind == "risk_factors_tagged":
            expect(event.actor_id in more.facilitators, "risk factors tagged by someone not a facilitator")
            expect(state not in ENDED, "risk factors tagged after the case ended")
            factors = data.get("factors") or []
            expect(factors == sorted(set(factors)) and set(factors) <= set(range(1, 15)), "risk factors not 1–14")
            expect(data.get("added") == sorted(set(factors) - set(tags)), "risk factors added")
            expect(data.get("removed") == sorted(set(tags) - set(factors)), "risk factors removed")
            tags = {f: tags.get(f, (event.at, event.actor_id)) for f in factors}
        elif event.kind == "monitor_assigned":
            expect(event.actor_id in more.facilitators, "a monitor assigned by someone not a facilitator")
            expect(data.get("monitor") in more.monitors.values(), "assigned to someone not a monitor of the forum")
            expect(state not in ENDED, "a monitor assigned after the case ended")
            monitor = data.get("monitor")
        elif event.kind == "recurrence_linked":
            linked += 1
            expect(i == 1 and event.at == case.opened_at and event.actor_id == case.opened_by_id,
                   "recurrences linked other than by the opening")  # fmt: skip
            earlier = [(e["case"], e["reference"], e["basis"]) for e in data["earlier"]]
            rows = [(r.earlier_id, more.references.get(r.earlier_id), r.basis) for r in more.recurrences]
            expect(sorted(earlier) == sorted(rows), "the linked cases are not the recurrence rows")
        elif event.kind in ("recurrence_confirmed", "recurrence_rejected"):
            link = recurrences.get(data["case"])
            expect(link is not None and link.status == event.kind.removeprefix("recurrence_")
                   and link.decided_at == event.at and link.decided_by_id == event.actor_id
                   and data["reference"] == more.references.get(data["case"]), "a decision does not match its link")  # fmt: skip
            expect(event.actor_id in more.facilitators, "a link decided by someone not a facilitator")
            decided.append(data["case"])
        elif event.kind == "survey_recorded":
            survey = survey_of.get(data["party"])
            expect(state == closing_stage or state in ENDED, f"a survey in {state}, before the closing stage")
            expect(survey is not None and survey.recorded_at == event.at and survey.recorded_by_id == event.actor_id
                   and data["role"] == more.parties[survey.party_id][0]
                   and [data[k] for k in ("satisfaction", "fairness", "felt_heard", "would_use_again")]
                   == [survey.satisfaction, survey.fairness, survey.felt_heard, survey.would_use_again],
                   "the survey event does not match its row")  # fmt: skip
            surveyed.append(data["party"])
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
    monitoring_problems(terms, recorded, checks, more, expect)
    expect(monitor == (more.monitors.get(case.monitor_id) if case.monitor_id else None),
           "the case's monitor is not the one last assigned")  # fmt: skip
    expect(more.risk_factors == tags, "the risk factor rows are not the ones the events tagged")
    last_status = {"deposit_received": "held", "deposit_forfeited": "forfeited", "deposit_returned": "returned",
                   "guarantor_added": "active", "guarantor_called": "called"}  # fmt: skip
    rows = {pk: row.status for pk, row in more.deposits.items()}
    rows.update({-pk: row.status for pk, row in more.guarantors.items()})
    expect(rows == {pk: last_status[kind] for pk, kind in guarantee_events.items()},
           "the guarantee rows are not what their events left")  # fmt: skip
    expect({pk: tie.status for pk, tie in more.ties.items()} == {pk: status for pk, (_p, status, _s) in ties.items()},
           "the tie rows are not what their events left")  # fmt: skip
    expect(reviewed == sum(c.reviewed_at is not None for c in more.conflicts), "a reviewed conflict without its event")
    expect(all((c.reviewed_at is None) == (c.reviewed_by_id is None) for c in more.conflicts), "half a review")
    expect(linked == (1 if more.recurrences else 0), "recurrence rows without their one event")
    expect(sorted(decided) == sorted(r.earlier_id for r in more.recurrences if r.status != "matched"),
           "a decided link without its event, or the reverse")  # fmt: skip
    expect(all(r.created_at == case.opened_at and r.status in ("matched", "confirmed", "rejected")
               and (r.status == "matched") == (r.decided_at is None) for r in more.recurrences), "link rows")  # fmt: skip
    expect(sorted(surveyed) == sorted(more.parties[s.party_id][1] for s in more.surveys if s.party_id in more.parties),
           "a survey without its event")  # fmt: skip
    breach_days = {datetime.fromisoformat(e.data["observed_at"]).date() for e in events if e.kind == "breach_recorded"}
    step_up = [r.due_on for r in reminders if r.kind == "consider_step_up"]
    expect(sorted(step_up) == sorted(breach_days), "a breach without its one reminder a day")
    expect(all(c.observed_at <= c.recorded_at and c.term_id in term_ids for c in checks), "check times or terms")
    match = REFERENCE.match(case.reference)
    expect(bool(match) and match[1] == services.REFERENCE_PREFIX[case.kind], "reference format")
    expect(bool(match) and int(match[2]) == case.opened_at.year, "reference year")
    return problems


def monitoring_problems(terms: list[Term], recorded: list[dict] | None, checks: list[ComplianceCheck],
                        more: Monitoring, expect) -> None:  # fmt: skip
    """Instalments, payments and surveys as services.agreement_record, compliance_record and survey_record
    accept them."""
    for term, payload in zip(terms, recorded or [], strict=False):
        parts = more.instalments.get(term.pk, [])
        if parts:
            expect(term.kind == "compensation", "instalments of a term other than compensation")
            expect([p.number for p in parts] == list(range(1, len(parts) + 1)), "instalment numbers")
            expect(all(p.amount > 0 for p in parts), "an instalment of nothing")
            expect(all(a.due_on < b.due_on for a, b in zip(parts, parts[1:], strict=False)), "instalments out of order")
            expect(term.amount is None or sum(p.amount for p in parts) == term.amount,
                   "the instalments do not add up to the term's amount")  # fmt: skip
        expect(payload.get("instalments", []) == [{"due": p.due_on.isoformat(), "amount": str(p.amount)} for p in parts],
               "the agreement event's instalments are not the rows")  # fmt: skip
    by_id = {term.pk: term for term in terms}
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for check in checks:
        if check.paid is not None:
            term = by_id.get(check.term_id)
            expect(term is not None and term.kind == "compensation", "a payment on a term other than compensation")
            expect(check.paid >= 0, "a negative payment")
            paid[check.term_id] += check.paid
    expect(all(by_id[t].amount is None or total <= by_id[t].amount for t, total in paid.items() if t in by_id),
           "more paid than the term's amount")  # fmt: skip
    parties = [survey.party_id for survey in more.surveys]
    expect(len(parties) == len(set(parties)), "two surveys of one party")
    for survey in more.surveys:
        expect(more.parties.get(survey.party_id, ("",))[0] in SURVEYED_ROLES, "a survey of a party not asked")
        expect(1 <= survey.satisfaction <= 5 and 1 <= survey.fairness <= 5, "a score off the 1–5 scales")
        expect(survey.recorded_by_id in more.facilitators or survey.recorded_by_id in more.monitors,
               "a survey recorded by someone not of the forum")  # fmt: skip


def recurrence_problems() -> list[str]:
    """Every recurrence is one services.recurrences_find would have linked when the later case opened, and
    every link it would have made is there: the earlier case opened before, in the same district, still open
    or ended within 24 months, with a first party of one and a second party of the other on each side (either
    way round), matched on the party records (`party_record`) or else on the names (`names`). "When the case
    opened" takes the cases already written then: those with a lower id."""
    cases = {case.pk: case for case in Case.objects.select_related("forum")}
    ids: dict[int, dict[str, set]] = defaultdict(lambda: {FIRST: set(), SECOND: set()})
    keys: dict[int, dict[str, set]] = defaultdict(lambda: {FIRST: set(), SECOND: set()})
    index: dict[tuple[int, str], set[int]] = defaultdict(set)
    for case_id, role, party_id, key in CaseParty.objects.filter(role__in=[FIRST, SECOND]).values_list(
        "case_id", "role", "party_id", "party__name_key"
    ):
        ids[case_id][role].add(party_id)
        if key:
            keys[case_id][role].add(key)
            index[cases[case_id].forum.region_id, key].add(case_id)

    def both_sides(a: dict[str, set], b: dict[str, set]) -> bool:
        return bool((a[FIRST] & b[FIRST] and a[SECOND] & b[SECOND]) or (a[FIRST] & b[SECOND] and a[SECOND] & b[FIRST]))

    def could_link(case: Case, earlier: Case) -> str | None:
        if not (earlier.pk < case.pk and earlier.opened_at < case.opened_at
                and earlier.forum.region_id == case.forum.region_id
                and (earlier.closed_at is None or earlier.closed_at >= case.opened_at - services.RECURRENCE_WINDOW)):  # fmt: skip
            return None
        if both_sides(ids[case.pk], ids[earlier.pk]):
            return "party_record"
        return "names" if both_sides(keys[case.pk], keys[earlier.pk]) else None

    problems = []
    linked: dict[int, dict[int, str]] = defaultdict(dict)
    for link in Recurrence.objects.all():
        case, earlier = cases[link.case_id], cases[link.earlier_id]
        linked[case.pk][earlier.pk] = link.basis
        if could_link(case, earlier) != link.basis:
            problems.append(f"{case.reference} is linked to {earlier.reference} on {link.basis}, which does not hold")
    for case in cases.values():
        candidates = set().union(*(index[case.forum.region_id, key] for side in keys[case.pk].values() for key in side))
        wanted = {other: basis for other in candidates if (basis := could_link(case, cases[other]))}
        if wanted != linked[case.pk]:
            problems.append(f"{case.reference} is linked to {linked[case.pk]}, recurrences_find finds {wanted}")
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
    people = defaultdict(dict)  # session → {user: (role, side)}
    for participant_id, session_id, user_id, role, side in Participant.objects.values_list(
        "id", "session_id", "user_id", "role", "side"
    ):
        participants[session_id].add(participant_id)
        people[session_id][user_id] = (role, side)
    events = defaultdict(list)
    for event in SessionEvent.objects.order_by("session_id", "seq"):
        events[event.session_id].append(event)
    for session in DialogueSession.objects.select_related("case", "joint"):
        mine = events[session.pk]
        kinds = [e.kind for e in mine]
        if session.joint_id is not None:
            problems += [f"caucus {session.pk} of {session.case.reference}: {what}"
                         for what in caucus_problems(session, mine, people, events, case_events)]  # fmt: skip
            continue
        timeline = {(e.kind, e.data.get("session")): e for e in case_events[session.case_id]}
        started, ended = timeline.get(("session_started", session.pk)), timeline.get(("session_ended", session.pk))
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


def caucus_problems(caucus, mine, people, events, case_events) -> list[str]:
    """A side room as deliberation.services leaves one: numbered, started and ended within its joint session,
    attended only by the forum's people and guests of its side (never the other side's), opened and closed in the
    joint room, and `caucus_held` on the timeline with its times and how many took part, no names."""
    joint_events = events[caucus.joint_id]
    opened = [
        e for e in joint_events if e.kind == "caucus_opened" and e.data == {"caucus": caucus.pk, "side": caucus.side}
    ]
    closed = [
        e for e in joint_events if e.kind == "caucus_closed" and e.data == {"caucus": caucus.pk, "side": caucus.side}
    ]
    joint_ended = next((e.at for e in joint_events if e.kind == "ended"), None)
    held = [e for e in case_events[caucus.case_id] if e.kind == "caucus_held" and e.data.get("caucus") == caucus.pk]
    guests = [(role, side) for role, side in people[caucus.pk].values() if role in ("party", "elder")]
    joint_sides = {user: side for user, (_role, side) in people[caucus.joint_id].items()}
    checks = [
        ([e.seq for e in mine] == list(range(1, len(mine) + 1)) and caucus.last_seq == len(mine), "seq"),
        (caucus.status == "ended" and [e.kind for e in mine][:1] == ["started"] and "ended" in [e.kind for e in mine],
         "not started and ended"),
        (caucus.side in ("first_party", "second_party"), "no side"),
        (all(joint_sides.get(user) == caucus.side for user, (role, _s) in people[caucus.pk].items()
             if role in ("party", "elder")), "a guest of another side, or of none"),
        (len(opened) == 1 and len(closed) == 1 and opened[0].at <= caucus.started_at and closed[0].at >= caucus.ended_at,
         "not opened and closed in the joint room"),
        (joint_ended is not None and caucus.ended_at <= joint_ended, "outlived its joint session"),
        (caucus.started_at >= caucus.joint.started_at, "began before its joint session"),
        (len(held) == 1 and held[0].at == caucus.ended_at and held[0].data["side"] == caucus.side
         and held[0].data["participants"] == len(people[caucus.pk]) and "name" not in str(held[0].data),
         "caucus_held missing or wrong"),
        (len(guests) <= 1, "more than one guest"),
    ]  # fmt: skip
    return [what for ok, what in checks if not ok]


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
    more: dict[int, Monitoring] = defaultdict(Monitoring)
    for instalment in Instalment.objects.select_related("term__agreement").order_by("term_id", "number"):
        more[instalment.term.agreement.case_id].instalments.setdefault(instalment.term_id, []).append(instalment)
    for conflict in ComplianceConflict.objects.all():
        more[conflict.case_id].conflicts.append(conflict)
    for link in Recurrence.objects.all():
        more[link.case_id].recurrences.append(link)
    for survey in Survey.objects.all():
        more[survey.case_id].surveys.append(survey)
    for tag in CaseRiskFactor.objects.all():
        more[tag.case_id].risk_factors[tag.factor] = (tag.tagged_at, tag.tagged_by_id)
    for guarantor in Guarantor.objects.all():
        more[guarantor.case_id].guarantors[guarantor.pk] = guarantor
    for deposit in Deposit.objects.all():
        more[deposit.case_id].deposits[deposit.pk] = deposit
    for tie in TieDeclaration.objects.all():
        more[tie.case_id].ties[tie.pk] = tie
    for case_id, party_id, role, pseudonym in CaseParty.objects.values_list("case_id", "party_id", "role",
                                                                           "party__pseudonym"):  # fmt: skip
        more[case_id].parties[party_id] = (role, pseudonym)
    staff: dict[int, tuple[set, dict]] = defaultdict(lambda: (set(), {}))
    for forum_id, role, user_id, username in Membership.objects.values_list("forum_id", "role", "user_id",
                                                                            "user__username"):  # fmt: skip
        if role == "facilitator":
            staff[forum_id][0].add(user_id)
        else:
            staff[forum_id][1][user_id] = username
    references = dict(Case.objects.values_list("id", "reference"))
    problems = []
    for case in Case.objects.select_related("forum", "rung"):
        agreement = agreements.get(case.pk)
        mine = more[case.pk]
        mine.facilitators, mine.monitors = staff[case.forum_id]
        mine.references = references
        problems += history_problems(case, events[case.pk], agreement, terms[agreement.pk] if agreement else [],
                                     checks[case.pk], reminders[case.pk], mine, now=now)  # fmt: skip
    problems += recurrence_problems()
    problems += [f"party {pseudonym}: its name key is not its name's" for name, key, pseudonym in
                 Party.objects.values_list("name", "name_key", "pseudonym") if key != services.party_name_key(name)]  # fmt: skip
    problems += ["due items written" for _item in DueItem.objects.all()[:1]]  # The hourly task computes them.
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
    return problems + foreign_key_problems()


def foreign_key_problems() -> list[str]:
    """Rows of the generated tables pointing at nothing: on PostgreSQL a superuser's run skips the checks."""
    problems = []
    if connection.vendor != "postgresql":
        return problems
    tables = synthetic.TABLE_NAMES
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, p.attname "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        keys = cursor.fetchall()
        assert len({key[0] for key in keys}) == len(tables), keys  # Every generated table points somewhere.
        for table, column, target, target_column in keys:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{target}" p WHERE p."{target_column}" = t."{column}")'
            )
            if orphans := cursor.fetchone()[0]:
                problems.append(f"{orphans} rows of {table}.{column} point at no {target}")
    return problems


def digest() -> str:
    """Every generated row, without auto ids: ids in event data are replaced by what they point at."""
    h = hashlib.sha256()
    term_position = dict(Term.objects.values_list("id", "position"))
    check_key = dict(ComplianceCheck.objects.values_list("id", "idempotency_key"))
    reference = dict(Case.objects.values_list("id", "reference"))
    agreement_case = dict(Agreement.objects.values_list("id", "case_id"))
    # A guarantee by its case and when it was recorded (the generator writes at most one of each per case).
    guarantor_key = {pk: (ref, str(at)) for pk, ref, at in Guarantor.objects.values_list("id", "case__reference",
                                                                                         "recorded_at")}  # fmt: skip
    deposit_key = {pk: (ref, str(at)) for pk, ref, at in Deposit.objects.values_list("id", "case__reference",
                                                                                     "recorded_at")}  # fmt: skip
    tie_key = {pk: (ref, str(at)) for pk, ref, at in TieDeclaration.objects.values_list("id", "case__reference",
                                                                                       "declared_at")}  # fmt: skip
    pseudonym = dict(Party.objects.values_list("id", "pseudonym"))
    username = dict(User.objects.values_list("id", "username"))
    from deliberation.models import DialogueSession, SessionEvent

    session_key = {
        pk: (reference[case_id], str(started)) for pk, case_id, started in DialogueSession.objects.values_list(
            "id", "case_id", "started_at")
    }  # fmt: skip
    for row in Case.objects.order_by("reference").values_list(
        "reference", "forum__name", "kind", "title", "summary", "dispute_type", "risk_level", "offence_class", "state",
        "rung__level", "version", "last_seq", "outcome", "opened_at", "closed_at", "truce_expires", "review_due",
        "referral_source", "fir_number", "opened_by__username", "monitor__username",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in CaseParty.objects.order_by("case__reference", "party__pseudonym", "role").values_list(
        "case__reference", "role", "party__name", "party__kind", "party__pseudonym", "party__forum__name",
        "party__name_key",
    ):  # fmt: skip
        h.update(repr(row).encode())

    def checks_of(v):
        return [{**other, "check": str(check_key[other["check"]])} for other in v]

    def cases_of(v):
        return [{**earlier, "case": reference[earlier["case"]]} for earlier in v]

    for event in CaseEvent.objects.select_related("actor").order_by("case_id", "seq"):
        data = dict(event.data)
        for key, replace in (("agreement", lambda v: reference[agreement_case[v]]), ("term", term_position.get),
                             ("check", lambda v: str(check_key[v])), ("session", session_key.get),
                             ("caucus", session_key.get),
                             ("other", lambda v: str(check_key[v])), ("conflicts_with", checks_of),
                             ("earlier", cases_of), ("case", reference.get), ("guarantor", guarantor_key.get),
                             ("deposit", deposit_key.get), ("tie", tie_key.get), ("person", username.get),
                             ("party", lambda v: pseudonym.get(v, v))):  # fmt: skip
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
    for row in Instalment.objects.order_by("term__agreement__case__reference", "term__position", "number").values_list(
        "term__agreement__case__reference", "term__position", "number", "due_on", "amount"
    ):
        h.update(repr(row).encode())
    for row in ComplianceCheck.objects.order_by("idempotency_key").values_list(
        "idempotency_key", "case__reference", "term__position", "status", "notes", "observed_at", "recorded_at",
        "recorded_by__username", "paid",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in ComplianceConflict.objects.order_by("later__idempotency_key", "earlier__idempotency_key").values_list(
        "later__idempotency_key", "earlier__idempotency_key", "case__reference", "created_at", "reviewed_at",
        "reviewed_by__username",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in Recurrence.objects.order_by("case__reference", "earlier__reference").values_list(
        "case__reference", "earlier__reference", "status", "basis", "created_at", "decided_at", "decided_by__username"
    ):
        h.update(repr(row).encode())
    for row in Survey.objects.order_by("case__reference", "party__pseudonym").values_list(
        "case__reference", "party__pseudonym", "satisfaction", "fairness", "felt_heard", "would_use_again",
        "recorded_at", "recorded_by__username",
    ):  # fmt: skip
        h.update(repr(row).encode())
    for row in CaseRiskFactor.objects.order_by("case__reference", "factor").values_list(
        "case__reference", "factor", "tagged_at", "tagged_by__username"
    ):
        h.update(repr(row).encode())
    for row in TieDeclaration.objects.order_by("case__reference", "declared_at").values_list(
        "case__reference", "person__username", "party__pseudonym", "kind", "note", "status", "declared_at",
        "declared_by__username", "recused_at", "first_accepted_by", "first_accepted_at", "first_recorded_by__username",
        "second_accepted_by", "second_accepted_at", "second_recorded_by__username",
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
        data = {key: session_key[value] if key in ("caucus", "joint") else value for key, value in data.items()}
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
    assert kinds["caucus_held"] > 0  # Shuttle mediation: each side met in private in some sessions.
    ended = CaseEvent.objects.filter(kind="session_ended")
    assert any(e.data["women_took_part"] for e in ended)
    assert any(e.data["women_spoke"] for e in ended)
    assert not all(e.data["women_took_part"] for e in ended)
    assert cases.filter(rung__level__gt=1).exclude(state__in=ENDED).exists()
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"consider_step_up", "consider_step_down"}
    assert Counter(cases.filter(state="closed").values_list("outcome", flat=True)).keys() == {
        "resolved", "partly_resolved", "breakdown"
    }  # fmt: skip
    assert all_problems(now=until) == []


@pytest.mark.django_db
def test_the_follow_up_data_is_all_there_and_plausible():
    """At 2,000 cases every kind of monitoring data is there, in the proportions an analyst would expect."""
    generate(2000, "--seed", "21", "--until", UNTIL)
    today = UNTIL_AT.date()

    # Risk factors of the UN Framework: on a few cases, mostly the riskier ones, intergroup tensions first.
    tagged_cases = Case.objects.filter(risk_factors__isnull=False).distinct()
    by_level = Counter(tagged_cases.values_list("risk_level", flat=True))
    assert 20 < sum(by_level.values()) < 300, by_level
    cases = Counter(Case.objects.values_list("risk_level", flat=True))
    rate = {level: by_level[level] / cases[level] for level in cases}
    assert rate["imminent"] > 3 * rate["medium"], rate
    assert rate["high"] > 2 * rate["medium"] > rate["low"], rate
    factors = Counter(CaseRiskFactor.objects.values_list("factor", flat=True))
    assert factors.most_common(1)[0][0] == 9, factors

    # Instalments, payments on them, and instalments overdue in open cases.
    instalments = defaultdict(list)
    for instalment in Instalment.objects.order_by("term_id", "number"):
        instalments[instalment.term_id].append(instalment)
    paid = defaultdict(Decimal)
    for term_id, amount in ComplianceCheck.objects.filter(paid__isnull=False).values_list("term_id", "paid"):
        paid[term_id] += amount
    compensation = Term.objects.filter(kind="compensation").count()
    assert 0.15 * compensation < len(instalments) < 0.6 * compensation
    assert {len(parts) for parts in instalments.values()} == {2, 3, 4, 5, 6}
    statuses = Counter()
    open_statuses = Counter()
    ended = dict(Term.objects.filter(pk__in=instalments).values_list("id", "agreement__case__state"))
    for term_id, parts in instalments.items():
        for row in selectors.instalment_schedule(term=None, today=today, instalments=parts, paid=paid[term_id]):
            statuses[row["status"]] += 1
            if ended[term_id] not in ENDED:
                open_statuses[row["status"]] += 1
    assert statuses["paid"] > statuses["overdue"] > 0
    assert open_statuses["overdue"] > 0
    assert open_statuses["paid"] > 0
    assert ComplianceCheck.objects.filter(paid__isnull=False, term__instalments__isnull=True).exists()
    # Resolved cases paid in full.
    resolved = Term.objects.filter(kind="compensation", agreement__case__outcome="resolved")
    assert resolved.exists()
    assert all(paid[term.pk] == term.amount for term in resolved)

    # Breaches, and conflicts between two monitors' checks, some reviewed.
    kinds = Counter(CaseEvent.objects.values_list("kind", flat=True))
    assert kinds["breach_recorded"] > 0
    checks = ComplianceCheck.objects.count()
    conflicts = ComplianceConflict.objects.count()
    assert 0 < conflicts < 0.03 * checks
    assert 0 < ComplianceConflict.objects.filter(reviewed_at__isnull=False).count() < conflicts
    assert kinds["compliance_conflict"] > 0
    assert kinds["compliance_conflict_reviewed"] > 0

    # Monitors assigned to most cases that reached monitoring.
    watched = Case.objects.filter(events__kind="transitioned", events__data__to__in=["monitoring", "implementation"])
    assert watched.distinct().count() * 0.8 < Case.objects.filter(monitor__isnull=False).count() <= watched.count()

    # Recurrences: 5–8 % of cases, likelier after a breakdown than after a resolution; some decided.
    links = Recurrence.objects.select_related("earlier")
    assert 0.04 * 2000 < links.filter(basis="party_record").values("case").distinct().count() < 0.09 * 2000
    assert {"matched", "confirmed", "rejected"} <= set(links.values_list("status", flat=True))
    again = Counter(link.earlier.outcome for link in links if link.basis == "party_record")
    outcomes = Counter(Case.objects.values_list("outcome", flat=True))
    assert again["breakdown"] / outcomes["breakdown"] > again["resolved"] / outcomes["resolved"]

    # Surveys: most closed cases, scores following the outcome.
    closed = Case.objects.filter(state="closed").count()
    surveyed = Survey.objects.filter(case__state="closed").values("case").distinct().count()
    assert 0.6 * closed < surveyed < closed
    assert Survey.objects.filter(case__state__in=["withdrawn", "referred"]).exists()
    mean = {
        outcome: sum(scores) / len(scores)
        for outcome in ("resolved", "breakdown")
        if (scores := list(Survey.objects.filter(case__outcome=outcome).values_list("satisfaction", flat=True)))
    }
    assert mean["resolved"] > mean["breakdown"] + 1
    assert set(Survey.objects.values_list("satisfaction", flat=True)) == {1, 2, 3, 4, 5}

    # Declared ties (conflicts of interest): in some cases, accepted by both sides or recused, never left open.
    ties = Counter(TieDeclaration.objects.values_list("status", flat=True))
    assert 0.05 * 2000 < sum(ties.values()) < 0.25 * 2000
    assert set(ties) == {"accepted", "recused"}

    assert all_problems(now=UNTIL_AT) == []


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
def test_a_run_adding_to_earlier_ones_reads_them_alike_in_sql_and_through_the_orm(postgres):
    generate(150, "--until", UNTIL)
    cutoff_at = UNTIL_AT - timedelta(days=800)
    cutoff = int(cutoff_at.timestamp())
    ended_long_ago = set(Case.objects.filter(closed_at__lt=cutoff_at).values_list("id", flat=True))
    assert 0 < len(ended_long_ago) < 150

    rows = list(synthetic.preload_rows_sql(cutoff))

    assert rows == list(synthetic.preload_rows_orm(cutoff))
    assert {row[0] for row in rows} == set(Case.objects.values_list("id", flat=True)) - ended_long_ago
    assert {row[1] for row in rows} == {FIRST, SECOND}
    assert all(isinstance(row[7], int) for row in rows)


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

    # The writers skipped the foreign-key checks (the test database's user is a superuser); the validator's
    # own check finds a row pointing at nothing.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("UPDATE cases_laddermove SET case_id = -1 WHERE id = (SELECT min(id) FROM cases_laddermove)")
        assert foreign_key_problems() == ["1 rows of cases_laddermove.case_id point at no cases_case"]
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_formatting_fails_halfway_is_rolled_back_whole(postgres, monkeypatch):
    """The writers COPY a batch's tables as the main thread formats them, in the batch's one transaction: when the
    formatting fails after some of its tables were written, none of them stay, and the batches before it do."""
    formatted = []
    copy_text = writers.copy_text

    def failing(table, rows):
        formatted.append(table.key)
        if formatted.count("event") == 2:  # In the second batch, after its cases and parties were written.
            raise RuntimeError("formatting failed")
        return copy_text(table, rows)

    monkeypatch.setattr(writers, "copy_text", failing)
    with pytest.raises(RuntimeError, match="formatting failed"):
        synthetic.generate(cases=60, seed=21, batch=30, until=UNTIL_AT)

    assert Case.objects.count() == 30
    assert CaseParty.objects.filter(case_id__in=Case.objects.values("pk")).count() == CaseParty.objects.count()
    assert all_problems() == []
    assert_ladder_totals_recount()


def index_definitions() -> dict[str, str]:
    """Every index of the generated tables, by name, as PostgreSQL describes it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid::regclass::text = ANY(%s)",
            [synthetic.TABLE_NAMES],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_first_load_builds_the_plain_indexes_at_the_end_and_writes_the_same_data(postgres):
    call_command("flush", "--no-input")
    generate(200, "--seed", "17", "--until", UNTIL, "--batch", "50")
    same_data = digest()
    call_command("flush", "--no-input")
    before = index_definitions()
    deferrable = {name for name, _sql in synthetic.deferrable_indexes()}
    assert {"cases_caseevent_actor_id_3b42ca2c", "party_name_key", "check_term_latest"} <= deferrable
    assert deferrable < set(before)  # Unique indexes and keys are not among them.
    seen = []

    def progress(done: int, total: int, report: synthetic.Report) -> None:
        seen.append((report.stage, deferrable & set(index_definitions())))

    report = synthetic.generate(cases=200, seed=17, until=UNTIL_AT, batch=50, progress=progress, defer_indexes=True)

    assert seen[0] == ("cases", set())  # Down while the batches were written …
    assert seen[-1] == ("indexes", set())
    assert index_definitions() == before  # … and all back, as the migrations made them.
    assert report.index_seconds is not None
    assert report.cases == 200
    assert digest() == same_data
    assert all_problems(now=UNTIL_AT) == []
    # The tables were analysed: the planner knows how many events open a case (without statistics it
    # would guess half a percent of the table).
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT * FROM cases_caseevent WHERE kind = 'opened'")
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert estimate == CaseEvent.objects.filter(kind="opened").count() == 200

    # A database that has cases keeps its indexes up.
    seen.clear()
    report = synthetic.generate(cases=60, seed=17, until=UNTIL_AT, batch=30, progress=progress, defer_indexes=True)
    assert report.index_seconds is None
    assert {stage for stage, _present in seen} == {"cases"}
    assert all(present == deferrable for _s, present in seen)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_first_load_killed_midway_gets_its_indexes_back_from_the_next_run(postgres):
    call_command("flush", "--no-input")
    before = index_definitions()
    env = {**os.environ, "DATABASE_URL": db_url_for_subprocess(), "CI": ""}
    # From BULK_LOAD cases on, `manage.py generate_synthetic` into a database without cases defers the indexes.
    load = subprocess.Popen(
        [sys.executable, "manage.py", "generate_synthetic", "--cases", str(synthetic.BULK_LOAD), "--batch", "200",
         "--until", UNTIL],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while Case.objects.count() < 400:  # Two batches committed.
            assert load.poll() is None, load.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        load.send_signal(signal.SIGKILL)
    finally:
        load.kill()
        load.wait()
    missing = set(before) - set(index_definitions())
    assert missing
    assert missing <= {name for name, _sql in synthetic.deferrable_indexes()}

    generate(30, "--until", UNTIL)

    assert index_definitions() == before
    assert all_problems(now=UNTIL_AT) == []


@pytest.mark.django_db
def test_a_database_user_without_superuser_rights_keeps_the_foreign_key_checks(postgres):
    # The role, the grants and the ROLE setting go with the test's transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN CREATE ROLE sulh_plain_generator NOSUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO sulh_plain_generator")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO sulh_plain_generator")
        assert writers._owns_tables() is True
        cursor.execute("SET LOCAL ROLE sulh_plain_generator")
    assert writers._may_skip_checks() is False
    assert writers._owns_tables() is False  # Nor may it take the indexes down for a first load.

    generate(120, "--seed", "5", "--until", UNTIL, "--batch", "50")

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # The checks deferred to the commit run now, and pass.
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "sulh_plain_generator"
    assert Case.objects.count() == 120
    assert all_problems(now=UNTIL_AT) == []
    # And a row pointing at no case is refused (at once, the checks being immediate now).
    ladder_move = next(table for table in synthetic.TABLES if table.key == "ladder_move")
    orphan = (-1, Case.objects.values_list("forum_id", flat=True).first(), 0, True, 1, 2, None, True, False)
    text = synthetic.copy_text(ladder_move, [orphan])
    with pytest.raises(IntegrityError), transaction.atomic():
        synthetic.copy_batch([(ladder_move, text)])


def test_it_refuses_nonsense():
    with pytest.raises(Exception, match="at least 1"):
        call_command("generate_synthetic", "--cases", "0")
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    with pytest.raises(Exception, match="future"):
        synthetic.generate(cases=1, until=datetime.fromisoformat(tomorrow).replace(tzinfo=UTC))
