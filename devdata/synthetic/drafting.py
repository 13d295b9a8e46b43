"""The drafting of a case's history, step by step (HISTORY_STEPS), from the run's one random stream.

Valid. Every history is one the services could have written: a case opens in `intake` at the base of its
forum's ladder and moves only along the transitions its forum kind's workflow declares (cases.workflows),
with the guards honoured: an agreement with terms before the agreement state, `agreement_finalised` on
leaving it forward, compliance checks only on a final agreement, `resolved` only when every term's latest
check is met, a non-compoundable offence only referred or withdrawn. `seq` runs 1, 2, 3 … per case,
`version` is 1 + the number of state changes, `last_seq` the last event's seq, and event times never
decrease and never pass the run's end. `CaseDraft.move` checks the guards again as it goes (validator.py),
so a bug here stops the run instead of writing a history the services would refuse. Event data has the shapes the
services write (`opened`, `transitioned`, `agreement_recorded`, `agreement_finalised`, `compliance_checked`,
`breach_recorded`, `prohibited_term_blocked`, `escalated`, `de_escalated`, `session_started`, `session_ended`,
`monitor_assigned`, `compliance_conflict`, `compliance_conflict_reviewed`, `recurrence_linked`,
`recurrence_confirmed`, `recurrence_rejected`, `survey_recorded`, `risk_factors_tagged`), a breach leaves the
"consider stepping up" reminder services.compliance_record leaves, moves along the ladder follow
services.case_escalate's rules with their review dates and reminders, and a dialogue session is numbered,
started and ended as deliberation.services does it.

Monitoring. A case entering monitoring (implementation) is mostly handed to one of the forum's monitors.
Some compensation terms are paid in monthly instalments (services.instalments_split); the monitor records
each payment on the visit it is made (`paid`), on time, late, in part, or the payer stops and a refusal is
a breach; other terms are checked at about 3, 6 and 12 months. Checks are stored in the order they reach
the server, and each conflicts, as in services.compliance_record, with every check of the term by someone
else that arrived after it was made (now and then a second monitor's offline check does); a facilitator
reviews some conflicts. A case closes as resolved only when every term's latest observed check is met.
Most ended cases' parties answer the closing survey, in the closing stage or after the end. Recurrences:
some new cases continue an earlier feud of the forum (its first and second party records again), and every
case is linked to what services.recurrences_find would find when it opens, from an in-memory register of
the district's cases (those already in the database included); due items are left to the hourly task. A
facilitator tags some cases, mostly the riskier ones, with risk factors of the UN Framework of Analysis.

Extending. A case's history is written by HISTORY_STEPS, in order: functions `step(draft, run)` that add
events (`draft.event`, `draft.move`) and rows (`run.add_row`), with a Table in writers.TABLES for each table
written. Then, once the batch is drafted, history_links links each of its openings to earlier cases and drafts
what facilitators made of the links. Each batch's cases are added to the escalation statistics' running totals in
the batch's own transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING

from cases import guardrails, workflows
from cases.models import CaseParty, Reminder
from config.crypto import keyed_hash

from .drafts import AgreementDraft, CaseDraft, CheckDraft, TermDraft, _opened_json, _uuid4, instalments_split
from .encoding import DAY, as_json, cents_text, day_text, iso
from .register import FIRST, SECOND, Known, PartyRef
from .validator import GenerationError
from .vocabulary import (
    AMOUNTS,
    BACK_REASONS,
    CHECK_DAYS,
    CHECK_NOTES,
    CHECKS,
    DWELL,
    EXITS,
    GOING_WELL,
    INSTALMENT_COUNT,
    INSTALMENTS,
    LADDER,
    LADDER_REASONS,
    MAX_BACK_MOVES,
    MONITORING,
    PAYERS,
    PAYMENT_NOTES,
    PAYMENTS,
    PICK_FACTOR,
    PROHIBITED_ATTEMPT,
    REASONS,
    RECURRENCE,
    RISK_FACTORS,
    SESSIONS,
    STALL,
    SURVEYS,
    TERM_KINDS,
    TERM_TEXTS,
    UTTERANCES,
    _between,
    _one,
)
from .world import ForumInfo

if TYPE_CHECKING:
    from .run import Run


@cache
def _part_key(part: str) -> str:
    key = guardrails.normalise(part)[:200]
    if not key:  # A part of signs only would leave two spaces where normalise() leaves one.
        raise GenerationError(f"{part!r} has no letters: it cannot be a part of a name")
    return key


# A name's key (services.party_name_key, before its keyed hash) is made from its parts' keys: normalise() works
# letter by letter and makes every run of other signs one space, so the key of "Afridi family of Gul Zaman,
# Badaber" is the keys of "Afridi", "family of", "Gul Zaman" and "Badaber" joined by spaces. Each part (a
# vocabulary word) is normalised once, not each of the hundreds of thousands of names they make (some 15 µs
# each); the whole key is hashed once per party record. The tests check every party's key against the service's.


def _person(rng: random.Random, forum: ForumInfo, *, woman: bool = False, village: bool = False) -> tuple[str, str]:
    """(name, key) of a person as a register writes the name: with a father's name ("s/o", son of, as on an
    FIR) or a family name; a party to the dispute with the village too (recurrences are matched on the first
    and second parties' names: they must tell the district's namesakes apart)."""
    people = forum.people
    given = _one(rng, people["women"] if woman else people["men"])
    father = _one(rng, people["men"])
    key = _part_key
    if people["patronymic"]:
        relation = "d/o" if woman else "s/o"
        name, name_key_ = f"{given} {relation} {father}", f"{key(given)} {key(relation)} {key(father)}"
    else:
        father, family = father.split()[0], _one(rng, people["families"])
        name, name_key_ = f"{given} {father} {family}", f"{key(given)} {key(father)} {key(family)}"
    if village:
        place = _one(rng, forum.villages)
        return f"{name}, {place}", f"{name_key_} {key(place)}"[:200]
    return name, name_key_[:200]


def _side(rng: random.Random, forum: ForumInfo, dispute: str, family: str) -> tuple[str, str, str, str]:
    """(name, key, kind, gender) of a first or second party: a family, known by its head and village, a group
    of a tribe or community (no gender), or a person."""
    key = _part_key
    if dispute in ("tribal", "sectarian") and rng.random() < 0.6:
        village = _one(rng, forum.villages)
        group = "elders of" if dispute == "tribal" else "community of"
        return f"{family} {group} {village}", f"{key(family)} {key(group)} {key(village)}"[:200], "group", ""
    if rng.random() < 0.75:
        head, village = _one(rng, forum.people["men"]), _one(rng, forum.villages)
        name_key_ = f"{key(family)} {key('family of')} {key(head)} {key(village)}"[:200]
        return f"{family} family of {head}, {village}", name_key_, "family", ""
    return (*_person(rng, forum, village=True), "person", "man")


def history_open(draft: CaseDraft, run: Run) -> None:
    """The parties and the `opened` event, as services.case_open writes them: a case continuing an earlier feud
    names that case's first and second party records again (now and then the other way round). What the
    opening links is drafted with the batch (history_links)."""
    rng = run.rng
    forum = draft.forum
    people = forum.people
    dispute = draft.dispute_type
    # (a known record or None, role, name, key, kind, gender)
    parties: list[tuple[PartyRef | None, str, str, str, str, str]] = []
    earlier = draft.earlier
    if earlier is not None:
        first, second = earlier.sides[0][0], earlier.sides[1][0]
        if rng.random() < RECURRENCE["swapped"]:
            first, second = second, first
        parties += [(first, FIRST, "", "", "", ""), (second, SECOND, "", "", "", "")]
    else:
        families = people["families"]
        first_family = _one(rng, families)
        while (second_family := _one(rng, families)) == first_family:
            pass
        for role, family in ((FIRST, first_family), (SECOND, second_family)):
            parties.append((None, role, *_side(rng, forum, dispute, family)))
    if dispute in ("injury", "killing", "honour", "theft", "police_conduct") and rng.random() < 0.6:
        woman = dispute == "honour" and rng.random() < 0.6
        victim, key = _person(rng, forum, woman=woman)
        if dispute == "killing":
            heirs = f"{_part_key('Heirs of')} {key}"[:200]
            parties.append((None, "victim", f"Heirs of {victim}", heirs, "family", ""))
        else:
            parties.append((None, "victim", victim, key, "person", "woman" if woman else "man"))
    if rng.random() < (0.45 if forum.kind == "jirga" else 0.15):
        parties.append((None, "guarantor", *_person(rng, forum), "person", "man"))
    if rng.random() < 0.2:
        parties.append((None, "representative", *_person(rng, forum), "person", "man"))
    if rng.random() < 0.12:
        parties.append((None, "witness", *_person(rng, forum), "person", "man"))
    for ref, role, name, key, kind, gender in parties:
        if ref is None:
            # The keyed hash of the normalised name, as services.case_open stores it (config.crypto).
            ref = PartyRef(run.take_id("party"), keyed_hash(key), run.pseudonyms.next())
            run.add_row("party", (ref.id, name, kind, ref.pseudonym, forum.id, ref.key, gender))
            run.party_refs.append(ref)
        run.add_row("case_party", (draft.id, ref.id, role))
        draft.parties.append((ref, role))
    opened = _opened_json(forum.kind, dispute, draft.risk_level, draft.offence_class, forum.base_level)
    draft.event(draft.opened_at, "opened", draft.opened_by, opened)


def _dwell(rng: random.Random, kind: str, state: str) -> int:
    """Seconds a case stays in a state before its next move."""
    low, high, mode = DWELL[kind].get(state, (2, 30, 7))
    days = rng.triangular(low, high, mode)
    if rng.random() < STALL:
        days *= 3 + 5 * rng.random()
    return int(days * DAY) + int(rng.random() * 6 * 3600)


def _terms(rng: random.Random, run: Run, draft: CaseDraft, at: int) -> list[TermDraft]:
    pick_kind = TERM_KINDS[draft.dispute_type]
    count = 1 + int(rng.random() * 2.6)  # One to three terms, three rarely.
    kinds: list[str] = []
    for _attempt in range(8):
        kind = pick_kind(rng)
        if kind not in kinds:
            kinds.append(kind)
        if len(kinds) == count:
            break
    currency = draft.forum.people["currency"]
    terms = []
    for position, kind in enumerate(kinds, start=1):
        diya = kind == "compensation" and draft.dispute_type == "killing"
        text = _one(rng, TERM_TEXTS["diya" if diya else kind])
        amount = due = instalments = None
        if "{amount}" in text:
            low, high, step = AMOUNTS[currency][1 if diya else 0]
            amount = max(step, int(low * (high / low) ** rng.random() // step) * step)  # Log-uniform: mostly low.
            monthly = "instalments" in text
            text = text.format(amount=f"{amount:,}", currency=currency)
            due = at // DAY + _one(rng, (30, 60, 90, 120, 180))
            share = INSTALMENTS["share"]["monthly" if monthly else "diya" if diya else "compensation"]
            if kind == "compensation" and rng.random() < share:
                first_day = at // DAY + _one(rng, INSTALMENTS["first_due_days"])
                instalments = instalments_split(amount * 100, INSTALMENT_COUNT(rng), first_day)
                due = instalments[-1][0]  # Due in full with the last instalment.
        currency_used = currency if amount is not None else ""
        terms.append(TermDraft(run.take_id("term"), position, kind, text, amount, currency_used, due, instalments))
    return terms


def _record_agreement(rng: random.Random, run: Run, draft: CaseDraft, at: int, actor: int) -> int:
    """Draft (or redraft) the agreement before the agreement state; returns the time it is done.

    A time past the run's end means the run ended first, and the case stays where it is."""
    if at > run.end:
        return at
    chance = PROHIBITED_ATTEMPT.get(draft.dispute_type, PROHIBITED_ATTEMPT["default"])
    if rng.random() < chance and run.pick_practice is not None:
        # Someone proposed a prohibited term: refused, and the attempt stays on the timeline.
        code, citations = run.pick_practice(rng)
        draft.event(at, "prohibited_term_blocked", actor, {
            "term_index": _between(rng, 0, 2), "term_kind": _one(rng, ("other", "compensation", "commitment")),
            "practice": code, "citations": list(citations),
        })  # fmt: skip
        at += _between(rng, 3600, 3 * DAY)
    revisions = 2 if draft.agreement is None and rng.random() < 0.12 else 1
    for revision in range(revisions):
        if at > run.end:
            return at
        terms = _terms(rng, run, draft, at)
        agreement = draft.agreement
        if agreement is None:
            agreement = draft.agreement = AgreementDraft(run.take_id("agreement"), at, terms)
        else:
            # As services.agreement_record: the terms are replaced and the revision goes up.
            agreement.revision += 1
            agreement.recorded_at = at
            agreement.terms = terms
        draft.event(at, "agreement_recorded", actor, {
            "agreement": agreement.id, "revision": agreement.revision, "terms": [t.payload() for t in terms],
        })  # fmt: skip
        if revision < revisions - 1:
            at += _between(rng, DAY, 10 * DAY)
    return at + _between(rng, 600, DAY)


def _upload(rng: random.Random, run: Run, observed: int) -> int:
    """When a check made in the field reaches the server: within the hour, or up to three days later from a
    village without signal."""
    delay = _between(rng, 0, 3 * DAY) if rng.random() < 0.4 else _between(rng, 60, 3600)
    return min(observed + delay, run.end)


def _notes(rng: random.Random, term: TermDraft, status: str) -> str:
    return _one(rng, (PAYMENT_NOTES if term.kind == "compensation" else CHECK_NOTES)[status])


def _check_round(
    rng: random.Random, run: Run, draft: CaseDraft, at: int, terms: list[TermDraft], checks: list[CheckDraft], *,
    going_well: bool,
) -> int:  # fmt: skip
    """A monitor checks every term once (a payment seen on a compensation term is recorded: all that is
    left when the term is met, a part when partly met); returns the last upload."""
    monitor = draft.monitor or _one(rng, draft.forum.monitors)
    pick_status = CHECKS[going_well]
    last = at
    for term in terms:
        observed = min(at + int(rng.random() * 8 * 3600), run.end)
        recorded = _upload(rng, run, observed)
        status = pick_status(rng)
        paid = None
        if term.kind == "compensation" and term.amount is not None:
            left = term.amount * 100 - term.paid
            if left > 0 and status == "met":
                paid = left
            elif left > 100 and status == "partly_met":
                paid = min(left, max(100, int(left * (0.2 + 0.4 * rng.random())) // 100 * 100))
            term.paid += paid or 0
        checks.append(CheckDraft(term, status, observed, recorded, monitor, _notes(rng, term, status), paid))
        last = max(last, recorded)
    return last


def _payments(
    rng: random.Random, run: Run, draft: CaseDraft, term: TermDraft, checks: list[CheckDraft], *, going_well: bool
) -> tuple[int, bool]:
    """The instalments of a compensation term as the monitor records them, on the visit each payment is made:
    on time, late (then often catching up on the instalments fallen due meanwhile), now and then only in
    part; or the paying side stops, and the visits after find nothing paid, or a refusal (a breach). Returns
    the last visit and whether the run's end cut the payments short."""
    behaviour = PAYERS[going_well](rng)
    parts = term.instalments
    assert parts is not None  # Called for a term paid in instalments.
    count = len(parts)
    stop = _between(rng, 0, count - 1) if behaviour == "stops" else count
    monitor = draft.monitor or _one(rng, draft.forum.monitors)
    entered = draft.watch_entered
    assert entered is not None  # The case is in monitoring.
    start = last = entered
    owed = k = 0
    while k < stop:
        on_time = behaviour == "on_time" or rng.random() < PAYMENTS["late_on_time"]
        delay = rng.triangular(*PAYMENTS["on_time_days" if on_time else "late_days"])
        # During the working day; a payment made before monitoring began is seen on the first visit.
        when = parts[k][0] * DAY + 5 * 3600 + int(rng.random() * 10 * 3600) + int(delay * DAY)
        when = max(when, last + DAY // 2, start + _between(rng, 3600, 3 * DAY))
        if when > run.end:
            return last, True
        owed += parts[k][1]
        k += 1
        while k < stop and parts[k][0] * DAY <= when and rng.random() < PAYMENTS["catch_up"]:
            owed += parts[k][1]
            k += 1
        paid = owed - term.paid
        if k < count and paid > 200 and rng.random() < PAYMENTS["partial"]:
            paid = max(100, paid // 200 * 100)  # About half; the rest comes with the next one.
        term.paid += paid
        due = sum(cents for day, cents in parts if day <= when // DAY)
        status = "met" if term.paid >= due else "partly_met"
        checks.append(CheckDraft(term, status, when, _upload(rng, run, when), monitor, _notes(rng, term, status), paid))
        last = when
    if k < count:  # Stopped paying.
        for visit in range(_between(rng, 1, 2)):
            due_day = parts[min(k + visit, count - 1)][0]
            when = max(due_day * DAY + int(rng.triangular(*PAYMENTS["missed_visit_days"]) * DAY), last + 7 * DAY)
            if when > run.end:
                return last, True
            status = "breached" if rng.random() < PAYMENTS["refusal"] else "not_met"
            checks.append(CheckDraft(term, status, when, _upload(rng, run, when), monitor, _notes(rng, term, status)))
            last = when
    return last, False


def _second_looks(
    rng: random.Random, run: Run, draft: CaseDraft, checks: list[CheckDraft], *, going_well: bool
) -> None:
    """Now and then another monitor checked the same term shortly before, offline, and uploads it after the
    first monitor's check reached the server: services.compliance_record keeps both and flags a conflict."""
    forum = draft.forum
    pick_status = CHECKS[going_well]
    entered = draft.watch_entered
    assert entered is not None  # The case is in monitoring.
    for check in list(checks):
        if rng.random() >= MONITORING["second_look"]:
            continue
        others = [user for user in forum.monitors if user != check.by] or [
            user for user in forum.facilitators if user != check.by
        ]
        observed = check.observed - _between(rng, 3600, 4 * DAY)
        recorded = check.recorded + _between(rng, 600, 4 * DAY)
        if not others or observed <= entered or recorded > run.end:
            continue
        status = pick_status(rng)
        checks.append(
            CheckDraft(check.term, status, observed, recorded, _one(rng, others), _notes(rng, check.term, status))
        )


def _record_checks(rng: random.Random, run: Run, draft: CaseDraft, checks: list[CheckDraft]) -> int:
    """Store the checks in the order they reach the server, as services.compliance_record does: numbered,
    `compliance_checked` (with what was paid), a conflict with every check of the term by someone else that
    arrived after this one was made, `breach_recorded` and the day's "consider stepping up" reminder for a
    breach. Some conflicts are reviewed by a facilitator. Sets each term's latest status (the latest
    observed, as selectors.latest_check_statuses reads it); returns when the last of it happened."""
    checks.sort(key=lambda check: check.recorded)  # Stable: checks arriving together keep their order.
    arrived: dict[int, list[CheckDraft]] = {}
    latest: dict[int, int] = {}  # term → when its latest check was observed
    last = 0
    take_id, add_check, add_event = run.ids["check"].take, run.rows["check"].append, draft.events.append
    case_id = draft.id
    for check in checks:
        check_id = check.id = take_id()
        term, status, observed, recorded, by = check.term, check.status, check.observed, check.recorded, check.by
        add_check((check_id, term.id, case_id, status, check.notes, observed, recorded, by, _uuid4(rng), check.paid))
        paid = "" if check.paid is None else f',"paid":"{cents_text(check.paid)}"'
        data = f'{{"check":{check_id},"term":{term.id},"status":"{status}","observed_at":"{iso(observed)}"{paid}}}'
        add_event((recorded, "compliance_checked", by, data))
        before = arrived.get(term.id)
        if before is None:
            before = arrived[term.id] = []
        unseen = [other for other in before if other.recorded > observed and other.by != by]
        if unseen:
            unseen.sort(key=lambda other: (other.observed, other.id))
            reviewed: int | None  # When a facilitator reviewed the conflict, and who: None if not (yet).
            reviewer: int | None
            for other in unseen:
                reviewed = recorded + _between(rng, 2 * 3600, 10 * DAY)
                if reviewed > run.end or rng.random() >= MONITORING["reviewed"]:
                    reviewed = reviewer = None
                else:
                    reviewer = _one(rng, draft.forum.facilitators)
                    draft.event(reviewed, "compliance_conflict_reviewed", reviewer,
                                f'{{"check":{check_id},"other":{other.id}}}')  # fmt: skip
                    last = max(last, reviewed)
                run.add_row("conflict", (check_id, other.id, draft.id, recorded, reviewed, reviewer))
            draft.event(recorded, "compliance_conflict", by, as_json({
                "check": check_id, "term": term.id, "status": status,
                "conflicts_with": [{"check": other.id, "status": other.status} for other in unseen],
            }))  # fmt: skip
        if status == "breached":
            # A breach goes on the timeline and suggests (never forces) a step up the ladder: one reminder per
            # case and day observed, as services.compliance_record's get_or_create leaves it.
            add_event((recorded, "breach_recorded", by, data))
            if observed // DAY not in draft.step_up_days:
                draft.step_up_days.add(observed // DAY)
                draft.reminders.append([STEP_UP, observed // DAY, recorded, None])
        before.append(check)
        # The latest observed (of two observed at the same moment, the one stored last, as the selector's id).
        if observed >= latest.get(term.id, -1):
            latest[term.id] = observed
            term.latest = status
        if recorded > last:
            last = recorded
    return last


STEP_UP = Reminder.Kind.CONSIDER_STEP_UP.value


def _close(rng: random.Random, run: Run, draft: CaseDraft, t: int, actor: int, *, going_well: bool) -> None:
    """In monitoring (implementation): instalments paid and recorded as they fall due, the other terms
    checked at about 3, 6 and 12 months (as many as the stay allows, at least one), and the stay lasting
    until the last instalment's visit; then the forum closes the case on what was found, or, now and then,
    refers it. Cases the run's end finds here keep what was recorded so far."""
    entered = draft.watch_entered
    agreement = draft.agreement
    assert entered is not None  # The case is in monitoring…
    assert agreement is not None  # …of a final agreement.
    checks: list[CheckDraft] = []
    cut = False
    paid_until = entered
    for term in agreement.terms:
        if term.instalments:
            last, stopped_by_end = _payments(rng, run, draft, term, checks, going_well=going_well)
            paid_until, cut = max(paid_until, last), cut or stopped_by_end
    if paid_until > entered:
        t = max(t, paid_until + _between(rng, 3 * DAY, 15 * DAY))
    plain = [term for term in agreement.terms if not term.instalments]
    marks = [days for days in CHECK_DAYS if entered + days * DAY < t] or [(t - entered) // DAY // 2]
    checked = entered
    for days in marks:
        checked = max(checked, entered + days * DAY + _between(rng, -5 * DAY, 5 * DAY))
        if checked > run.end:
            cut = True
            break
        checked = _check_round(rng, run, draft, checked, plain, checks, going_well=going_well)
    _second_looks(rng, run, draft, checks, going_well=going_well)
    done = _record_checks(rng, run, draft, checks)
    t = max(t, done) + _between(rng, DAY, 10 * DAY)
    if cut or t > run.end:
        return
    if rng.random() < 0.04:
        draft.move(t, workflows.REFERRED, actor=actor, reason=_one(rng, REASONS["referred"]))
        return
    latest = [term.latest for term in agreement.terms]
    if all(status == "met" for status in latest):
        outcome = "resolved" if rng.random() < 0.93 else "partly_resolved"
    elif "breached" in latest:
        outcome = "breakdown" if rng.random() < 0.6 else "partly_resolved"
    else:
        outcome = "partly_resolved" if rng.random() < 0.75 else "breakdown"
    draft.move(t, workflows.CLOSED, actor=actor, reason=_one(rng, REASONS[outcome]), outcome=outcome)


def _assign_monitor(rng: random.Random, run: Run, draft: CaseDraft, at: int, actor: int) -> None:
    """The case enters monitoring: a facilitator hands it to one of the forum's monitors, as
    services.case_monitor_assign does (most of the time; unassigned, it is every monitor's)."""
    draft.watch_entered = at
    at += _between(rng, 60, 6 * 3600)
    if at > run.end or rng.random() >= MONITORING["assigned"]:
        return
    monitor = draft.monitor = _one(rng, draft.forum.monitors)
    draft.event(at, "monitor_assigned", actor, _monitor_json(draft.forum.usernames[monitor]))


@lru_cache(maxsize=1024)
def _monitor_json(username: str) -> str:
    return as_json({"monitor": username})


def history_workflow(draft: CaseDraft, run: Run) -> None:
    """Walk the forum kind's workflow from intake until the case ends or the run's end comes first."""
    rng = run.rng
    route = draft.route
    kind = draft.forum.kind
    agreement_state = route.workflow.agreement_state
    facilitators = draft.forum.facilitators
    going_well = rng.random() < GOING_WELL
    back_moves = 0
    t = draft.opened_at
    while not draft.ended:
        actor = _one(rng, facilitators)
        state = draft.state
        t += _dwell(rng, kind, state)
        if state == route.watch_state:
            _close(rng, run, draft, t, actor, going_well=going_well)  # Its checks so far, if the run ends first.
            return
        if t > run.end:
            return  # Still open at the end of the run.

        if draft.offence_class == "non_compoundable":
            # Only a court may decide it: back to the state, or the parties leave.
            if rng.random() < 0.92:
                draft.move(t, workflows.REFERRED, actor=actor, reason=_one(rng, REASONS["referred_non_compoundable"]))
            else:
                draft.move(t, workflows.WITHDRAWN, actor=actor, reason=_one(rng, REASONS["withdrawn"]))
            return

        p_withdrawn, p_referred, p_back = EXITS.get(state, EXITS["default"])
        if draft.risk_level == "imminent":
            p_referred *= 2
        roll = rng.random()
        if roll < p_withdrawn:
            draft.move(t, workflows.WITHDRAWN, actor=actor, reason=_one(rng, REASONS["withdrawn"]))
            return
        if roll < p_withdrawn + p_referred:
            reasons = REASONS.get(f"referred_{state}") or REASONS["referred"]
            draft.move(t, workflows.REFERRED, actor=actor, reason=_one(rng, reasons))
            return
        back = route.back[state]
        if back and back_moves < MAX_BACK_MOVES and roll < p_withdrawn + p_referred + p_back:
            back_moves += 1
            target = _one(rng, back)
            truce = t // DAY + _one(rng, (30, 60, 90)) if target == "truce" else None
            draft.move(t, target, actor=actor, reason=_one(rng, BACK_REASONS[state, target]), truce_expires=truce)
            continue

        target = route.forward[state]
        agreement = draft.agreement
        if target == agreement_state and (agreement is None or (agreement.finalised_at is None and rng.random() < 0.5)):
            # Drafted in the days before; the second time round (after a back move) often redrafted.
            drafted = max(draft.last_at + 600, t - _between(rng, DAY, 3 * DAY))
            t = _record_agreement(rng, run, draft, drafted, actor)
            if t > run.end:
                return
        truce = t // DAY + _one(rng, (30, 60, 90, 120, 180)) if target == "truce" else None
        draft.move(t, target, actor=actor, truce_expires=truce)
        if target == route.watch_state:
            _assign_monitor(rng, run, draft, t, actor)


def history_ladder(draft: CaseDraft, run: Run) -> None:
    """Moves along the forum's ladder while the case is open, as services.case_escalate makes them: a climb
    of one rung when dialogue fails or an agreement is breached (an imminent case's first climb may skip a
    rung, with a written justification), a stay on the rung, then, more often than not, back down when
    cooperation returns. Every move sets the review date; a review date that passes before the next move
    leaves the "consider stepping down" reminder the hourly task leaves. A move, and the case's end, answer
    the reminders open at the time, as the services do."""
    rng = run.rng
    rungs = draft.forum.rungs
    end = draft.closed_at if draft.closed_at is not None else run.end
    triggers = []
    if rng.random() < LADDER["escalate"][draft.risk_level]:
        triggers.append(draft.opened_at + 600 + int(rng.random() * 0.6 * (end - draft.opened_at)))
    for at, kind, _actor, _data in draft.events:
        if kind == "breach_recorded" and rng.random() < LADDER["after_breach"]:
            triggers.append(at + _between(rng, DAY // 2, 7 * DAY))
    t = draft.opened_at
    for trigger in sorted(triggers):
        if trigger >= end or draft.position + 1 >= len(rungs):
            break
        if trigger <= t:
            continue
        t = trigger
        skip = (
            draft.risk_level == "imminent" and draft.position == 0 and len(rungs) > 2 and rng.random() < LADDER["skip"]
        )
        justification = _one(rng, LADDER_REASONS["justification"]) if skip else ""
        _ladder_move(rng, draft, t, draft.position + (2 if skip else 1), LADDER_REASONS["up"], justification)
        stay = int(rng.triangular(*LADDER["stay"]) * DAY)
        if t + stay < end and rng.random() < LADDER["down"]:
            t += stay
            target = 0 if rng.random() < LADDER["down_to_base"] else draft.position - 1
            _ladder_move(rng, draft, t, target, LADDER_REASONS["down"])
    _review_reminder(draft, before=end)
    if draft.closed_at is not None:
        _answer_reminders(draft, draft.closed_at)


def _ladder_move(
    rng: random.Random, draft: CaseDraft, at: int, position: int, reasons: tuple[str, ...], justification: str = ""
) -> None:
    (source_level, _id, source_code), (level, rung_id, code) = (
        draft.forum.rungs[draft.position],
        draft.forum.rungs[position],
    )
    _review_reminder(draft, before=at)
    _answer_reminders(draft, at)
    draft.position, draft.rung_id = position, rung_id
    draft.version += 1
    draft.review_due = None if position == 0 else (at + draft.forum.review_days * DAY) // DAY
    data = {"from": source_level, "to": level, "from_code": source_code, "to_code": code, "reason": _one(rng, reasons)}
    if justification:
        data["justification"] = justification
    if draft.review_due is not None:
        data["review_due"] = day_text(draft.review_due)
    kind = "escalated" if level > source_level else "de_escalated"
    draft.event(at, kind, _one(rng, draft.forum.facilitators), data)


REVIEW_TASK_DELAY = 60  # The hourly task's first run on the review date, in seconds after midnight UTC.


def _review_reminder(draft: CaseDraft, *, before: int) -> None:
    """The "consider stepping down" reminder, if the case's review date came before `before`."""
    if draft.review_due is not None and draft.review_due * DAY + REVIEW_TASK_DELAY < before:
        created = draft.review_due * DAY + REVIEW_TASK_DELAY
        draft.reminders.append([Reminder.Kind.CONSIDER_STEP_DOWN.value, draft.review_due, created, None])


def _answer_reminders(draft: CaseDraft, at: int) -> None:
    for reminder in draft.reminders:
        if reminder[3] is None and reminder[2] <= at:
            reminder[3] = at


SAID_JSON = tuple(as_json({"body": utterance}) for utterance in UTTERANCES)


@lru_cache(maxsize=256)
def _joined_json(name: str, role: str) -> str:
    return as_json({"name": name, "role": role})


GUEST_NAMES = {
    "party": ("Representative of the first party", "Representative of the second party"),
    "elder": ("Elder of the village", "Elder of the neighbouring village"),
}


def history_session(draft: CaseDraft, run: Run) -> None:
    """A live dialogue session, as deliberation.services writes one: scheduled and started by a facilitator,
    attended by a monitor and two invited guests (a party's representative, and an elder or the other
    party's), lines said and hands raised and given the floor, then ended, everyone leaving; `session_started`
    and `session_ended` on the case's timeline. The second guest, when put first in the queue (a victim or a
    woman), is a woman: `session_ended` says whether she attended and spoke, as session_end does."""
    rng = run.rng
    forum = draft.forum
    if draft.offence_class == "non_compoundable" or rng.random() >= SESSIONS["share"][forum.kind]:
        return
    end = draft.closed_at if draft.closed_at is not None else run.end
    start = draft.opened_at + DAY + int(rng.random() * 0.5 * (end - draft.opened_at))
    if start + 4 * 3600 >= end:
        return
    session_id = run.take_id("session")
    facilitator = _one(rng, forum.facilitators)
    guests = rng.sample(forum.guests, 2)
    second = "elder" if rng.random() < 0.5 else "party"
    people = [
        (facilitator, "facilitator", "Facilitator", False),
        (_one(rng, forum.monitors), "monitor", "Monitor", False),
        (guests[0], "party", GUEST_NAMES["party"][0], False),
        (guests[1], second, GUEST_NAMES[second][1], rng.random() < 0.4),
    ]
    t = start
    events: list[tuple] = []

    def add(kind: str, actor: int | None, data: str, at: int | None = None) -> None:
        events.append((session_id, len(events) + 1, kind, actor, "", data, t if at is None else at))

    participants = []
    # The sides the guests speak for: the first is the first party's representative, the second the second
    # party's (or a neutral elder, of no side).
    sides = ["", "", FIRST, SECOND if second == "party" else ""]
    for (user_id, role, name, priority), side in zip(people, sides, strict=True):
        participant_id = run.take_id("participant")
        participants.append(participant_id)
        gender = "woman" if priority else ""
        run.add_row(
            "participant", (participant_id, session_id, user_id, role, name, priority, 0, None, t, gender, side)
        )
        add("joined", participant_id, _joined_json(name, role))
        if role == "facilitator":
            add("started", participant_id, "{}")
        t += _between(rng, 5, 120)
    lead, speakers = participants[0], [participants[0], participants[2], participants[3]]
    woman = participants[3] if people[3][3] else None
    woman_spoke = False
    for _ in range(_between(rng, *SESSIONS["lines"])):
        t += _between(rng, 20, 400)
        speaker = _one(rng, speakers)
        woman_spoke = woman_spoke or speaker == woman
        if speaker != lead and rng.random() < 0.3:
            add("hand_raised", speaker, "{}")
            t += _between(rng, 5, 60)
            add("floor_given", lead, f'{{"participant":{speaker}}}')
        add("said", speaker, SAID_JSON[int(rng.random() * len(SAID_JSON))])
    t = _caucuses(run, draft, session_id, people, participants, sides, add, t)
    t += _between(rng, 60, 600)
    ended = t
    add("ended", lead, '{"accepted_proposals":0}')
    for participant_id in participants:
        t += _between(rng, 1, 30)
        add("left", participant_id, "{}")
    for row in events:
        run.add_row("session_event", row)
    created = max(draft.opened_at + 300, start - _between(rng, DAY // 2, 3 * DAY))
    run.add_row("session", (
        session_id, draft.id, facilitator, "ended", start - _between(rng, 0, 1800), start, ended, created,
        None, None, False, False, None, len(events), "", None,
    ))  # fmt: skip
    draft.event(start, "session_started", facilitator, f'{{"session":{session_id}}}')
    draft.event(ended, "session_ended", facilitator,
                f'{{"session":{session_id},"events":{len(events) - len(participants)},"accepted_proposals":0,'
                f'"women_took_part":{"true" if woman else "false"},"women_spoke":{"true" if woman_spoke else "false"}}}')  # fmt: skip


def _push(events: list[tuple], session_id: int, kind: str, actor: int | None, data: str, at: int) -> None:
    """The next event of a session being drafted, numbered after the ones before it."""
    events.append((session_id, len(events) + 1, kind, actor, "", data, at))


def _caucuses(
    run: Run,
    draft: CaseDraft,
    joint: int,
    people: list,
    participants: list[int],
    sides: list[str],
    add: Callable[..., None],
    t: int,
) -> int:
    """Now and then, before the joint session ends, the facilitator meets each side in a private side room, as
    deliberation.services opens and closes one: `caucus_opened` and `caucus_closed` in the joint room, the caucus
    a session of its own (joint, side; started, the facilitator and that side's guest joining, lines said,
    ended, everyone leaving) and `caucus_held` on the case's timeline (side, times, how many and their roles,
    never names or words). A random stream of its own, seeded by the case's opening and this moment (ids are
    not: sequences differ between runs), so that the other histories are as they were. Returns the time after
    the last caucus."""
    rng = random.Random(draft.opened_at * 1_000_003 + t)
    if rng.random() >= SESSIONS["caucus_share"][draft.forum.kind]:
        return t
    facilitator, lead = people[0][0], participants[0]
    for side in (FIRST, SECOND):
        caucus_id = run.take_id("session")
        t += _between(rng, 30, 300)
        add("caucus_opened", lead, f'{{"caucus":{caucus_id},"side":"{side}"}}', t)
        start = t
        events: list[tuple] = []
        roles: dict[str, int] = {}

        present = [0] + [i for i in (2, 3) if sides[i] == side]  # The facilitator and that side's guest.
        members = []
        for i in present:
            user_id, role, name, _priority = people[i]
            member = run.take_id("participant")
            members.append(member)
            gender = "woman" if people[i][3] else ""
            run.add_row("participant", (member, caucus_id, user_id, role, name, False, 0, None, t, gender, ""))
            if not events:
                _push(events, caucus_id, "started", member, f'{{"joint":{joint},"side":"{side}"}}', t)
            _push(events, caucus_id, "joined", member, _joined_json(name, role), t)
            roles[role] = roles.get(role, 0) + 1
            t += _between(rng, 5, 60)
        for _ in range(_between(rng, *SESSIONS["caucus_lines"])):
            t += _between(rng, 20, 300)
            _push(events, caucus_id, "said", _one(rng, members), SAID_JSON[int(rng.random() * len(SAID_JSON))], t)
        t += _between(rng, 30, 300)
        ended = t
        _push(events, caucus_id, "ended", members[0], '{"accepted_proposals":0}', t)
        for member in members:
            t += _between(rng, 1, 20)
            _push(events, caucus_id, "left", member, "{}", t)
        for row in events:
            run.add_row("session_event", row)
        run.add_row("session", (
            caucus_id, draft.id, facilitator, "ended", start, start, ended, start, None, None, False, False, None,
            len(events), side, joint,
        ))  # fmt: skip
        draft.event(ended, "caucus_held", facilitator, {
            "session": joint, "caucus": caucus_id, "side": side, "started": iso(start).replace("+00:00", "Z"),
            "ended": iso(ended).replace("+00:00", "Z"), "participants": sum(roles.values()), "roles": roles,
        })  # fmt: skip
        add("caucus_closed", lead, f'{{"caucus":{caucus_id},"side":"{side}"}}', t)
    return t


def history_links(drafts: list[CaseDraft], run: Run) -> None:
    """Every earlier case of the district services.recurrences_find would link each case of the batch to when
    it opened (`recurrence_linked`), and what a facilitator later made of the links (history_recurrence).

    Drafted once the whole batch is, not as each case opens: a run adding to a big database then reads the
    earlier cases its openings name in one query per district (Register.prefetch), not one per opening. What
    each opening may link to is the same either way (the register filters by the opening's time), and the
    decisions draw from a stream of the case's own, so the same seed still gives the same data."""
    register = run.register
    register.prefetch([(draft.forum.region_id, draft.parties[0][0].key, draft.parties[1][0].key) for draft in drafts])
    for draft in drafts:
        first, second = draft.parties[0][0], draft.parties[1][0]
        links = draft.links = register.pair_matches(draft.forum.region_id, draft.opened_at, first, second)
        if links:
            # References are given out when the batch is numbered: the event's text waits for them.
            draft.event(draft.opened_at, "recurrence_linked", draft.opened_by, partial(_linked_json, links))
            history_recurrence(draft, run, random.Random(f"{run.stream}:links:{draft.index}"))
    register.sweep()


def _linked_json(links: list[tuple[Known, str]]) -> str:
    return as_json({
        "earlier": [{"case": known.id, "reference": known.reference, "basis": basis} for known, basis in links]
    })  # fmt: skip


def history_recurrence(draft: CaseDraft, run: Run, rng: random.Random) -> None:
    """The links recurrences_find made when the case opened (`matched`), and what a facilitator later made
    of some of them while the case was open, as services.recurrence_decide records it: most links between
    the same party records confirmed, namesakes more often rejected."""
    if not draft.links:
        return
    end = draft.closed_at if draft.closed_at is not None else run.end
    for known, basis in draft.links:
        confirmed, rejected = RECURRENCE["decided"][basis]
        roll = rng.random()
        status = "confirmed" if roll < confirmed else "rejected" if roll < confirmed + rejected else "matched"
        decided = decider = None
        if status != "matched":
            decided = draft.opened_at + int(rng.triangular(*RECURRENCE["decided_days"]) * DAY)
            if decided >= end:
                status, decided = "matched", None
            else:
                decider = _one(rng, draft.forum.facilitators)
                draft.event(decided, f"recurrence_{status}", decider, partial(_earlier_json, known))
        run.add_row("recurrence", (draft.id, known.id, status, basis, draft.opened_at, decided, decider))


def _earlier_json(known: Known) -> str:
    return as_json({"case": known.id, "reference": known.reference})


SURVEYED_ROLES = frozenset((FIRST, SECOND, CaseParty.Role.VICTIM.value))  # As services.survey_record asks.


def history_survey(draft: CaseDraft, run: Run) -> None:
    """The closing survey, as services.survey_record records it: most closed cases' first and second parties
    and victims (and a few of those withdrawn or referred) are asked, in the last days of monitoring or in
    the weeks after the end, by a monitor or a facilitator. Satisfaction follows the outcome; perceived
    fairness follows satisfaction, a little higher; feeling heard follows fairness, and wanting to use the
    forum again, satisfaction."""
    if not draft.ended:
        return
    rng = run.rng
    if rng.random() >= SURVEYS["share"][draft.outcome]:
        return
    forum = draft.forum
    closed = draft.closed_at
    assert closed is not None  # It has ended.
    before = draft.state == workflows.CLOSED and rng.random() < SURVEYS["before_closing"]
    mean = SURVEYS["mean"][draft.outcome]
    for party, role in draft.parties:
        if role not in SURVEYED_ROLES or rng.random() >= SURVEYS["answered"]:
            continue
        if before:  # Still in monitoring (implementation): the stage a case closes from.
            assert draft.watch_entered is not None  # A closed case came through it.
            at = closed - _between(rng, 600, min(5 * DAY, closed - draft.watch_entered - 600))
        else:
            at = closed + _between(rng, 3600, 20 * DAY)
            if at > run.end:
                continue
        if rng.random() < SURVEYS["by_facilitator"]:
            by = _one(rng, forum.facilitators)
        else:
            by = draft.monitor or _one(rng, forum.monitors)
        expected = mean + (SURVEYS["victim"] if role == "victim" else 0)
        satisfaction = min(5, max(1, round(rng.gauss(expected, 0.9))))
        fairness = min(5, max(1, round(0.5 * satisfaction + 0.5 * expected + 0.3 + rng.gauss(0, 0.7))))
        felt_heard = rng.random() < 0.1 + 0.17 * fairness
        again = rng.random() < 0.05 + 0.18 * satisfaction
        run.add_row("survey", (draft.id, party.id, satisfaction, fairness, felt_heard, again, at, by))
        # The pseudonym may still change (a clash with an older party's, settled when the batch is written).
        draft.event(at, "survey_recorded", by, partial(_survey_json, party, role, satisfaction, fairness, felt_heard,
                                                        again))  # fmt: skip


def history_risk_factors(draft: CaseDraft, run: Run) -> None:
    """Now and then, mostly in the riskier cases, a facilitator tags the case with one to three risk factors
    of the UN Framework of Analysis a few days after it opened, while it is still open, as
    services.case_risk_factors_set records them."""
    rng = run.rng
    if rng.random() >= RISK_FACTORS["tag"][draft.risk_level]:
        return
    at = draft.opened_at + _between(rng, DAY, 10 * DAY)
    if at >= (draft.closed_at if draft.closed_at is not None else run.end):
        return
    factors = sorted({PICK_FACTOR(rng) for _ in range(_between(rng, 1, 3))})
    actor = _one(rng, draft.forum.facilitators)
    draft.event(at, "risk_factors_tagged", actor, _factors_json(tuple(factors)))
    for factor in factors:
        run.add_row("risk_factor", (draft.id, factor, at, actor))


@lru_cache(maxsize=1024)
def _factors_json(factors: tuple[int, ...]) -> str:
    return as_json({"factors": list(factors), "added": list(factors), "removed": []})


def _survey_json(party: PartyRef, role: str, satisfaction: int, fairness: int, felt_heard: bool, again: bool) -> str:
    # As as_json() would write it (a pseudonym and a role need no escaping), in a fraction of the time.
    return (
        f'{{"party":"{party.pseudonym}","role":"{role}","satisfaction":{satisfaction},"fairness":{fairness},'
        f'"felt_heard":{"true" if felt_heard else "false"},"would_use_again":{"true" if again else "false"}}}'
    )


# Guarantees (issue 19, item 2): how often a forum kind's cases lodge them, and what they hold.
GUARANTEE_SHARE = {"jirga": 0.5, "sulha": 0.4, "muslahathi": 0.08}  # Of a forum kind's cases.
GUARANTEE_CALLED_IN = 0.5  # Of those with a breach.
GUARANTEE_TEXTS = (
    "That the truce holds until the decision is carried out.",
    "That the compensation is paid when due.",
    "That the family keeps away from the other side's fields.",
)
DEPOSIT_GOODS = ("Two rifles", "A motorcycle", "Gold jewellery", "Title papers of a field")


def history_guarantees(draft: CaseDraft, run: Run) -> None:
    """Guarantors and deposits, as cases.services.guarantees records them: lodged a few days after the case
    opens (the jirga's mandate, a sulha's truce) while it is open; after the first breach, now and then a
    deposit forfeited and a guarantor called, with a reason; every deposit still held when the case ends is
    returned just before it ends, so a case closed as resolved never closes with a deposit held (deposit_open).
    Event data as the services write it: ids, sides, kinds and amounts, never a name."""
    rng = run.rng
    kind = draft.forum.kind
    if rng.random() >= GUARANTEE_SHARE[kind]:
        return
    ends = draft.closed_at if draft.closed_at is not None else run.end
    at = draft.opened_at + _between(rng, DAY, 6 * DAY)
    if at >= ends - 2 * 3600:
        return
    actor = _one(rng, draft.forum.facilitators)
    currency = draft.forum.people["currency"]
    received = at // DAY
    guarantor_id = run.take_id("guarantor")
    side = FIRST if rng.random() < 0.5 else SECOND
    name, _key = _person(rng, draft.forum)
    guarantor = [guarantor_id, draft.id, name, side, _one(rng, GUARANTEE_TEXTS), "active", actor, at, None, ""]
    draft.event(at, "guarantor_added", actor, f'{{"guarantor":{guarantor_id},"stands_for":"{side}","party":null}}')
    deposit_id = run.take_id("deposit")
    depositor = SECOND if side == FIRST else FIRST
    money = rng.random() < 0.7
    if money:
        low, high, step = AMOUNTS[currency][0]
        amount: int | None = _between(rng, low // step, high // step) * step
        what, dcur, dkind = "", currency, "money"
    else:
        amount, what, dcur, dkind = None, _one(rng, DEPOSIT_GOODS), "", "goods"
    holder, _key = _person(rng, draft.forum)
    deposit = [deposit_id, draft.id, dkind, what, amount, dcur, holder, depositor, received, "held", None, "",
               actor, at + 60]  # fmt: skip
    amount_json = "null" if amount is None else f'"{amount}.00"'
    deposit_json = (
        f'"deposit":{deposit_id},"kind":"{dkind}","amount":{amount_json},"currency":"{dcur}",'
        f'"deposited_by":"{depositor}","received_at":"{day_text(received)}"'
    )
    draft.event(at + 60, "deposit_received", actor, f"{{{deposit_json}}}")
    breaches = [event[0] for event in draft.events if event[1] == "breach_recorded"]
    if breaches and rng.random() < GUARANTEE_CALLED_IN:
        called = max(min(breaches), at + 120) + _between(rng, 3600, 5 * DAY)
        if called < ends - 3600:
            reason = _one(rng, REASONS["breakdown"])
            deposit[9:12] = ["forfeited", called, reason]
            draft.event(called, "deposit_forfeited", actor, as_json_text(deposit_json, reason))
            guarantor[5], guarantor[8], guarantor[9] = "called", called + 60, reason
            draft.event(called + 60, "guarantor_called", actor, as_json({
                "guarantor": guarantor_id, "stands_for": side, "reason": reason,
            }))  # fmt: skip
    if deposit[9] == "held" and draft.closed_at is not None:
        returned = draft.closed_at - _between(rng, 60, 1800)
        if returned > at + 120:
            deposit[9], deposit[10] = "returned", returned
            draft.event(returned, "deposit_returned", actor, f"{{{deposit_json}}}")
    if draft.outcome == "resolved" and deposit[9] == "held":
        raise GenerationError(f"case {draft.id} closes as resolved with a deposit held")
    run.add_row("guarantor", tuple(guarantor))
    run.add_row("deposit", tuple(deposit))


def as_json_text(fields: str, reason: str) -> str:
    """A deposit's event fields (JSON text without braces) and a reason, as one JSON object."""
    return f"{{{fields},{as_json({'reason': reason})[1:]}"


# Conflicts of interest (issue 19, item 4): how often a facilitator declares a tie to one of the two sides.
TIE_SHARE = {"jirga": 0.2, "sulha": 0.15, "muslahathi": 0.06}  # Of a forum kind's cases.
TIE_KINDS = ("kin", "kin", "tribe", "business", "other")
TIE_RECUSED = 0.4  # Of the ties whose person never acts on the case again: recused rather than accepted.
TIE_NOTES = ("A cousin of the family's head.", "Of the same clan.", "A partner in a shop in the bazaar.", "")
# The moves a person with an unresolved tie may not make (cases.services.conflicts.conflict_check).
TIE_BLOCKED = ("transitioned", "session_started")


def history_ties(draft: CaseDraft, run: Run) -> None:
    """A facilitator's declared tie to the first or the second party, as cases.services.conflicts records it:
    declared soon after the case opens; then, when another facilitator of the forum can record it, both sides'
    acceptance before the person next moves the case or starts its session; or, when the person never acts on
    the case again, their recusal. Otherwise no tie is drafted: every history is one the services allow. Event
    data as the services write it: ids, kind, side and the party's pseudonym, never a name or the note."""
    rng = run.rng
    forum = draft.forum
    if rng.random() >= TIE_SHARE[forum.kind]:
        return
    ends = draft.closed_at if draft.closed_at is not None else run.end
    declared = draft.opened_at + _between(rng, 60, 1800)
    person = _one(rng, forum.facilitators)
    acts = [at for at, kind, actor, _data in draft.events if kind in TIE_BLOCKED and actor == person and at >= declared]
    limit = min([ends, *acts])
    others = [user for user in forum.facilitators if user != person]
    may_recuse = not acts and ends - declared > 600  # The person never acts on the case again.
    if may_recuse and (not others or rng.random() < TIE_RECUSED):
        resolution = "recused"
    elif others and limit - declared > 600:
        resolution = "accepted"
    else:
        return  # Declared too late to be resolved before the person acts: the services would refuse the history.
    party = draft.parties[0 if rng.random() < 0.5 else 1][0]
    tie_id = run.take_id("tie")
    kind = _one(rng, TIE_KINDS)
    row: list = [tie_id, draft.id, person, party.id, kind, _one(rng, TIE_NOTES), resolution, declared, person,
                 None, None, "", None, None, "", None, None]  # fmt: skip
    events = [(declared, "tie_declared", person, as_json({
        "tie": tie_id, "person": person, "party": party.id, "pseudonym": party.pseudonym, "kind": kind,
        "first_on_case": True,
    }))]  # fmt: skip
    if resolution == "accepted":
        recorder = _one(rng, others)
        first_at = declared + _between(rng, 60, (limit - declared) // 3)
        second_at = first_at + _between(rng, 60, (limit - first_at) // 2)
        for column, at, side in ((11, first_at, FIRST), (14, second_at, SECOND)):
            row[column : column + 3] = [_person(rng, forum)[0], at, recorder]
            events.append((at, "tie_accepted", recorder, as_json({
                "tie": tie_id, "person": person, "side": side, "resolved": side == SECOND,
            })))  # fmt: skip
    else:
        recused = declared + _between(rng, 60, min(3 * DAY, (ends - declared) // 2))
        row[9:11] = [recused, person]
        events.append((recused, "tie_recused", person, as_json({"tie": tie_id, "person": person, "kind": kind})))
    for event in events:
        draft.events.append(event)
    run.add_row("tie", tuple(row))


# The steps that write a case's history, in order. Add one by appending a function step(draft, run).
HISTORY_STEPS: list[Callable[[CaseDraft, Run], None]] = [
    history_open,
    history_workflow,
    history_session,
    history_ladder,
    history_survey,
    history_risk_factors,
    history_guarantees,
    history_ties,
]
