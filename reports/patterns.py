"""The regulator summary's writer: the case timelines folded into anonymised counts (cases.models PatternMonth,
PatternCloseDays, PatternWeek), for the reports regulators read (shared/DOMAIN.md, "What regulators get");
reports.pattern_report reads them. The Celery task (reports.tasks.summarise_patterns) and the command
`summarise_patterns` run `summarise`; reports.services queues the task. This module imports neither.

How. The database does the counting: per chunk of event ids, the chunk's events joined to their case
(dispute type, opening day) and the case's forum (district, kind) are counted per finest cell, then one
`INSERT … SELECT … GROUP BY … ON CONFLICT … DO UPDATE SET n = n + EXCLUDED.n` per table adds them up
(fold_statements). Nothing is read into Python row by row, so the worker's memory stays
flat however many events there are. The month and the week are those of the event's `at`, in UTC.

Incremental. PatternState.last_event_id is the watermark: every event with an id up to it is in the
tables. A run folds the events after it, chunk by chunk; each chunk is one transaction that adds its
counts *and* moves the mark, with the PatternState row locked, so that a run killed at any moment (SIGKILL
included) leaves tables that agree with the mark, the rerun carries on from there, and two runs at once
never fold the same chunk (the second waits for the lock, then reads the moved mark). A second run with
nothing new changes nothing. `full=True` empties the tables and resets the mark in the transaction of its
first chunk and folds everything again: the same tables as any sequence of incremental runs. While a full
run is under way, readers see the tables filling up chunk by chunk (a repair, run rarely).

Events that are not there yet. Ids come from a sequence when an event is inserted, but become visible when
its transaction commits, and transactions commit out of order: a summary that read ids 1‥100 while the
transaction holding id 97 was still open, and moved the mark to 100, would never count event 97. Two
guards keep that from happening:

1. On PostgreSQL the run first reads the highest visible id together with the transactions then writing
   to the event table (their RowExclusiveLock in pg_locks), and waits until those have ended before
   folding up to that id. Any event with a lower id that was not visible belonged to one of them, so it
   is committed (or rolled back) by then. It also covers writers whose events carry old times
   (generate_synthetic's bulk loads).
2. Everywhere, a chunk stops before the first event whose `at` is less than PATTERNS_SAFETY_LAG seconds
   old: the services stamp an event shortly before they commit it, so a young event is a sign of
   transactions that may still be open around it; it is folded by the next run. (SQLite needs nothing
   more: it lets one writer at a time, and ids are taken under that lock.)

Which events count, and where (the services and deliberation.services write them):
- `opened` → opened; imminent when data.risk_level is "imminent"; referred_in when the case has a referral
  source other than the parties themselves ("parties"); PatternWeek.imminent.
- `transitioned` to `closed` → closed and its data.outcome (resolved, partly_resolved, breakdown), and
  PatternCloseDays(days = the event's day − the case's opening day, both in UTC); to `withdrawn` or
  `referred` → those.
- `agreement_finalised` → agreements; `escalated` / `de_escalated` → escalations_up / _down (and
  PatternWeek.escalations_up); `breach_recorded` → breaches (and PatternWeek.breaches);
  `compliance_checked` → checks, and checks_met when data.status is "met"; `recurrence_linked` →
  recurrences; `prohibited_term_blocked` → prohibited_blocked; `session_started` → sessions (hearings);
  `survey_recorded` → surveys, satisfaction_sum, fairness_sum, felt_heard; `deposit_forfeited` →
  deposits_forfeited; `guarantor_called` → guarantors_called (cases.services.guarantees); `tie_declared` with
  data.first_on_case → cases_with_ties, the month of a case's first declared tie (cases.services.conflicts);
  `session_ended` with data.women_took_part / data.women_spoke → sessions_with_women / sessions_women_spoke
  (deliberation.services.session_end: a participant who said she is a woman attended / said something).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, Forum, PatternCloseDays, PatternMonth, PatternState, PatternWeek

logger = logging.getLogger(__name__)

STATE_ID = 1  # PatternState holds one row, always this one.

# Referral sources that mean the parties came by themselves: not a referral in.
SELF_REFERRED = ("", "parties")

# PatternMonth's counts: (column, condition on the chunk's rows — see _chunk_rows for their names).
MONTH_COUNTS = (
    ("opened", "kind = 'opened'"),
    ("imminent", "kind = 'opened' AND risk = 'imminent'"),
    ("referred_in", "kind = 'opened' AND referred_in"),
    ("closed", "kind = 'transitioned' AND target = 'closed'"),
    ("resolved", "kind = 'transitioned' AND target = 'closed' AND outcome = 'resolved'"),
    ("partly_resolved", "kind = 'transitioned' AND target = 'closed' AND outcome = 'partly_resolved'"),
    ("breakdown", "kind = 'transitioned' AND target = 'closed' AND outcome = 'breakdown'"),
    ("withdrawn", "kind = 'transitioned' AND target = 'withdrawn'"),
    ("referred", "kind = 'transitioned' AND target = 'referred'"),
    ("agreements", "kind = 'agreement_finalised'"),
    ("escalations_up", "kind = 'escalated'"),
    ("escalations_down", "kind = 'de_escalated'"),
    ("breaches", "kind = 'breach_recorded'"),
    ("checks", "kind = 'compliance_checked'"),
    ("checks_met", "kind = 'compliance_checked' AND status = 'met'"),
    ("recurrences", "kind = 'recurrence_linked'"),
    ("prohibited_blocked", "kind = 'prohibited_term_blocked'"),
    ("sessions", "kind = 'session_started'"),
    ("surveys", "kind = 'survey_recorded'"),
    ("felt_heard", "kind = 'survey_recorded' AND felt_heard"),
    ("deposits_forfeited", "kind = 'deposit_forfeited'"),
    ("guarantors_called", "kind = 'guarantor_called'"),
    ("cases_with_ties", "kind = 'tie_declared' AND first_tie"),
    ("sessions_with_women", "kind = 'session_ended' AND women_took_part"),
    ("sessions_women_spoke", "kind = 'session_ended' AND women_spoke"),
)
# PatternMonth's sums: (column, value, condition).
MONTH_SUMS = (
    ("satisfaction_sum", "satisfaction", "kind = 'survey_recorded'"),
    ("fairness_sum", "fairness", "kind = 'survey_recorded'"),
)
WEEK_COUNTS = (
    ("breaches", "kind = 'breach_recorded'"),
    ("escalations_up", "kind = 'escalated'"),
    ("imminent", "kind = 'opened' AND risk = 'imminent'"),
)
# The kinds of event the summary reads; a transition counts only when it ends the case.
COUNTED_KINDS = (
    "opened",
    "agreement_finalised",
    "escalated",
    "de_escalated",
    "breach_recorded",
    "compliance_checked",
    "recurrence_linked",
    "prohibited_term_blocked",
    "session_started",
    "survey_recorded",
    "deposit_forfeited",
    "guarantor_called",
    "tie_declared",
    "session_ended",
)
ENDS = ("closed", "withdrawn", "referred")


# A chunk of events to fold, {"after", "upto", "first_case", "last_case", "events"}: the ids after `after` up to
# `upto`, the lowest and highest case id among their events, and how many there are. It is the parameters of
# fold_statements' SQL (see _chunk_rows) as it is, hence a plain dict: a cursor takes no TypedDict.
Chunk = dict[str, int]


class Summary(TypedDict):
    """What a run did: summarise's return, the task's result and the command's report."""

    events: int
    chunks: int
    seconds: float
    last_event_id: int
    full: bool


class Dialect:
    """The SQL that differs between PostgreSQL (production) and SQLite (the embedded mode)."""

    def __init__(self, vendor: str):
        self.postgres = vendor == "postgresql"

    def text(self, key: str) -> str:
        return f"e.data->>'{key}'" if self.postgres else f"json_extract(e.data, '$.{key}')"

    def integer(self, key: str) -> str:
        return f"(e.data->>'{key}')::int" if self.postgres else f"json_extract(e.data, '$.{key}')"

    def true(self, key: str) -> str:
        return f"(e.data->>'{key}') = 'true'" if self.postgres else f"json_extract(e.data, '$.{key}') = 1"

    def month(self, column: str) -> str:
        # %% : the SQL goes through the cursor with parameters, where a lone % starts a placeholder.
        if self.postgres:
            return f"date_trunc('month', {column} AT TIME ZONE 'UTC')::date"
        return f"strftime('%%Y-%%m-01', {column})"

    def week(self, column: str) -> str:
        """The Monday of the ISO week."""
        if self.postgres:
            return f"date_trunc('week', {column} AT TIME ZONE 'UTC')::date"
        return f"date({column}, '-6 days', 'weekday 1')"

    def days_between(self, start: str, end: str) -> str:
        if self.postgres:
            return f"(({end} AT TIME ZONE 'UTC')::date - ({start} AT TIME ZONE 'UTC')::date)"
        return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


def _chunk_rows(d: Dialect) -> str:
    """The chunk's events that count, joined to their case and forum, narrowed to what the counts read (the
    JSON only of the kinds that carry it). Parameters: `after` and `upto`, the chunk's ids; `first_case` and
    `last_case`, bounds of its case ids, which let the join read only those cases instead of them all."""
    kinds = ", ".join(f"'{k}'" for k in COUNTED_KINDS)
    ends = ", ".join(f"'{s}'" for s in ENDS)
    self_referred = ", ".join(f"'{s}'" for s in SELF_REFERRED)
    return f"""
        SELECT {d.month("e.at")} AS month, {d.week("e.at")} AS week, f.region_id AS region_id,
               c.kind AS forum_kind, c.dispute_type AS dispute_type, e.kind AS kind,
               CASE WHEN e.kind = 'opened' THEN {d.text("risk_level")} END AS risk,
               CASE WHEN e.kind = 'opened' THEN lower(trim(c.referral_source)) NOT IN ({self_referred}) END
                 AS referred_in,
               CASE WHEN e.kind = 'transitioned' THEN {d.text("to")} END AS target,
               CASE WHEN e.kind = 'transitioned' THEN {d.text("outcome")} END AS outcome,
               CASE WHEN e.kind = 'transitioned' THEN {d.days_between("c.opened_at", "e.at")} END AS days,
               CASE WHEN e.kind = 'compliance_checked' THEN {d.text("status")} END AS status,
               CASE WHEN e.kind = 'survey_recorded' THEN {d.integer("satisfaction")} END AS satisfaction,
               CASE WHEN e.kind = 'survey_recorded' THEN {d.integer("fairness")} END AS fairness,
               CASE WHEN e.kind = 'survey_recorded' THEN {d.true("felt_heard")} END AS felt_heard,
               CASE WHEN e.kind = 'tie_declared' THEN {d.true("first_on_case")} END AS first_tie,
               CASE WHEN e.kind = 'session_ended' THEN {d.true("women_took_part")} END AS women_took_part,
               CASE WHEN e.kind = 'session_ended' THEN {d.true("women_spoke")} END AS women_spoke
          FROM {CaseEvent._meta.db_table} e
          JOIN {Case._meta.db_table} c ON c.id = e.case_id
          JOIN {Forum._meta.db_table} f ON f.id = c.forum_id
         WHERE e.id > %(after)s AND e.id <= %(upto)s AND c.id BETWEEN %(first_case)s AND %(last_case)s
           AND (e.kind IN ({kinds}) OR (e.kind = 'transitioned' AND {d.text("to")} IN ({ends})))
    """


def _upsert(table: str, keys: tuple[str, ...], values: list[tuple[str, str]], source: str, where: str) -> str:
    """INSERT the `source` rows grouped by `keys`, adding `values` ((column, aggregate)) to a cell already
    there."""
    columns = ", ".join([*keys, *(column for column, _aggregate in values)])
    aggregates = ", ".join(aggregate for _column, aggregate in values)
    updates = ", ".join(f"{column} = {table}.{column} + EXCLUDED.{column}" for column, _aggregate in values)
    group = ", ".join(keys)
    # The WHERE also keeps SQLite from reading ON CONFLICT's ON as a join's (its documentation asks for one).
    return f"""
        INSERT INTO {table} ({columns})
        SELECT {group}, {aggregates} FROM {source} WHERE {where} GROUP BY {group}
        ON CONFLICT ({group}) DO UPDATE SET {updates}
    """


CHUNK_TABLE = "pattern_chunk"  # PostgreSQL: the chunk's counts per finest cell, for the three upserts.


def fold_statements(vendor: str) -> list[str]:
    """The SQL that adds a chunk of events to the three tables (parameters: see _chunk_rows).

    On PostgreSQL the chunk's rows are read, joined and counted once, per finest cell (month, district,
    forum kind, dispute type; the week only for the events the early warning counts, the days only for a
    closing), into a temporary table that the commit drops: CREATE TABLE AS may run in parallel where
    INSERT … SELECT may not, and the three upserts then add up tens of thousands of counted cells instead
    of the chunk's events. For that one statement, sorting is off and work_mem is 64 MB (per process, at
    most three): the planner expects a few thousand cells where there are tens of thousands, and sorted or
    spilled to disk they took twice as long (bench/bench_patterns.py).
    SQLite (the embedded mode) runs each upsert on the chunk's rows."""
    d = Dialect(vendor)
    cell = ("month", "region_id", "forum_kind", "dispute_type")
    closed = "kind = 'transitioned' AND target = 'closed'"
    if not d.postgres:
        source, where_closed = f"({_chunk_rows(d)}) ev", closed
        month_values = [(column, f"count(*) FILTER (WHERE {condition})") for column, condition in MONTH_COUNTS]
        month_values += [
            (column, f"coalesce(sum({value}) FILTER (WHERE {condition}), 0)") for column, value, condition in MONTH_SUMS
        ]
        close_values = [("n", "count(*)")]
        week_values = [(column, f"count(*) FILTER (WHERE {condition})") for column, condition in WEEK_COUNTS]
        week_where = " OR ".join(f"({condition})" for _column, condition in WEEK_COUNTS)
    else:
        counts = [f"count(*) FILTER (WHERE {condition}) AS {column}" for column, condition in MONTH_COUNTS]
        counts += [
            f"coalesce(sum({value}) FILTER (WHERE {condition}), 0) AS {column}"
            for column, value, condition in MONTH_SUMS
        ]
        # The week and the days only where they count, so that they split no other cells.
        week_kinds = " OR ".join(f"({condition})" for _column, condition in WEEK_COUNTS)
        count_chunk = f"""
            CREATE TEMPORARY TABLE {CHUNK_TABLE} ON COMMIT DROP AS
            SELECT month, CASE WHEN {week_kinds} THEN week END AS week, region_id, forum_kind, dispute_type,
                   CASE WHEN {closed} THEN days END AS days,
                   {", ".join(counts)}
              FROM ({_chunk_rows(d)}) ev
             GROUP BY 1, 2, 3, 4, 5, 6
        """
        source, where_closed = CHUNK_TABLE, "days IS NOT NULL"
        columns = [column for column, *_how in (*MONTH_COUNTS, *MONTH_SUMS)]
        month_values = [(column, f"sum({column})") for column in columns]
        close_values = [("n", "sum(closed)")]
        # The week's counts are counted for the month already, under the same names.
        assert all(dict(MONTH_COUNTS).get(column) == condition for column, condition in WEEK_COUNTS)
        week_values = [(column, f"sum({column})") for column, _condition in WEEK_COUNTS]
        week_where = "week IS NOT NULL"
    upserts = [
        _upsert(PatternMonth._meta.db_table, cell, month_values, source, "true"),
        _upsert(PatternCloseDays._meta.db_table, (*cell, "days"), close_values, source, where_closed),
        _upsert(PatternWeek._meta.db_table, ("week", "region_id"), week_values, source, week_where),
    ]
    if not d.postgres:
        return upserts
    # Dropped at the end, not only at commit: a caller's transaction (a test's) may fold several chunks.
    drop = f"DROP TABLE IF EXISTS {CHUNK_TABLE}"
    return [
        drop,
        "SET LOCAL enable_sort = off",
        "SET LOCAL work_mem = '64MB'",
        count_chunk,
        "RESET enable_sort",
        "RESET work_mem",
        *upserts,
        drop,
    ]


# --- The run ------------------------------------------------------------------------------------------


def _state_ensure() -> None:
    PatternState.objects.get_or_create(pk=STATE_ID)


def _visible_bound() -> int:
    """The highest event id that can be folded without missing an event committed later (guard 1 of the
    module's docstring): on PostgreSQL, waits for the transactions writing events when it looked."""
    table = CaseEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            highest: int = cursor.fetchone()[0]
            return highest
        # pg_locks lists the locks of every database, where another one's table may have the same oid.
        this_table = (
            f"relation = '{table}'::regclass"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        # One statement: its snapshot is taken before pg_locks is read, so a writer that was invisible to
        # max(id) still shows in pg_locks (its lock on the table is taken before its id, and held to its end).
        cursor.execute(
            f"""
            SELECT coalesce(max(id), 0),
                   array(SELECT DISTINCT virtualtransaction FROM pg_locks
                          WHERE {this_table} AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid())
              FROM {table}
            """
        )
        bound: int
        writers: list[str]
        bound, writers = cursor.fetchone()
        deadline = time.monotonic() + settings.PATTERNS_WRITERS_WAIT
        while writers:
            if time.monotonic() > deadline:
                logger.warning(
                    "Pattern summary: %d transactions writing events stayed open for %s s; folding up to %d.",
                    len(writers),
                    settings.PATTERNS_WRITERS_WAIT,
                    bound,
                )
                break
            time.sleep(0.05)
            cursor.execute(
                f"""
                SELECT array(SELECT DISTINCT virtualtransaction FROM pg_locks
                              WHERE {this_table} AND virtualtransaction = ANY(%s))
                """,
                [writers],
            )
            writers = cursor.fetchone()[0]
    return bound


def _empty_tables() -> None:
    tables = [m._meta.db_table for m in (PatternMonth, PatternCloseDays, PatternWeek)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE refuses a table with foreign-key checks still pending (rows added earlier in a caller's
            # transaction): run them now, then defer again as Django's constraints are.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def _first_after(mark: int, bound: int) -> int:
    """The id of the first event after `mark` and at most `bound`, or `bound` + 1 when there is none. Every id up to
    `bound` is committed or rolled back by now (_visible_bound waited for their transactions)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id) FROM {CaseEvent._meta.db_table} WHERE id > %s AND id <= %s", [mark, bound])
        found: int | None = cursor.fetchone()[0]
    return bound + 1 if found is None else found


def _chunk_end(*, mark: int, end: int, cutoff: datetime) -> Chunk | None:
    """The chunk after `mark`: it ends at `end`, or just before the first event stamped at or after `cutoff`
    (guard 2 of the module's docstring). {"after", "upto", "first_case", "last_case", "events"}, or None
    when it would be empty."""
    table = CaseEvent._meta.db_table
    at = connection.ops.adapt_datetimefield_value(cutoff)
    sql = f"""
        SELECT min(id) FILTER (WHERE at >= %s), count(*), min(case_id), max(case_id)
          FROM {table} WHERE id > %s AND id <= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, mark, end])
        young, events, first_case, last_case = cursor.fetchone()
        if young is not None:  # Rare: the run has caught up with the events of the last minute.
            end = young - 1
            cursor.execute(sql, [at, mark, end])
            _young, events, first_case, last_case = cursor.fetchone()
    if end <= mark:
        return None
    return {
        "after": mark,
        "upto": end,
        "first_case": first_case or 0,
        "last_case": last_case or 0,
        "events": events,
    }


def summarise(
    *,
    full: bool = False,
    progress: Callable[[float], None] | None = None,
    chunk_size: int | None = None,
    safety_lag: float | None = None,
) -> Summary:
    """Fold the events not yet in the summary tables into them (all events again with `full`), in chunks of
    `chunk_size` ids (PATTERNS_CHUNK_EVENTS), each its own transaction; `progress(fraction)` after each.
    Returns {"events", "chunks", "seconds", "last_event_id", "full"}. Safe to run twice, or at the same
    time, or again after being killed."""
    chunk_size = chunk_size or settings.PATTERNS_CHUNK_EVENTS
    safety_lag = settings.PATTERNS_SAFETY_LAG if safety_lag is None else safety_lag
    started = time.perf_counter()
    statements = fold_statements(connection.vendor)
    _state_ensure()
    first_mark = 0 if full else PatternState.objects.get(pk=STATE_ID).last_event_id
    bound = _visible_bound()
    events = chunks = 0
    reset = full
    mark = first_mark
    while True:
        with transaction.atomic():
            # The lock serialises runs: a second one waits here, then carries on from the moved mark.
            state = PatternState.objects.select_for_update().get(pk=STATE_ID)
            now = timezone.now()
            if reset:
                _empty_tables()
                state.last_event_id, state.full_at = 0, now
            mark = state.last_event_id
            chunk = None
            if mark < bound:
                # The chunk's ids start at the first event after the mark: a run of ids that hold no event (taken
                # by rolled-back transactions, or a database's sequence moved on) is crossed at once, not in
                # thousands of empty chunks.
                start = _first_after(mark, bound) - 1
                chunk = _chunk_end(
                    mark=mark, end=min(start + chunk_size, bound), cutoff=now - timedelta(seconds=safety_lag)
                )
            if chunk is not None:
                if chunk["events"]:  # Ids with no event (rolled back, or another table's) fold nothing.
                    with connection.cursor() as cursor:
                        for statement in statements:
                            cursor.execute(statement, chunk)
                state.last_event_id, state.updated_at = chunk["upto"], now
            if reset or chunk is not None:
                state.save(update_fields=["last_event_id", "updated_at", "full_at"])
            reset = False
        if chunk is None:
            break
        events += chunk["events"]
        chunks += 1
        mark = chunk["upto"]
        if progress is not None:
            progress(min(1.0, (mark - first_mark) / max(bound - first_mark, 1)))
    return {
        "events": events,
        "chunks": chunks,
        "seconds": round(time.perf_counter() - started, 3),
        "last_event_id": mark,
        "full": full,
    }
