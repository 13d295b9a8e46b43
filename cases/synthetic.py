"""Synthetic cases with whole, valid histories: the engine behind `manage.py generate_synthetic`.

Valid. Every history is one the services could have written: a case opens in `intake` at the base of its
forum's ladder and moves only along the transitions its forum kind's workflow declares (cases.workflows),
with the guards honoured: an agreement with terms before the agreement state, `agreement_finalised` on
leaving it forward, compliance checks only on a final agreement, `resolved` only when every term's latest
check is met, a non-compoundable offence only referred or withdrawn. `seq` runs 1, 2, 3 … per case,
`version` is 1 + the number of state changes, `last_seq` the last event's seq, and event times never
decrease and never pass the run's end. `CaseDraft.move` checks the guards again as it goes, so a bug here
stops the run instead of writing a history the services would refuse. Event data has the shapes the
services write (`opened`, `transitioned`, `agreement_recorded`, `agreement_finalised`, `compliance_checked`,
`breach_recorded`, `prohibited_term_blocked`, `escalated`, `de_escalated`, `session_started`, `session_ended`),
a breach leaves the "consider stepping up" reminder services.compliance_record leaves, moves along the
ladder follow services.case_escalate's rules with their review dates and reminders, and a dialogue session
is numbered, started and ended as deliberation.services does it.

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

Fast. Rows are plain tuples (times as epoch seconds, event data as JSON text, most of it cached) written
per batch of cases, one transaction per batch, so that an interrupted run leaves whole cases only. On
PostgreSQL they go through psycopg's COPY with ids taken from the tables' own sequences in blocks (events
and case parties, which nothing points at, take theirs from the column default). Outside a transaction
the main thread drafts and formats batch k+1 while writer threads, each on its own connection, COPY and
commit batch k: PostgreSQL's side (index upkeep, and the deferred foreign-key checks at commit, about
40 % of it) is the larger half, and this way it runs on the second core. Elsewhere (SQLite, or inside a
caller's transaction) batches are written one after the other on the caller's connection, with
bulk_create on SQLite.

Extending. A case's history is written by HISTORY_STEPS, in order: functions `step(draft, run)` that add
events (`draft.event`, `draft.move`) and rows (`run.add_row`), with a Table in TABLES for each table written.
Each batch's cases are added to the escalation statistics' running totals in the batch's own transaction.
"""

from __future__ import annotations

import bisect
import json
import queue
import random
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from deliberation.models import DialogueSession, Participant, SessionEvent

from . import ladder_stats, services, workflows
from .models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    ComplianceCheck,
    Membership,
    Party,
    ProhibitedPractice,
    ReferenceCounter,
    Reminder,
    Rung,
    Term,
)

YEARS = 3
DAY = 86400

# --- What cases are made of (synthetic_vocabulary.toml) ------------------------------------------------

VOCABULARY = tomllib.loads((Path(__file__).parent / "synthetic_vocabulary.toml").read_text(encoding="utf-8"))
KINDS = ("jirga", "muslahathi", "sulha")


class Weighted:
    """A weighted choice that costs one random() and a bisect (random.choices rebuilds its table each call)."""

    def __init__(self, pairs: Iterable[tuple[object, float]]):
        pairs = [(value, weight) for value, weight in pairs if weight > 0]
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(accumulate(weight for _value, weight in pairs))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]


def _one(rng: random.Random, options: Sequence):
    """rng.choice, three times cheaper (it matters a million times over)."""
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """rng.randint, three times cheaper."""
    return low + int(rng.random() * (high - low + 1))


def _by_column(table: dict[str, list], columns: Sequence[str]) -> dict[str, Weighted]:
    """{"land": [22, 14, 10], …} read as one weighted choice per column (e.g. per forum kind)."""
    return {column: Weighted((key, weights[i]) for key, weights in table.items()) for i, column in enumerate(columns)}


def _by_row(table: dict[str, list], columns: Sequence[str]) -> dict[str, Weighted]:
    """{"land": [92, 8, 0], …} read as one weighted choice over `columns` per row."""
    return {key: Weighted(zip(columns, weights, strict=True)) for key, weights in table.items()}


DISPUTES = _by_column(VOCABULARY["disputes"], KINDS)
OFFENCE = _by_row(VOCABULARY["offence"], ("civil", "compoundable", "non_compoundable"))
VIOLENT = frozenset(VOCABULARY["risk"]["violent_disputes"])
RISK = {
    violent: Weighted(zip(("low", "medium", "high", "imminent"), VOCABULARY["risk"][key], strict=True))
    for violent, key in ((True, "violent"), (False, "other"))
}
REFERRAL = {
    kind: Weighted(((source, fir), weight) for source, weight, fir in sources)
    for kind, sources in VOCABULARY["referral"].items()
}
TITLES = {key: tuple(titles) for key, titles in VOCABULARY["titles"].items()}
SUMMARIES = tuple(VOCABULARY["summaries"]["texts"])
TERM_KINDS = {dispute: Weighted(kinds.items()) for dispute, kinds in VOCABULARY["term_kinds"].items()}
TERM_TEXTS = {kind: tuple(texts) for kind, texts in VOCABULARY["term_texts"].items()}
AMOUNTS = VOCABULARY["amounts"]
PROHIBITED_ATTEMPT = VOCABULARY["prohibited"]["attempt"]
CHECKS = {
    going_well: Weighted(zip(("met", "partly_met", "not_met", "breached"), VOCABULARY["checks"][key], strict=True))
    for going_well, key in ((True, "well"), (False, "badly"))
}
CHECK_NOTES = {status: tuple(notes) for status, notes in VOCABULARY["check_notes"].items()}
SESSIONS = VOCABULARY["sessions"]
UTTERANCES = tuple(SESSIONS["utterances"])
LADDER = VOCABULARY["ladder"]
LADDER_REASONS = {key: tuple(value) for key, value in LADDER["reasons"].items()}
DWELL = VOCABULARY["dwell"]
EXITS = VOCABULARY["exits"]
REASONS = {key: tuple(value) for key, value in VOCABULARY["reasons"].items() if key != "back"}
BACK_REASONS = {tuple(key.split(" > ")): tuple(value) for key, value in VOCABULARY["reasons"]["back"].items()}
CHECK_DAYS = (90, 180, 365)  # Monitors check the terms at about 3, 6 and 12 months.
STALL = 0.04  # Chance that a case sits in a state far longer than usual.
MAX_BACK_MOVES = 2
GOING_WELL = 0.78  # Share of agreements the parties keep.
FACILITATORS_PER_FORUM = 2
MONITORS_PER_FORUM = 1


# --- The world: regions, forums and their staff ----------------------------------------------------------


@dataclass(frozen=True)
class ForumInfo:
    """What the generator needs of a forum, read once."""

    id: int
    kind: str
    prefix: str
    people: dict
    base_rung_id: int
    base_level: int
    rungs: tuple[tuple[int, int, str], ...]  # (level, id, code), base first, as far as facilitators may move.
    guests: tuple[int, ...]  # Accounts of invited party representatives and elders, reused across sessions.
    review_days: int
    facilitators: tuple[int, ...]
    monitors: tuple[int, ...]
    weight: int


def world_ensure() -> list[ForumInfo]:
    """The regions, forums (on the default ladder) and their synthetic staff. Idempotent, by code and name."""
    User = get_user_model()
    ladder = services.ladder_default()
    forums = []
    for entry in VOCABULARY["districts"]:
        (province_code, province_name), (district_code, district_name) = entry["province"], entry["district"]
        province = services.region_ensure(code=province_code, name=province_name)
        district = services.region_ensure(code=district_code, name=district_name, parent=province)
        for name, kind, weight in entry["forums"]:
            forum = services.forum_ensure(name=name, kind=kind, region=district, ladder=ladder)
            staff: dict[str, list[int]] = {}
            for role, count in (
                (Membership.Role.FACILITATOR, FACILITATORS_PER_FORUM),
                (Membership.Role.MONITOR, MONITORS_PER_FORUM),
            ):
                staff[role] = []
                for number in range(1, count + 1):
                    # Synthetic staff cannot log in: an unusable password, and a name that says what they are.
                    user, created = User.objects.get_or_create(
                        username=f"synthetic-{district_code}-{forum.kind}-{role}-{number}"
                    )
                    if created:
                        user.set_unusable_password()
                        user.save(update_fields=["password"])
                    services.membership_grant(user=user, forum=forum, role=role)
                    staff[role].append(user.pk)
            staff["guest"] = []
            for number in range(1, SESSIONS["guests_per_forum"] + 1):
                guest, created = User.objects.get_or_create(
                    username=f"synthetic-{district_code}-{forum.kind}-guest-{number}"
                )
                if created:
                    guest.set_unusable_password()
                    guest.save(update_fields=["password"])
                staff["guest"].append(guest.pk)
            rungs = []
            for rung in forum.ladder.rungs.order_by("level"):
                if rungs and rung.movable_by == Rung.MovableBy.ADMINISTRATOR:
                    break  # Synthetic staff are facilitators: they climb no higher than they may.
                rungs.append((rung.level, rung.pk, rung.code))
            forums.append(
                ForumInfo(
                    id=forum.pk,
                    kind=forum.kind,
                    prefix=services.REFERENCE_PREFIX[forum.kind],
                    people=VOCABULARY["people"][entry["people"]],
                    base_rung_id=rungs[0][1],
                    base_level=rungs[0][0],
                    rungs=tuple(rungs),
                    guests=tuple(staff["guest"]),
                    review_days=forum.ladder.review_days,
                    facilitators=tuple(staff[Membership.Role.FACILITATOR]),
                    monitors=tuple(staff[Membership.Role.MONITOR]),
                    weight=weight,
                )
            )
    return forums


@dataclass(frozen=True)
class Route:
    """A forum kind's workflow, read once into the lookups the walk makes at every step."""

    workflow: workflows.Workflow
    transitions: dict[tuple[str, str], workflows.Transition]
    forward: dict[str, str]
    back: dict[str, tuple[str, ...]]
    watch_state: str  # Monitoring / implementation: where compliance is checked before closing.

    @classmethod
    def of(cls, kind: str) -> Route:
        workflow = workflows.workflow_for(kind)
        transitions = {(t.source, t.target): t for ts in workflow.transitions.values() for t in ts}
        return cls(
            workflow=workflow,
            transitions=transitions,
            forward={t.source: t.target for t in transitions.values() if t.kind == "forward"},
            back={
                s: tuple(t.target for t in workflow.transitions_from(s) if t.kind == "back") for s in workflow.states
            },
            watch_state=workflow.states[-2],
        )


# --- Ids, references, pseudonyms -----------------------------------------------------------------------


class IdPool:
    """Ids for one table, taken in blocks from its sequence (PostgreSQL) or above its highest id (SQLite)."""

    def __init__(self, model: type[models.Model], block: int = 20_000):
        self.table = model._meta.db_table
        self.block = block
        self.values: Iterable[int] = iter(())
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


PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # As services._pseudonym: 32 signs, 5 bits each.
_PAIRS = [a + b for a in PSEUDONYM_ALPHABET for b in PSEUDONYM_ALPHABET]  # 10 bits per lookup.
_SPARES = 1 << 39


class Pseudonyms:
    """`P-` and 8 signs as services._pseudonym makes them, from a keyed permutation (a small Feistel network
    over 40 bits) of a counter: unique within the run by construction, and random-looking. A clash with a
    party already in the database takes a spare from the upper half, which the counter never reaches."""

    def __init__(self, rng: random.Random):
        self.keys = [rng.getrandbits(20) for _ in range(4)]
        self.count = 0
        self.spares = 0

    def _encode(self, n: int) -> str:
        left, right = n >> 20, n & 0xFFFFF
        for key in self.keys:
            left, right = right, left ^ ((((right * 0x9E3779B1) >> 11) ^ (right * 0x85EB + key)) & 0xFFFFF)
        v = (left << 20) | right
        return "P-" + _PAIRS[v >> 30] + _PAIRS[(v >> 20) & 1023] + _PAIRS[(v >> 10) & 1023] + _PAIRS[v & 1023]

    def next(self) -> str:
        self.count += 1
        return self._encode(self.count)

    def spare(self) -> str:
        self.spares += 1
        return self._encode(_SPARES + self.spares)


def _uuid4(rng: random.Random) -> str:
    value = rng.getrandbits(128)
    value = (value & ~(0xF << 76)) | (4 << 76)  # Version 4 …
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # … and the RFC 4122 variant, as uuid.uuid4().
    return f"{value:032x}"


# --- Times and event data --------------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_DAYS: dict[int, str] = {}


def day_text(day: int) -> str:
    """Days since the epoch as YYYY-MM-DD."""
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = (_EPOCH + timedelta(days=day)).isoformat()
    return text


def iso(t: int) -> str:
    """Epoch seconds as the services write a time into event data (isoformat of a whole second)."""
    return f"{day_text(t // DAY)}T{_HMS[t % DAY]}+00:00"


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def as_json(data: dict) -> str:
    return _encode_json(data)


@lru_cache(maxsize=65536)
def _transition_json(source: str, to: str, kind: str, reason: str, outcome: str, truce: int | None) -> str:
    # A few thousand distinct payloads over a million cases: encode each once.
    data = {"from": source, "to": to, "kind": kind}
    if reason:
        data["reason"] = reason
    if outcome:
        data["outcome"] = outcome
    if truce is not None:
        data["truce_expires"] = day_text(truce)
    return as_json(data)


@lru_cache(maxsize=4096)
def _opened_json(forum_kind: str, dispute_type: str, risk_level: str, offence_class: str, rung: int) -> str:
    return as_json({
        "forum_kind": forum_kind, "dispute_type": dispute_type, "risk_level": risk_level,
        "offence_class": offence_class, "rung": rung,
    })  # fmt: skip


# --- One case --------------------------------------------------------------------------------------------


class GenerationError(RuntimeError):
    """The generator tried to write a history the services would refuse: a bug here, never bad input."""


@dataclass(slots=True)
class TermDraft:
    id: int
    position: int
    kind: str
    description: str
    amount: int | None  # Whole currency units.
    currency: str
    due: int | None  # Days since the epoch.
    latest: str | None = None  # The status of its latest compliance check.

    def payload(self) -> dict:
        """As services._term_payload writes a term into `agreement_recorded`."""
        data = {"kind": self.kind, "description": self.description}
        if self.amount is not None:
            data["amount"] = f"{self.amount}.00"
            data["currency"] = self.currency
        if self.due is not None:
            data["due"] = day_text(self.due)
        return data


@dataclass(slots=True)
class AgreementDraft:
    id: int
    recorded_at: int
    terms: list[TermDraft]
    revision: int = 1
    finalised_at: int | None = None


@dataclass(slots=True)
class CaseDraft:
    """A case being written: the fields of its row, its events (time, kind, actor, JSON) and its agreement."""

    id: int
    index: int  # Its place in the run: 0, 1, 2 …
    forum: ForumInfo
    route: Route
    dispute_type: str
    risk_level: str
    offence_class: str
    title: str
    summary: str
    opened_at: int
    opened_by: int
    referral_source: str
    fir_number: str
    rung_id: int
    state: str = workflows.INTAKE
    version: int = 1
    outcome: str = ""
    closed_at: int | None = None
    truce_expires: int | None = None
    review_due: int | None = None
    reference: str = ""
    events: list[tuple[int, str, int | None, str]] = field(default_factory=list)
    agreement: AgreementDraft | None = None
    step_up_days: set[int] = field(default_factory=set)  # Days with a "consider stepping up" reminder.
    reminders: list[list] = field(default_factory=list)  # [kind, due_on, created_at, resolved_at]
    position: int = 0  # Its rung's place in forum.rungs.

    @property
    def ended(self) -> bool:
        return self.state in workflows.ENDED

    @property
    def last_at(self) -> int:
        return self.events[-1][0]

    def event(self, at: int, kind: str, actor: int | None, data: dict | str) -> None:
        """Append an event; `data` is a dict, or JSON text already."""
        self.events.append((at, kind, actor, data if isinstance(data, str) else as_json(data)))

    def move(
        self, at: int, to: str, *, actor: int, reason: str = "", outcome: str = "", truce_expires: int | None = None
    ) -> None:
        """A state change as services.case_transition makes it, its guards checked again."""
        source = self.state
        transition = self.route.transitions.get((source, to))
        if transition is None:
            raise GenerationError(f"{source} → {to} is not declared for {self.forum.kind}")
        guards = transition.guards
        agreement = self.agreement
        refused = (
            (workflows.OFFENCE_NOT_COMPOUNDABLE in guards and self.offence_class == "non_compoundable")
            or (workflows.REASON_REQUIRED in guards and not reason)
            or (workflows.AGREEMENT_MISSING in guards and (agreement is None or not agreement.terms))
            or (workflows.OUTCOME_REQUIRED in guards and outcome not in ("resolved", "partly_resolved", "breakdown"))
            or (
                workflows.COMPLIANCE_OPEN in guards
                and outcome == "resolved"
                and any(term.latest != "met" for term in agreement.terms)
            )
            or at < self.last_at
        )
        if refused:
            raise GenerationError(f"{source} → {to} at {at} breaks a guard of {self.forum.kind}: {self}")
        if source == self.route.workflow.agreement_state and transition.kind == "forward" and agreement is not None:
            agreement.finalised_at = at
            self.event(
                at, "agreement_finalised", actor, f'{{"agreement":{agreement.id},"revision":{agreement.revision}}}'
            )
        self.state = to
        self.version += 1
        if to in workflows.ENDED:
            self.closed_at = at
            self.outcome = outcome if to == workflows.CLOSED else to
        if to == "truce" and truce_expires is not None:
            self.truce_expires = truce_expires
        else:
            truce_expires = None
        json_text = _transition_json(
            source, to, transition.kind, reason, self.outcome if self.ended else "", truce_expires
        )
        self.events.append((at, "transitioned", actor, json_text))


# --- Rows and where they go ----------------------------------------------------------------------------

INT, OPT_INT, KEY, TEXT, TS, DATE, JSON, AMOUNT, UUID, BOOL = range(10)


@dataclass(frozen=True)
class Table:
    """A table the generator writes: its model and columns (attnames), each with how its value is held.

    INT an int, OPT_INT an int or None, KEY a string needing no escaping (a choice's value, a reference),
    TEXT any string, TS epoch seconds (UTC) or None, DATE days since the epoch or None, JSON JSON text,
    AMOUNT whole currency units or None, UUID 32 hex digits. A table without `id` lets the database number
    its rows: nothing points at them."""

    key: str
    model: type[models.Model]
    columns: tuple[tuple[str, int], ...]

    @property
    def has_id(self) -> bool:
        return self.columns[0][0] == "id"


TABLES = (
    Table("case", Case, (
        ("id", INT), ("reference", KEY), ("forum_id", INT), ("kind", KEY), ("title", TEXT), ("summary", TEXT),
        ("dispute_type", KEY), ("risk_level", KEY), ("offence_class", KEY), ("state", KEY), ("rung_id", INT),
        ("version", INT), ("last_seq", INT), ("outcome", KEY), ("opened_at", TS), ("closed_at", TS),
        ("review_due", DATE), ("truce_expires", DATE), ("referral_source", KEY), ("fir_number", TEXT),
        ("opened_by_id", OPT_INT),
    )),
    Table("party", Party, (("id", INT), ("name", TEXT), ("kind", KEY), ("pseudonym", KEY), ("forum_id", INT))),
    Table("case_party", CaseParty, (("case_id", INT), ("party_id", INT), ("role", KEY))),
    Table("agreement", Agreement, (
        ("id", INT), ("case_id", INT), ("status", KEY), ("revision", INT), ("recorded_at", TS),
        ("finalised_at", TS),
    )),
    Table("term", Term, (
        ("id", INT), ("agreement_id", INT), ("position", INT), ("kind", KEY), ("description", TEXT),
        ("amount", AMOUNT), ("currency", KEY), ("due", DATE),
    )),
    Table("check", ComplianceCheck, (
        ("id", INT), ("term_id", INT), ("case_id", INT), ("status", KEY), ("notes", TEXT), ("observed_at", TS),
        ("recorded_at", TS), ("recorded_by_id", OPT_INT), ("idempotency_key", UUID),
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
        ("floor_only", BOOL), ("priority_first", BOOL), ("turn_seconds", OPT_INT), ("last_seq", INT),
    )),
    Table("participant", Participant, (
        ("id", INT), ("session_id", INT), ("user_id", INT), ("role", KEY), ("display_name", TEXT),
        ("priority", BOOL), ("connections", INT), ("hand_raised_at", TS), ("joined_at", TS),
    )),
    Table("session_event", SessionEvent, (
        ("session_id", INT), ("seq", INT), ("kind", KEY), ("actor_id", OPT_INT), ("client_id", KEY), ("data", JSON),
        ("at", TS),
    )),
)  # fmt: skip


def _copy_text(value: str) -> str:
    # COPY's text format gives backslash, tab, newline and carriage return a meaning; escape them.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


_COPY_FORMAT: dict[int, Callable[[object], str]] = {
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
}


def copy_text(table: Table, rows: Sequence[tuple]) -> str:
    """The rows in COPY's text format. Formatting by hand is several times faster than psycopg adapting each
    value, which matters at millions of rows: ints and keys go in as they are, the rest through _COPY_FORMAT."""
    template = "\t".join(["%s"] * len(table.columns)) + "\n"
    convert = [(i, _COPY_FORMAT[kind]) for i, (_name, kind) in enumerate(table.columns) if kind not in (INT, KEY, UUID)]
    if not convert:
        return "".join([template % row for row in rows])
    lines = []
    for row in rows:
        values = list(row)
        for i, f in convert:
            values[i] = f(values[i])
        lines.append(template % tuple(values))
    return "".join(lines)


def copy_in(table: Table, text: str) -> None:
    """COPY the text into the table on the current thread's connection (PostgreSQL)."""
    columns = ", ".join(f'"{name}"' for name, _kind in table.columns)
    sql = f'COPY "{table.model._meta.db_table}" ({columns}) FROM STDIN'
    # Django wraps execute() only; this makes a failed COPY raise django.db.IntegrityError and the like too.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(text)


_ORM_VALUE: dict[int, Callable[[object], object]] = {
    TS: lambda v: None if v is None else datetime.fromtimestamp(v, tz=UTC),
    DATE: lambda v: None if v is None else _EPOCH + timedelta(days=v),
    AMOUNT: lambda v: None if v is None else Decimal(v),
    UUID: lambda v: uuid.UUID(v),
    JSON: json.loads,
}


def bulk_in(table: Table, rows: Sequence[tuple]) -> None:
    """bulk_create the rows, their values converted to what the model's fields take (databases without COPY)."""
    names = [name for name, _kind in table.columns]
    converters = [_ORM_VALUE.get(kind, lambda v: v) for _name, kind in table.columns]
    table.model.objects.bulk_create(
        (table.model(**{n: c(v) for n, c, v in zip(names, converters, row, strict=True)}) for row in rows),
        batch_size=500,
    )


# --- The run ---------------------------------------------------------------------------------------------


class Run:
    """The state of one run: the random stream, the world, the id pools and the current batch's rows."""

    GROWTH = 1.0  # The programme grows: twice as many cases a day at the end of the three years as at the start.

    def __init__(self, *, cases: int, seed: int, until: datetime, forums: list[ForumInfo], salt: int):
        self.rng = random.Random(f"sulh-synthetic:{seed}:{salt}")
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
        self.drafts: list[CaseDraft] = []

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
        dispute_type = DISPUTES[forum.kind](rng)
        referral_source, police = REFERRAL[forum.kind](rng)
        opened_at = self.opened_at(index)
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
        )
        for step in HISTORY_STEPS:
            step(draft, self)
        self.drafts.append(draft)
        return draft

    def finish_batch(self) -> tuple[dict[str, list[tuple]], int, int]:
        """Number the batch's cases, settle pseudonym clashes, and hand over its rows: (rows, cases, events)."""
        self._number()
        self._fix_pseudonyms()
        events = 0
        for draft in self.drafts:
            events += self._emit(draft)
        cases = len(self.drafts)
        rows, self.rows, self.drafts = self.rows, {table.key: [] for table in TABLES}, []
        return rows, cases, events

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
                    draft.reference = f"{prefix}-{year}-{counter.last_number:05d}"
                counter.save(update_fields=["last_number"])

    def _fix_pseudonyms(self) -> None:
        parties = self.rows["party"]
        position = {row[3]: i for i, row in enumerate(parties)}
        while position:
            taken = _existing_pseudonyms(list(position))
            replaced = {}
            for pseudonym in sorted(taken, key=position.__getitem__):  # In party order: deterministic.
                i = position[pseudonym]
                row = parties[i]
                parties[i] = (row[0], row[1], row[2], self.pseudonyms.spare(), row[4])
                replaced[parties[i][3]] = i
            position = replaced  # The spares are checked too.

    def _emit(self, draft: CaseDraft) -> int:
        events = draft.events
        events.sort(key=lambda event: event[0])  # Stable: events of the same moment keep their order.
        add_event = self.rows["event"].append
        case_id = draft.id
        for seq, (at, kind, actor, data) in enumerate(events, start=1):
            add_event((case_id, seq, kind, actor, at, data))
        self.rows["case"].append((
            case_id, draft.reference, draft.forum.id, draft.forum.kind, draft.title, draft.summary,
            draft.dispute_type, draft.risk_level, draft.offence_class, draft.state, draft.rung_id, draft.version,
            len(events), draft.outcome, draft.opened_at, draft.closed_at, draft.review_due, draft.truce_expires,
            draft.referral_source, draft.fir_number, draft.opened_by,
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
        return len(events)


def _existing_pseudonyms(candidates: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT pseudonym FROM "{Party._meta.db_table}" WHERE pseudonym = ANY(%s)', [candidates])
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(candidates), 500):
        found.update(
            Party.objects.filter(pseudonym__in=candidates[start : start + 500]).values_list("pseudonym", flat=True)
        )
    return found


def _practices() -> list[tuple[tuple[str, tuple[str, ...]], int]]:
    """The active prohibited practices (code, citations) an attempt may name, with their weights."""
    weights = VOCABULARY["prohibited"]["weights"]
    return [
        ((p.code, tuple(line.strip() for line in p.citations.splitlines() if line.strip())), weights.get(p.code, 1))
        for p in ProhibitedPractice.objects.filter(is_active=True).order_by("code")
    ]


# --- History steps ----------------------------------------------------------------------------------------


def _person(rng: random.Random, people: dict, *, woman: bool = False) -> str:
    given = _one(rng, people["women"] if woman else people["men"])
    father = _one(rng, people["men"])
    if people["patronymic"]:
        return f"{given} {'d/o' if woman else 's/o'} {father}"  # Daughter or son of, as on an FIR.
    return f"{given} {father.split()[0]} {_one(rng, people['families'])}"


def history_open(draft: CaseDraft, run: Run) -> None:
    """The parties and the `opened` event, as services.case_open writes them."""
    rng = run.rng
    forum = draft.forum
    people = forum.people
    dispute = draft.dispute_type
    families = people["families"]
    first = _one(rng, families)
    while (second := _one(rng, families)) == first:
        pass
    parties = []
    for role, family in (("first_party", first), ("second_party", second)):
        if dispute in ("tribal", "sectarian") and rng.random() < 0.6:
            parties.append((role, f"{family} {'elders' if dispute == 'tribal' else 'community'}", "group"))
        elif rng.random() < 0.75:
            parties.append((role, f"{family} family", "family"))
        else:
            parties.append((role, _person(rng, people), "person"))
    if dispute in ("injury", "killing", "honour", "theft", "police_conduct") and rng.random() < 0.6:
        victim = _person(rng, people, woman=dispute == "honour" and rng.random() < 0.6)
        parties.append(
            ("victim", f"Heirs of {victim}", "family") if dispute == "killing" else ("victim", victim, "person")
        )
    if rng.random() < (0.45 if forum.kind == "jirga" else 0.15):
        parties.append(("guarantor", _person(rng, people), "person"))
    if rng.random() < 0.2:
        parties.append(("representative", _person(rng, people), "person"))
    if rng.random() < 0.12:
        parties.append(("witness", _person(rng, people), "person"))
    for role, name, kind in parties:
        party_id = run.take_id("party")
        run.add_row("party", (party_id, name, kind, run.pseudonyms.next(), forum.id))
        run.add_row("case_party", (draft.id, party_id, role))
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
        amount = due = None
        if "{amount}" in text:
            low, high, step = AMOUNTS[currency][1 if diya else 0]
            amount = max(step, int(low * (high / low) ** rng.random() // step) * step)  # Log-uniform: mostly low.
            text = text.format(amount=f"{amount:,}", currency=currency)
            due = at // DAY + _one(rng, (30, 60, 90, 120, 180))
        currency_used = currency if amount is not None else ""
        terms.append(TermDraft(run.take_id("term"), position, kind, text, amount, currency_used, due))
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


def _check_round(rng: random.Random, run: Run, draft: CaseDraft, at: int, *, going_well: bool) -> int:
    """A monitor checks every term once, uploads arriving up to three days later; returns the last upload."""
    monitor = _one(rng, draft.forum.monitors)
    pick_status = CHECKS[going_well]
    checks = []
    for term in draft.agreement.terms:
        observed = at + int(rng.random() * 8 * 3600)
        delay = _between(rng, 0, 3 * DAY) if rng.random() < 0.4 else _between(rng, 60, 3600)
        checks.append((min(observed + delay, run.end), min(observed, run.end), term, pick_status(rng)))
    checks.sort(key=lambda check: check[0])  # Stored, and numbered, in the order they arrive.
    for recorded, observed, term, status in checks:
        check_id = run.take_id("check")
        term.latest = status
        notes = _one(rng, CHECK_NOTES[status])
        run.add_row("check", (check_id, term.id, draft.id, status, notes, observed, recorded, monitor, _uuid4(rng)))
        data = f'{{"check":{check_id},"term":{term.id},"status":"{status}","observed_at":"{iso(observed)}"}}'
        draft.event(recorded, "compliance_checked", monitor, data)
        if status == "breached":
            # A breach goes on the timeline and suggests (never forces) a step up the ladder: one reminder per
            # case and day observed, as services.compliance_record's get_or_create leaves it.
            draft.event(recorded, "breach_recorded", monitor, data)
            if observed // DAY not in draft.step_up_days:
                draft.step_up_days.add(observed // DAY)
                draft.reminders.append([Reminder.Kind.CONSIDER_STEP_UP.value, observed // DAY, recorded, None])
    return checks[-1][0]


def _close(rng: random.Random, run: Run, draft: CaseDraft, t: int, actor: int, *, going_well: bool) -> None:
    """In monitoring: checks at about 3, 6 and 12 months (as many as the stay allows, at least one), then the
    forum closes the case on what they found, or, now and then, refers it."""
    entered = draft.last_at
    marks = [days for days in CHECK_DAYS if entered + days * DAY < t] or [(t - entered) // DAY // 2]
    checked = entered
    for days in marks:
        checked = max(checked, entered + days * DAY + _between(rng, -5 * DAY, 5 * DAY))
        if checked > run.end:
            return
        checked = _check_round(rng, run, draft, checked, going_well=going_well)
    t = max(t, checked) + _between(rng, DAY, 10 * DAY)
    if t > run.end:
        return
    if rng.random() < 0.04:
        draft.move(t, workflows.REFERRED, actor=actor, reason=_one(rng, REASONS["referred"]))
        return
    latest = [term.latest for term in draft.agreement.terms]
    if all(status == "met" for status in latest):
        outcome = "resolved" if rng.random() < 0.93 else "partly_resolved"
    elif "breached" in latest:
        outcome = "breakdown" if rng.random() < 0.6 else "partly_resolved"
    else:
        outcome = "partly_resolved" if rng.random() < 0.75 else "breakdown"
    draft.move(t, workflows.CLOSED, actor=actor, reason=_one(rng, REASONS[outcome]), outcome=outcome)


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
        if t > run.end:
            return  # Still open at the end of the run.

        if draft.offence_class == "non_compoundable":
            # Only a court may decide it: back to the state, or the parties leave.
            if rng.random() < 0.92:
                draft.move(t, workflows.REFERRED, actor=actor, reason=_one(rng, REASONS["referred_non_compoundable"]))
            else:
                draft.move(t, workflows.WITHDRAWN, actor=actor, reason=_one(rng, REASONS["withdrawn"]))
            return
        if state == route.watch_state:
            _close(rng, run, draft, t, actor, going_well=going_well)
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


GUEST_NAMES = {
    "party": ("Representative of the first party", "Representative of the second party"),
    "elder": ("Elder of the village", "Elder of the neighbouring village"),
}


def history_session(draft: CaseDraft, run: Run) -> None:
    """A live dialogue session, as deliberation.services writes one: scheduled and started by a facilitator,
    attended by a monitor and two invited guests (a party's representative, and an elder or the other
    party's), lines said and hands raised and given the floor, then ended, everyone leaving; `session_started`
    and `session_ended` on the case's timeline."""
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

    def add(kind: str, actor: int | None, data: str) -> None:
        events.append((session_id, len(events) + 1, kind, actor, "", data, t))

    participants = []
    for user_id, role, name, priority in people:
        participant_id = run.take_id("participant")
        participants.append(participant_id)
        run.add_row("participant", (participant_id, session_id, user_id, role, name, priority, 0, None, t))
        add("joined", participant_id, as_json({"name": name, "role": role}))
        if role == "facilitator":
            add("started", participant_id, "{}")
        t += _between(rng, 5, 120)
    lead, speakers = participants[0], [participants[0], participants[2], participants[3]]
    for _ in range(_between(rng, *SESSIONS["lines"])):
        t += _between(rng, 20, 400)
        speaker = _one(rng, speakers)
        if speaker != lead and rng.random() < 0.3:
            add("hand_raised", speaker, "{}")
            t += _between(rng, 5, 60)
            add("floor_given", lead, f'{{"participant":{speaker}}}')
        add("said", speaker, as_json({"body": _one(rng, UTTERANCES)}))
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
        None, None, False, False, None, len(events),
    ))  # fmt: skip
    draft.event(start, "session_started", facilitator, f'{{"session":{session_id}}}')
    draft.event(ended, "session_ended", facilitator,
                f'{{"session":{session_id},"events":{len(events) - len(participants)},"accepted_proposals":0}}')  # fmt: skip


# The steps that write a case's history, in order. Add one by appending a function step(draft, run).
HISTORY_STEPS: list[Callable[[CaseDraft, Run], None]] = [
    history_open,
    history_workflow,
    history_session,
    history_ladder,
]


# --- Writing batches -------------------------------------------------------------------------------------


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    seconds: float = 0.0

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class _Writers:
    """Threads that COPY formatted batches and commit them, each on its own database connection."""

    def __init__(self, count: int, on_commit: Callable[[int, int], None]):
        self.on_commit = on_commit
        self.queue: queue.Queue = queue.Queue(maxsize=count)
        self.error: BaseException | None = None
        self.stopping = False
        self.threads = [threading.Thread(target=self._work, name=f"synthetic-writer-{i}") for i in range(count)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                if self.error is not None or self.stopping:
                    continue  # Drain without writing.
                texts, cases, events, case_ids = item
                try:
                    with transaction.atomic():
                        for table, text in texts:
                            copy_in(table, text)
                        ladder_stats.add_cases(case_ids=case_ids)
                    self.on_commit(cases, events)
                except BaseException as error:  # Handed to the main thread, which raises it.
                    self.error = self.error or error
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
) -> Report:
    """Add `cases` synthetic cases with their histories, one transaction per batch of `batch` cases.

    On PostgreSQL, outside a transaction, `writers` threads write batches while the next ones are drafted;
    otherwise batches are written in turn on the caller's connection."""
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

    with transaction.atomic():
        forums = world_ensure()
    run = Run(cases=cases, seed=seed, until=until, forums=forums, salt=Case.objects.count())
    postgres = connection.vendor == "postgresql"
    if postgres and not connection.in_atomic_block:
        pool = _Writers(writers, committed)
        try:
            for first in range(0, cases, batch):
                for index in range(first, min(first + batch, cases)):
                    run.case(index)
                rows, batch_cases, batch_events = run.finish_batch()
                texts = [(table, copy_text(table, rows[table.key])) for table in TABLES if rows[table.key]]
                pool.put((texts, batch_cases, batch_events, [row[0] for row in rows["case"]]))
        except BaseException:
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
                for table in TABLES:
                    if rows[table.key]:
                        if postgres:
                            copy_in(table, copy_text(table, rows[table.key]))
                        else:
                            bulk_in(table, rows[table.key])
                ladder_stats.add_cases(case_ids=[row[0] for row in rows["case"]])
            committed(batch_cases, batch_events)
    report.seconds = time.perf_counter() - started
    return report
