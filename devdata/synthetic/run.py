"""A run of generate_synthetic: its random stream, its world, the batch being drafted, and generate() itself.

Deterministic. One `random.Random` stream drives everything, case after case. It is seeded with the seed
and the number of cases already in the database, so the same seed on the same database (an empty one, say)
gives the same rows, while a second run on a database that already holds the first run's cases continues
with new cases instead of repeating them. Time runs back three years from `until`, by default midnight UTC
at the start of today. A fixed anchor (say 1 January 2026) would give the same rows forever, but the data
would age: after a few months nothing would be recent, no truce about to lapse, no review due, and the
regulators' "this period" figures would be empty. Midnight of today keeps the three years ending now and
never in the future, and every run on the same day is identical; pass `until` to reproduce a day's data
later, as the tests do. Ids are not part of the promise (sequences never roll back). Pseudonyms come from a
keyed permutation of a counter, so they cannot repeat within a run; the rare clash with an older party
takes a spare from a range the counter never reaches.
"""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from cases import ladder_stats
from cases.models import Case, Party, ProhibitedPractice, ReferenceCounter

from .drafting import HISTORY_STEPS, history_links
from .drafts import CaseDraft, Pseudonyms
from .encoding import DAY
from .register import Known, PartyRef, Register
from .validator import Route
from .vocabulary import (
    DISPUTES,
    KINDS,
    OFFENCE,
    RECURRENCE,
    REFERRAL,
    RISK,
    SUMMARIES,
    TITLES,
    VIOLENT,
    VOCABULARY,
    Weighted,
    _between,
    _one,
)
from .world import ForumInfo, world_ensure
from .writers import (
    BULK_LOAD,
    TABLES,
    IdPool,
    _bulk_lock,
    _owns_tables,
    indexes_drop,
    indexes_restore,
    tables_analyse,
    write_batches,
)

YEARS = 3


class Run:
    """The state of one run: the random stream, the world, the id pools and the current batch's rows."""

    GROWTH = 1.0  # The programme grows: twice as many cases a day at the end of the three years as at the start.

    def __init__(self, *, cases: int, seed: int, until: datetime, forums: list[ForumInfo], salt: int):
        self.stream = f"sulh-synthetic:{seed}:{salt}"
        self.rng = random.Random(self.stream)
        self.cases = cases
        self.end = int(until.timestamp())
        self.start = int((until - timedelta(days=365 * YEARS)).timestamp())
        self.pick_forum = Weighted((forum, forum.weight) for forum in forums)
        self.routes = {kind: Route.of(kind) for kind in KINDS}
        practices = _practices()
        self.pick_practice = Weighted(practices) if practices else None
        self.pseudonyms = Pseudonyms(self.rng)
        self.ids = {table.key: IdPool(table.model) for table in TABLES if table.has_id}
        self.rows: dict[str, list[tuple]] = {table.key: [] for table in TABLES}
        self.party_refs: list[PartyRef] = []  # The batch's new party records, as rows["party"] holds them.
        self.drafts: list[CaseDraft] = []
        self.ladder = LadderTotals()
        self.register = Register()
        if salt:
            self.register.preload(self.start)
        self.older_parties = Party.objects.aggregate(highest=models.Max("id"))["highest"]  # None: no party yet.

    def add_row(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def take_id(self, table: str) -> int:
        return self.ids[table].take()

    def opened_at(self, index: int) -> int:
        """When the index-th case of the run opens: increasing with the index, so references follow time."""
        u = (index + self.rng.random()) / self.cases
        g = self.GROWTH
        x = ((1 + 2 * g * u * (1 + g / 2)) ** 0.5 - 1) / g  # The inverse of the CDF of a density ∝ 1 + g·x.
        span_days = (self.end - self.start) // DAY
        day = min(int(x * span_days), span_days - 1)
        # During the working day, 05:00–15:00 UTC from Amman to Kandahar.
        return self.start + day * DAY + 5 * 3600 + int((x * span_days - day) * 10 * 3600)

    def case(self, index: int) -> CaseDraft:
        """Draft the index-th case of the run and its whole history."""
        rng = self.rng
        forum = self.pick_forum(rng)
        opened_at = self.opened_at(index)
        register = self.register
        register.advance(opened_at)
        # A new case of an earlier feud: between the same party records, often over the same kind of dispute.
        earlier = register.pick(rng, forum.id, opened_at) if rng.random() < RECURRENCE["share"] else None
        if earlier is not None and rng.random() < RECURRENCE["same_dispute"]:
            dispute_type = earlier.dispute_type
        else:
            dispute_type = DISPUTES[forum.kind](rng)
        referral_source, police = REFERRAL[forum.kind](rng)
        fir_number = ""
        if police and rng.random() < 0.8:
            fir_number = f"FIR {_between(rng, 1, 999)}/{datetime.fromtimestamp(opened_at, tz=UTC).year}"
        draft = CaseDraft(
            id=self.take_id("case"),
            index=index,
            forum=forum,
            route=self.routes[forum.kind],
            dispute_type=dispute_type,
            risk_level=RISK[dispute_type in VIOLENT](rng),
            offence_class=OFFENCE[dispute_type](rng),
            title=_one(rng, TITLES[dispute_type]),
            summary=_one(rng, SUMMARIES),
            opened_at=opened_at,
            opened_by=_one(rng, forum.facilitators),
            referral_source=referral_source,
            fir_number=fir_number,
            rung_id=forum.base_rung_id,
            earlier=earlier,
        )
        for step in HISTORY_STEPS:
            step(draft, self)
        sides = ((draft.parties[0][0],), (draft.parties[1][0],))  # history_open names the first party, then the second.
        draft.known = Known(draft.id, forum.region_id, forum.id, opened_at, draft.closed_at, draft.outcome,
                            dispute_type, sides)  # fmt: skip
        register.add(draft.known, pickable=True)
        self.drafts.append(draft)
        return draft

    def finish_batch(self) -> tuple[dict[str, list[tuple]], int, int]:
        """Link the batch's cases to earlier ones, number them, settle pseudonym clashes, and hand over its rows:
        (rows, cases, events). The batch's escalation totals are then in `ladder`, until the next batch."""
        self.link_batch()
        self._number()
        self._fix_pseudonyms()
        events = 0
        for draft in self.drafts:
            events += self._emit(draft)
        cases = len(self.drafts)
        self.ladder = LadderTotals()
        for draft in self.drafts:
            self.ladder.add(draft, self.rows["ladder_move"])
        rows, self.rows, self.drafts = self.rows, {table.key: [] for table in TABLES}, []
        self.party_refs = []
        return rows, cases, events

    def link_batch(self) -> None:
        """What the batch's openings link to (drafting.history_links), once the batch is drafted."""
        history_links(self.drafts, self)

    def _number(self) -> None:
        """References as services._next_reference gives them, from the same counters, locked while counting.

        In a transaction of its own when the caller has none, so that a counter is never held locked while
        a batch is written (a crash between the two leaves a gap in the numbers, never a duplicate)."""
        needed: dict[tuple[str, int], list[CaseDraft]] = {}
        for draft in self.drafts:
            year = datetime.fromtimestamp(draft.opened_at, tz=UTC).year
            needed.setdefault((draft.forum.prefix, year), []).append(draft)
        with transaction.atomic():
            for (prefix, year), drafts in sorted(needed.items()):
                counter, _created = ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
                counter = ReferenceCounter.objects.select_for_update().get(pk=counter.pk)
                for draft in drafts:
                    counter.last_number += 1
                    assert draft.known is not None  # Every draft of the batch was registered as it was made.
                    draft.reference = draft.known.reference = f"{prefix}-{year}-{counter.last_number:05d}"
                counter.save(update_fields=["last_number"])

    def _fix_pseudonyms(self) -> None:
        parties = self.rows["party"]
        position = {row[3]: i for i, row in enumerate(parties)}
        while position:
            taken = _existing_pseudonyms(list(position), up_to=self.older_parties)
            replaced = {}
            for pseudonym in sorted(taken, key=position.__getitem__):  # In party order: deterministic.
                i = position[pseudonym]
                row = parties[i]
                parties[i] = (*row[:3], self.pseudonyms.spare(), *row[4:])  # Every other column kept.
                self.party_refs[i].pseudonym = parties[i][3]  # Surveys' events name it when written.
                replaced[parties[i][3]] = i
            position = replaced  # The spares are checked too.

    def _emit(self, draft: CaseDraft) -> int:
        events = draft.events
        events.sort(key=lambda event: event[0])  # Stable: events of the same moment keep their order.
        add_event = self.rows["event"].append
        case_id = draft.id
        for seq, (at, kind, actor, data) in enumerate(events, start=1):
            add_event((case_id, seq, kind, actor, at, data if isinstance(data, str) else data()))
        self.rows["case"].append((
            case_id, draft.reference, draft.forum.id, draft.forum.kind, draft.title, draft.summary,
            draft.dispute_type, draft.risk_level, draft.offence_class, draft.state, draft.rung_id, draft.version,
            len(events), draft.outcome, draft.opened_at, draft.closed_at, draft.review_due, draft.truce_expires,
            draft.referral_source, draft.fir_number, draft.opened_by, draft.monitor,
        ))  # fmt: skip
        for kind, due_on, created_at, resolved_at in draft.reminders:
            self.rows["reminder"].append((case_id, kind, due_on, created_at, resolved_at))
        agreement = draft.agreement
        if agreement is not None:
            self.rows["agreement"].append((
                agreement.id, case_id, "final" if agreement.finalised_at else "draft", agreement.revision,
                agreement.recorded_at, agreement.finalised_at,
            ))  # fmt: skip
            for term in agreement.terms:
                self.rows["term"].append((
                    term.id, agreement.id, term.position, term.kind, term.description, term.amount, term.currency,
                    term.due,
                ))  # fmt: skip
                if term.instalments:
                    add_instalment = self.rows["instalment"].append
                    for number, (day, cents) in enumerate(term.instalments, start=1):
                        add_instalment((term.id, number, day, cents))
        return len(events)


_LADDER_EVENTS = frozenset(("opened", *ladder_stats.MOVES))


class LadderTotals:
    """A batch's part of the escalation statistics, read from the timelines drafted, as
    ladder_stats.history_moves reads them from the database: the open cases per (forum, rung), the counts of
    the moves, and their LadderMove rows."""

    def __init__(self) -> None:
        self.open_counts: Counter = Counter()
        self.counts: Counter = Counter()

    def add(self, draft: CaseDraft, ladder_rows: list[tuple]) -> None:
        if not draft.ended:
            self.open_counts[(draft.forum.id, draft.rung_id)] += 1
        ladder = [event for event in draft.events if event[1] in _LADDER_EVENTS]  # In order: _emit sorted them.
        if len(ladder) < 2:
            return  # Opened, never moved (most cases).
        rows = []
        for at, kind, _actor, data in ladder:
            data = json.loads(data if isinstance(data, str) else data())
            rows.append((draft.id, draft.forum.id, kind, datetime.fromtimestamp(at, tz=UTC), data.get("to"),
                         data.get("rung")))  # fmt: skip
        moves = ladder_stats.moves_of(rows)
        self.counts.update(ladder_stats.count_moves(moves))
        for m in moves:
            ladder_rows.append((m.case_id, m.forum_id, int(m.at.timestamp()), m.up, m.source, m.target, m.stay,
                                m.first_up, m.came_down))  # fmt: skip

    def write(self) -> None:
        ladder_stats.add_written(open_counts=self.open_counts, counts=self.counts)


def _existing_pseudonyms(candidates: list[str], *, up_to: int | None) -> set[str]:
    """The candidates that parties up to id `up_to` (those there before the run) already bear. The run's own
    pseudonyms cannot repeat, so an empty table at the start means nothing to look up: the query (a scan of
    the whole table for thousands of candidates) would cost more with every batch."""
    if up_to is None:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT pseudonym FROM "{Party._meta.db_table}" WHERE id <= %s AND pseudonym = ANY(%s)',
                [up_to, candidates],
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(candidates), 500):
        found.update(
            Party.objects.filter(pk__lte=up_to, pseudonym__in=candidates[start : start + 500]).values_list(
                "pseudonym", flat=True
            )
        )
    return found


def _practices() -> list[tuple[tuple[str, tuple[str, ...]], int]]:
    """The active prohibited practices (code, citations) an attempt may name, with their weights."""
    weights = VOCABULARY["prohibited"]["weights"]
    return [
        ((p.code, tuple(line.strip() for line in p.citations.splitlines() if line.strip())), weights.get(p.code, 1))
        for p in ProhibitedPractice.objects.filter(is_active=True).order_by("code")
    ]


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    seconds: float = 0.0  # The whole run, the indexes built at the end of a first load included.
    index_seconds: float | None = None  # A first load's index build and ANALYZE; None when the indexes stayed up.
    stage: str = "cases"  # "cases", then "indexes" while a first load builds them.

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def default_until() -> datetime:
    """Midnight UTC at the start of today: the same for every run today, and never in the future."""
    return timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def generate(
    *,
    cases: int,
    seed: int = 1,
    batch: int = 5000,
    until: datetime | None = None,
    writers: int = 2,
    progress: Callable[[int, int, Report], None] | None = None,
    defer_indexes: bool | None = None,
) -> Report:
    """Add `cases` synthetic cases with their histories, one transaction per batch of `batch` cases.

    On PostgreSQL, outside a transaction, `writers` threads write batches while the next ones are drafted;
    otherwise batches are written in turn on the caller's connection. A first load there (a database without
    cases) builds the plain indexes at the end, on `writers` connections: always with `defer_indexes`, never
    without, from BULK_LOAD cases when it is None."""
    if cases < 0 or batch < 1 or writers < 1:
        raise ValueError("cases must be 0 or more, batch and writers at least 1.")
    until = until or default_until()
    if until > timezone.now():
        raise ValueError("until must not be in the future.")
    started = time.perf_counter()
    report = Report()
    lock = threading.Lock()

    def committed(batch_cases: int, batch_events: int) -> None:
        with lock:
            report.cases += batch_cases
            report.events += batch_events
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report.cases, cases, report)

    # Only the tables' owner may take their indexes down or build them (a superuser is one).
    locked = (
        connection.vendor == "postgresql" and not connection.in_atomic_block and _owns_tables() and _bulk_lock(True)
    )
    try:
        if locked:
            indexes_restore()  # A first load killed before its end left them down.
        with transaction.atomic():
            forums = world_ensure()
        salt = Case.objects.count()
        deferred = locked and salt == 0 and (cases >= BULK_LOAD if defer_indexes is None else defer_indexes)
        try:
            if deferred:
                indexes_drop()
            _run(cases=cases, seed=seed, until=until, forums=forums, salt=salt, batch=batch, writers=writers,
                 committed=committed)  # fmt: skip
        finally:
            if deferred:
                report.stage = "indexes"
                if progress is not None:
                    progress(report.cases, cases, report)
                building = time.perf_counter()
                indexes_restore(workers=writers)
                tables_analyse()  # The planner's statistics, for the first queries (autovacuum may be off).
                report.index_seconds = time.perf_counter() - building
    finally:
        if locked:
            _bulk_lock(False)
    report.seconds = time.perf_counter() - started
    return report


def _run(
    *, cases: int, seed: int, until: datetime, forums: list[ForumInfo], salt: int, batch: int, writers: int,
    committed: Callable[[int, int], None],
) -> None:  # fmt: skip
    run = Run(cases=cases, seed=seed, until=until, forums=forums, salt=salt)
    # The drafts make no reference cycles (counting references frees them), but they make objects by the
    # million, and the cyclic garbage collector would walk them again and again: a fifth of the run's time.
    # It rests until the end of the run, and then collects whatever cycles others made meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        write_batches(run, cases=cases, batch=batch, writers=writers, committed=committed)
    finally:
        if collecting:
            gc.enable()
