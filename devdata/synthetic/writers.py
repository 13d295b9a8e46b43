"""Writing the drafted rows, fast: the tables written (TABLES), COPY, bulk_create, the writer threads, and a
first load's deferred indexes.

Fast. Rows are plain tuples (times as epoch seconds, event data as JSON text, most of it cached) written
per batch of cases, one transaction per batch, so that an interrupted run leaves whole cases only. On
PostgreSQL they go through psycopg's COPY with ids taken from the tables' own sequences in blocks (events
and case parties, which nothing points at, take theirs from the column default). Outside a transaction
the main thread drafts and formats batch k+1 while writer threads, each on its own connection, COPY and
commit batch k, so that PostgreSQL's side runs on the second core; a writer COPYs each table of its batch as
soon as the main thread has formatted it (_Stream), so that even a run of one batch writes while it formats.
The commits go in batch order, as a batch may point at rows of earlier ones (a recurrence's earlier case and party records). Elsewhere
(SQLite, or inside a caller's transaction) batches are written one after the other on the caller's
connection, with bulk_create on SQLite. A first load (a database without cases, from BULK_LOAD cases on)
takes the tables' plain indexes down and builds them at the end, two at a time, then ANALYZEs the tables:
keeping the indexes up row by row cost PostgreSQL half its time. A load killed before its end leaves them
down; the next run builds them first. The cyclic garbage collector rests during a run (run._run): the
drafts make millions of objects and no cycles. At a million cases on two cores, drafting is what takes the time.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction

from cases.models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    CaseRiskFactor,
    ComplianceCheck,
    ComplianceConflict,
    Deposit,
    Guarantor,
    Instalment,
    LadderMove,
    Party,
    Recurrence,
    ReferenceCounter,
    Reminder,
    Survey,
    Term,
    TieDeclaration,
)
from config import crypto
from deliberation.models import DialogueSession, Participant, SessionEvent

from .encoding import _DAYS, _EPOCH, _HMS, _HMS_COPY, DAY, cents_text, day_text

if TYPE_CHECKING:
    from .run import Run

# --- Ids -------------------------------------------------------------------------------------------------


class IdPool:
    """Ids for one table, taken in blocks from its sequence (PostgreSQL) or above its highest id (SQLite)."""

    def __init__(self, model: type[models.Model], block: int = 20_000):
        self.table = model._meta.db_table
        self.block = block
        self.values: Iterator[int] = iter(())
        self.sequence = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.table])
                self.sequence = cursor.fetchone()[0]

    def refresh(self) -> None:
        """Without a sequence, ids continue above the table's highest: call this holding the write lock."""
        if self.sequence is not None:
            return
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{self.table}"')
            highest = cursor.fetchone()[0]
            if connection.vendor == "sqlite":  # AUTOINCREMENT never reuses an id, even a deleted one.
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.table])
                row = cursor.fetchone()
                highest = max(highest, row[0] if row else 0)
        self.values = iter(range(highest + 1, highest + 1 + 10**12))

    def take(self) -> int:
        value = next(self.values, None)
        if value is None:
            self._allocate()
            value = next(self.values)
        return value

    def _allocate(self) -> None:
        # A block of nextval()s. Other sessions' inserts may take values in between: the block is a range
        # when it came back contiguous (nearly always), else the values themselves.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT MIN(v), MAX(v), COUNT(*), CASE WHEN MAX(v) - MIN(v) + 1 <> COUNT(*) THEN "
                "array_agg(v ORDER BY v) END FROM (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) s",
                [self.sequence, self.block],
            )
            low, high, _count, scattered = cursor.fetchone()
        self.values = iter(scattered or range(low, high + 1))


# --- Rows and where they go ----------------------------------------------------------------------------

INT, OPT_INT, KEY, TEXT, TS, DATE, JSON, AMOUNT, UUID, BOOL, CENTS, ENC, ENC_JSON = range(13)


@dataclass(frozen=True)
class Table:
    """A table the generator writes: its model and columns (attnames), each with how its value is held.

    INT an int, OPT_INT an int or None, KEY a string needing no escaping (a choice's value, a reference),
    TEXT any string, TS epoch seconds (UTC) or None, DATE days since the epoch or None, JSON JSON text,
    AMOUNT whole currency units or None, CENTS an amount in cents or None, UUID 32 hex digits, BOOL a bool.
    ENC any string and ENC_JSON JSON text, both written encrypted (config.crypto: the models' EncryptedTextField
    and EncryptedJSONField), as Fernet tokens that need no escaping.
    A table without `id` lets the database number its rows: nothing the generator writes points at them."""

    key: str
    model: type[models.Model]
    columns: tuple[tuple[str, int], ...]

    @property
    def has_id(self) -> bool:
        return self.columns[0][0] == "id"


TABLES = (
    Table("case", Case, (
        ("id", INT), ("reference", KEY), ("forum_id", INT), ("kind", KEY), ("title", TEXT), ("summary", ENC),
        ("dispute_type", KEY), ("risk_level", KEY), ("offence_class", KEY), ("state", KEY), ("rung_id", INT),
        ("version", INT), ("last_seq", INT), ("outcome", KEY), ("opened_at", TS), ("closed_at", TS),
        ("review_due", DATE), ("truce_expires", DATE), ("referral_source", KEY), ("fir_number", TEXT),
        ("opened_by_id", OPT_INT), ("monitor_id", OPT_INT),
    )),
    Table("party", Party, (
        ("id", INT), ("name", ENC), ("kind", KEY), ("pseudonym", KEY), ("forum_id", INT), ("name_key", KEY),
        ("gender", KEY),
    )),
    Table("case_party", CaseParty, (("case_id", INT), ("party_id", INT), ("role", KEY))),
    Table("agreement", Agreement, (
        ("id", INT), ("case_id", INT), ("status", KEY), ("revision", INT), ("recorded_at", TS),
        ("finalised_at", TS),
    )),
    Table("term", Term, (
        ("id", INT), ("agreement_id", INT), ("position", INT), ("kind", KEY), ("description", ENC),
        ("amount", AMOUNT), ("currency", KEY), ("due", DATE),
    )),
    Table("instalment", Instalment, (("term_id", INT), ("number", INT), ("due_on", DATE), ("amount", CENTS))),
    Table("check", ComplianceCheck, (
        ("id", INT), ("term_id", INT), ("case_id", INT), ("status", KEY), ("notes", ENC), ("observed_at", TS),
        ("recorded_at", TS), ("recorded_by_id", OPT_INT), ("idempotency_key", UUID), ("paid", CENTS),
    )),
    Table("conflict", ComplianceConflict, (
        ("later_id", INT), ("earlier_id", INT), ("case_id", INT), ("created_at", TS), ("reviewed_at", TS),
        ("reviewed_by_id", OPT_INT),
    )),
    Table("recurrence", Recurrence, (
        ("case_id", INT), ("earlier_id", INT), ("status", KEY), ("basis", KEY), ("created_at", TS),
        ("decided_at", TS), ("decided_by_id", OPT_INT),
    )),
    Table("survey", Survey, (
        ("case_id", INT), ("party_id", INT), ("satisfaction", INT), ("fairness", INT), ("felt_heard", BOOL),
        ("would_use_again", BOOL), ("recorded_at", TS), ("recorded_by_id", OPT_INT),
    )),
    Table("risk_factor", CaseRiskFactor, (("case_id", INT), ("factor", INT), ("tagged_at", TS), ("tagged_by_id", OPT_INT))),
    Table("guarantor", Guarantor, (
        ("id", INT), ("case_id", INT), ("name", ENC), ("stands_for", KEY), ("guarantees", ENC), ("status", KEY),
        ("recorded_by_id", OPT_INT), ("recorded_at", TS), ("called_at", TS), ("reason", TEXT),
    )),
    Table("deposit", Deposit, (
        ("id", INT), ("case_id", INT), ("kind", KEY), ("description", ENC), ("amount", AMOUNT), ("currency", KEY),
        ("held_by", ENC), ("deposited_by", KEY), ("received_at", DATE), ("status", KEY), ("settled_at", TS),
        ("reason", TEXT), ("recorded_by_id", OPT_INT), ("recorded_at", TS),
    )),
    Table("tie", TieDeclaration, (
        ("id", INT), ("case_id", INT), ("person_id", INT), ("party_id", INT), ("kind", KEY), ("note", ENC),
        ("status", KEY), ("declared_at", TS), ("declared_by_id", OPT_INT), ("recused_at", TS),
        ("recused_by_id", OPT_INT), ("first_accepted_by", ENC), ("first_accepted_at", TS),
        ("first_recorded_by_id", OPT_INT), ("second_accepted_by", ENC), ("second_accepted_at", TS),
        ("second_recorded_by_id", OPT_INT),
    )),
    Table("event", CaseEvent, (
        ("case_id", INT), ("seq", INT), ("kind", KEY), ("actor_id", OPT_INT), ("at", TS), ("data", JSON),
    )),
    Table("reminder", Reminder, (
        ("case_id", INT), ("kind", KEY), ("due_on", DATE), ("created_at", TS), ("resolved_at", TS),
    )),
    Table("session", DialogueSession, (
        ("id", INT), ("case_id", INT), ("facilitator_id", INT), ("status", KEY), ("scheduled_for", TS),
        ("started_at", TS), ("ended_at", TS), ("created_at", TS), ("floor_id", OPT_INT), ("floor_until", TS),
        ("floor_only", BOOL), ("priority_first", BOOL), ("turn_seconds", OPT_INT), ("last_seq", INT), ("side", KEY),
        ("joint_id", OPT_INT),
    )),
    Table("participant", Participant, (
        ("id", INT), ("session_id", INT), ("user_id", INT), ("role", KEY), ("display_name", ENC),
        ("priority", BOOL), ("connections", INT), ("hand_raised_at", TS), ("joined_at", TS), ("gender", KEY),
        ("side", KEY),
    )),
    Table("ladder_move", LadderMove, (
        ("case_id", INT), ("forum_id", INT), ("at", TS), ("up", BOOL), ("from_level", INT), ("to_level", INT),
        ("stay_bucket", OPT_INT), ("first_up", BOOL), ("came_down", BOOL),
    )),
    Table("session_event", SessionEvent, (
        ("session_id", INT), ("seq", INT), ("kind", KEY), ("actor_id", OPT_INT), ("client_id", KEY), ("data", ENC_JSON),
        ("at", TS),
    )),
)  # fmt: skip

TABLE_NAMES = [table.model._meta.db_table for table in TABLES]  # A list: psycopg passes it as an array.


def _copy_text(value: str) -> str:
    # COPY's text format gives backslash, tab, newline and carriage return a meaning; escape them.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


# A value's type is its column kind's (an int, a str, None…): Any, as the table's columns decide it.
_COPY_FORMAT: dict[int, Callable[[Any], str]] = {
    INT: str,
    OPT_INT: lambda v: "\\N" if v is None else str(v),
    KEY: lambda v: v,
    TEXT: _copy_text,
    TS: lambda v: "\\N" if v is None else f"{day_text(v // DAY)} {_HMS[v % DAY]}+00",
    DATE: lambda v: "\\N" if v is None else day_text(v),
    JSON: lambda v: v.replace("\\", "\\\\") if "\\" in v else v,  # JSON escapes every control character.
    AMOUNT: lambda v: "\\N" if v is None else str(v),
    UUID: lambda v: v,
    BOOL: lambda v: "t" if v else "f",
    CENTS: lambda v: "\\N" if v is None else cents_text(v),
    ENC: lambda v: _ENCRYPT[0](v),
    ENC_JSON: lambda v: _ENCRYPT[0](v),
}

# How ENC values are written in the current batch: encrypted (a token needs no escaping), or with
# SULH_ENCRYPTION=off as plain text, escaped. Set by copy_text, as the settings may change between runs.
_ENCRYPT: list[Callable[[str], str]] = [_copy_text]


def _encryptor() -> Callable[[str], str]:
    return crypto.encryptor() if crypto.enabled() else _copy_text


# How each kind of value is written into a line, as an expression on the row `r` (see _line_format).
_COPY_EXPRESSION = {
    INT: "{r[%d]}",
    KEY: "{r[%d]}",
    UUID: "{r[%d]}",
    OPT_INT: "{N if r[%d] is None else r[%d]}",
    AMOUNT: "{N if r[%d] is None else r[%d]}",
    TEXT: "{F[TEXT](r[%d])}",
    TS: "{N if r[%d] is None else D[r[%d] // DAY] + H[r[%d] % DAY]}",
    DATE: "{N if r[%d] is None else D[r[%d]]}",
    JSON: "{r[%d] if B not in r[%d] else r[%d].replace(B, BB)}",
    BOOL: "{'t' if r[%d] else 'f'}",
    CENTS: "{N if r[%d] is None else C(r[%d])}",
    ENC: "{E[0](r[%d])}",
    ENC_JSON: "{E[0](r[%d])}",
}
_LINE_FORMATS: dict[str, Callable[[tuple], str]] = {}


def _line_format(table: Table) -> Callable[[tuple], str]:
    """A function writing one row of the table as a line of COPY's text format: one f-string, put together
    from the columns' kinds once, so that a value costs no call of its own where it needs no conversion
    (it matters at tens of millions of values). The same as _COPY_FORMAT, column by column."""
    line = _LINE_FORMATS.get(table.key)
    if line is None:
        fields = [_COPY_EXPRESSION[kind].replace("%d", str(i)) for i, (_name, kind) in enumerate(table.columns)]
        source = 'lambda r: f"' + "\\t".join(fields) + '\\n"'
        scope = {"N": "\\N", "F": _COPY_FORMAT, "D": _DAYS, "H": _HMS_COPY, "C": cents_text, "DAY": DAY}
        scope.update({"TEXT": TEXT, "B": "\\", "BB": "\\\\", "E": _ENCRYPT})
        line = _LINE_FORMATS[table.key] = eval(source, scope)  # noqa: S307 (our own source, from the kinds above)
    return line


def copy_text(table: Table, rows: Sequence[tuple]) -> str:
    """The rows in COPY's text format. Formatting by hand is several times faster than psycopg adapting each
    value, which matters at millions of rows: ints and keys go in as they are, the rest as _COPY_FORMAT
    writes them."""
    _ENCRYPT[0] = _encryptor()
    return "".join(map(_line_format(table), rows))


def formatted(rows: dict[str, list[tuple]]) -> Iterator[tuple[Table, str]]:
    """A batch's tables with rows, in TABLES order, each with its rows in COPY's text format."""
    for table in TABLES:
        if rows[table.key]:
            yield table, copy_text(table, rows[table.key])


def copy_batch(texts: Iterable[tuple[Table, str]]) -> None:
    """COPY a batch's tables in the current transaction (PostgreSQL).

    A database superuser's batch skips the foreign-key checks, as pg_restore --disable-triggers does: the
    deferred checks of some twenty million rows took a third of the time at commit, and the rows point only
    at rows the generator wrote itself or read before it began (its tests check every foreign key). The
    setting is the transaction's and ends with it; nothing else is skipped (the tables' only other triggers
    refuse updates and deletes)."""
    skip = _may_skip_checks()
    if skip:
        _set_local("session_replication_role", "replica")
    for table, text in texts:
        copy_in(table, text)
    if skip:
        _set_local("session_replication_role", "origin")  # A failed COPY rolls the setting back with it.


def _set_local(name: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _may_skip_checks() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        return cursor.fetchone()[0]


def copy_in(table: Table, text: str) -> None:
    """COPY the text into the table on the current thread's connection (PostgreSQL)."""
    columns = ", ".join(f'"{name}"' for name, _kind in table.columns)
    sql = f'COPY "{table.model._meta.db_table}" ({columns}) FROM STDIN'
    # Django wraps execute() only; this makes a failed COPY raise django.db.IntegrityError and the like too.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(text)


# --- A first load: the plain indexes built once, at the end ---------------------------------------------

BULK_LOAD = 20_000  # From this many cases into a database without any, the plain indexes wait for the end.
_BULK_LOCK = 0x53554C48_01  # pg_advisory_lock key: one run at a time takes the indexes down or puts them back.
_INDEX_NAME = re.compile(r'^CREATE INDEX "([^"]+)" ON ')
_INDEX_TABLE = re.compile(r' ON "([^"]+)"')


def deferrable_indexes() -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the plain (not unique) indexes the models declare on the tables the
    generator writes, as the migrations create them (PostgreSQL). Unique indexes and keys stay: they guard
    the data, and sequential keys cost little to keep up."""
    editor = connection.schema_editor()
    found = []
    for table in TABLES:
        # What CreateModel/AddIndex would run: a private method of Django's schema editor, not in its stubs.
        for statement in editor._model_indexes_sql(table.model):  # type: ignore[attr-defined]
            sql = str(statement)
            if match := _INDEX_NAME.match(sql):
                found.append((match[1], sql))
    return found


def _index_table(sql: str) -> str:
    match = _INDEX_TABLE.search(sql)
    assert match is not None  # deferrable_indexes gives CREATE INDEX … ON "table" statements only.
    return match[1]


def _missing(names: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM unnest(%s::text[]) n WHERE to_regclass(quote_ident(n)) IS NULL", [names])
        return {row[0] for row in cursor.fetchall()}


def indexes_restore(*, workers: int = 2) -> list[str]:
    """Build the deferrable indexes that are missing (after a first load, or one killed before its end), the
    largest tables' first, on `workers` connections side by side (PostgreSQL). The names built."""
    statements = deferrable_indexes()
    missing = _missing([name for name, _sql in statements])
    todo = [(name, sql) for name, sql in statements if name in missing]
    if not todo:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [TABLE_NAMES])
        rows = dict(cursor.fetchall())
    work: queue.SimpleQueue = queue.SimpleQueue()
    for item in sorted(todo, key=lambda item: -rows.get(_index_table(item[1]), 0)):
        work.put(item)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
                while not errors:
                    try:
                        _name, sql = work.get_nowait()
                    except queue.Empty:
                        return
                    cursor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        except BaseException as error:  # Raised on the caller's thread.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=build, name=f"synthetic-index-{i}") for i in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [name for name, _sql in todo]


def tables_analyse() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(f'"{name}"' for name in TABLE_NAMES))


def indexes_drop() -> None:
    """Take the deferrable indexes down, for a first load (PostgreSQL): all of them, or none."""
    with transaction.atomic(), connection.cursor() as cursor:
        for name, _sql in deferrable_indexes():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


_ORM_VALUE: dict[int, Callable[[Any], object]] = {
    TS: lambda v: None if v is None else datetime.fromtimestamp(v, tz=UTC),
    DATE: lambda v: None if v is None else _EPOCH + timedelta(days=v),
    AMOUNT: lambda v: None if v is None else Decimal(v),
    CENTS: lambda v: None if v is None else Decimal(cents_text(v)),
    UUID: lambda v: uuid.UUID(v),
    JSON: json.loads,
    ENC_JSON: json.loads,  # The model's field encrypts.
}


def bulk_in(table: Table, rows: Sequence[tuple]) -> None:
    """bulk_create the rows, their values converted to what the model's fields take (databases without COPY)."""
    names = [name for name, _kind in table.columns]
    converters = [_ORM_VALUE.get(kind, lambda v: v) for _name, kind in table.columns]
    table.model._default_manager.bulk_create(  # The models' only manager, `objects`.
        (table.model(**{n: c(v) for n, c, v in zip(names, converters, row, strict=True)}) for row in rows),
        batch_size=500,
    )


# --- Writing batches -------------------------------------------------------------------------------------


class _Stopped(Exception):
    """An earlier batch failed: this one is rolled back rather than committed after it."""


class _Abandoned(Exception):
    """The main thread failed while formatting this batch: it is rolled back."""


class _Stream:
    """A batch's tables as the main thread formats them, one after the other, to a writer that COPYs each as it
    comes: PostgreSQL writes a table while the next is formatted, all in the batch's one transaction."""

    _END = object()
    _ABANDON = object()

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def put(self, table: Table, text: str) -> None:
        self.queue.put((table, text))

    def end(self) -> None:
        self.queue.put(self._END)

    def abandon(self) -> None:
        self.queue.put(self._ABANDON)

    def __iter__(self) -> Iterator[tuple[Table, str]]:
        while (item := self.queue.get()) is not self._END:
            if item is self._ABANDON:
                raise _Abandoned()
            yield item


class _Writers:
    """Threads that COPY formatted batches and commit them, each on its own database connection.

    The COPYs run side by side; the commits go in batch order, because a batch may point at rows of the
    batches before it (a recurrence's earlier case, the party records it names again), and the foreign keys
    are checked at commit. (The batches' running totals of the escalation statistics share rows, so their
    commits were one after the other anyway.)"""

    def __init__(self, count: int, on_commit: Callable[[int, int], None]):
        self.on_commit = on_commit
        self.queue: queue.Queue = queue.Queue(maxsize=count)
        self.error: BaseException | None = None
        self.stopping = False
        self.turn = 0  # The batch whose commit is next.
        self.finished: set[int] = set()
        self.turns = threading.Condition()
        self.threads = [threading.Thread(target=self._work, name=f"synthetic-writer-{i}") for i in range(count)]
        for thread in self.threads:
            thread.start()

    def _await_turn(self, number: int) -> None:
        with self.turns:
            while self.turn != number:
                if self.error is not None:
                    raise _Stopped()
                self.turns.wait(0.5)
            if self.error is not None:
                raise _Stopped()

    def _finish(self, number: int) -> None:
        with self.turns:
            self.finished.add(number)
            while self.turn in self.finished:
                self.finished.discard(self.turn)
                self.turn += 1
            self.turns.notify_all()

    def _work(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                number, texts, cases, events, ladder = item  # texts: a _Stream, read as it is written
                try:
                    if self.error is not None or self.stopping:
                        for _table in texts:  # Drain without writing (until the main thread ends or abandons it).
                            pass
                        continue
                    with transaction.atomic():
                        copy_batch(texts)
                        # Before the running totals: their rows would make a later batch wait on this one.
                        self._await_turn(number)
                        ladder.write()
                    self.on_commit(cases, events)
                except (_Stopped, _Abandoned):
                    pass
                except BaseException as error:  # Handed to the main thread, which raises it.
                    self.error = self.error or error
                finally:
                    self._finish(number)
        finally:
            connection.close()

    def put(self, item) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self, *, stop: bool = False) -> None:
        self.stopping = stop
        for _thread in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None and not stop:
            raise self.error


def _owns_tables() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
            [TABLE_NAMES],
        )
        return bool(cursor.fetchone()[0])


def _bulk_lock(take: bool) -> bool:
    """Take (without waiting) or give back the lock under which a run takes the indexes down or puts them
    back, held by the caller's connection for the whole run. A run that cannot take it leaves them be."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {'pg_try_advisory_lock' if take else 'pg_advisory_unlock'}(%s)", [_BULK_LOCK])
        return cursor.fetchone()[0]


def write_batches(run: Run, *, cases: int, batch: int, writers: int, committed: Callable[[int, int], None]) -> None:
    postgres = connection.vendor == "postgresql"
    if postgres and not connection.in_atomic_block:
        pool = _Writers(writers, committed)
        stream: _Stream | None = None
        try:
            for first in range(0, cases, batch):
                for index in range(first, min(first + batch, cases)):
                    run.case(index)
                rows, batch_cases, batch_events = run.finish_batch()
                stream = _Stream()
                pool.put((first // batch, stream, batch_cases, batch_events, run.ladder))
                for table, text in formatted(rows):
                    stream.put(table, text)
                stream.end()
                stream = None
        except BaseException:
            if stream is not None:
                stream.abandon()
            pool.close(stop=True)
            raise
        pool.close()
    else:
        for first in range(0, cases, batch):
            with transaction.atomic():
                if not postgres:
                    # Take SQLite's write lock before reading the highest ids, so that no other writer
                    # takes the same ones before this batch commits.
                    ReferenceCounter.objects.filter(pk__lt=0).update(last_number=0)
                    for pool_ in run.ids.values():
                        pool_.refresh()
                for index in range(first, min(first + batch, cases)):
                    run.case(index)
                rows, batch_cases, batch_events = run.finish_batch()
                if postgres:
                    copy_batch(formatted(rows))
                else:
                    for table in TABLES:
                        if rows[table.key]:
                            bulk_in(table, rows[table.key])
                run.ladder.write()
            committed(batch_cases, batch_events)
