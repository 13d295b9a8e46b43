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
commit batch k, so that PostgreSQL's side runs on the second core. The commits go in batch order, as a
batch may point at rows of earlier ones (a recurrence's earlier case and party records). Elsewhere
(SQLite, or inside a caller's transaction) batches are written one after the other on the caller's
connection, with bulk_create on SQLite. A first load (a database without cases, from BULK_LOAD cases on)
takes the tables' plain indexes down and builds them at the end, two at a time, then ANALYZEs the tables:
keeping the indexes up row by row cost PostgreSQL half its time. A load killed before its end leaves them
down; the next run builds them first. The cyclic garbage collector rests during a run: the drafts make
millions of objects and no cycles. At a million cases on two cores, drafting is what takes the time.

Extending. A case's history is written by HISTORY_STEPS, in order: functions `step(draft, run)` that add
events (`draft.event`, `draft.move`) and rows (`run.add_row`), with a Table in TABLES for each table written.
Each batch's cases are added to the escalation statistics' running totals in the batch's own transaction.
"""

from __future__ import annotations

import bisect
import gc
import json
import queue
import random
import re
import threading
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache, partial
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
    CaseRiskFactor,
    ComplianceCheck,
    ComplianceConflict,
    Instalment,
    LadderMove,
    Membership,
    Party,
    ProhibitedPractice,
    Recurrence,
    ReferenceCounter,
    Reminder,
    Rung,
    Survey,
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
PAYMENT_NOTES = {status: tuple(notes) for status, notes in VOCABULARY["payment_notes"].items()}
INSTALMENTS = VOCABULARY["instalments"]
INSTALMENT_COUNT = Weighted(INSTALMENTS["counts"])
PAYMENTS = VOCABULARY["payments"]
PAYERS = {
    going_well: Weighted(zip(("on_time", "late", "stops"), PAYMENTS[key], strict=True))
    for going_well, key in ((True, "well"), (False, "badly"))
}
MONITORING = VOCABULARY["monitoring"]
RECURRENCE = VOCABULARY["recurrence"]
SURVEYS = VOCABULARY["surveys"]
SESSIONS = VOCABULARY["sessions"]
UTTERANCES = tuple(SESSIONS["utterances"])
LADDER = VOCABULARY["ladder"]
RISK_FACTORS = VOCABULARY["risk_factors"]
PICK_FACTOR = Weighted((int(factor), weight) for factor, weight in RISK_FACTORS["weights"].items())
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
MONITORS_PER_FORUM = 2  # Two, so that two monitors' checks of one term can cross (a compliance conflict).


# --- The world: regions, forums and their staff ----------------------------------------------------------


@dataclass(frozen=True)
class ForumInfo:
    """What the generator needs of a forum, read once."""

    id: int
    kind: str
    prefix: str
    region_id: int  # The district: recurrences are looked for within it.
    people: dict
    villages: tuple[str, ...]
    base_rung_id: int
    base_level: int
    rungs: tuple[tuple[int, int, str], ...]  # (level, id, code), base first, as far as facilitators may move.
    guests: tuple[int, ...]  # Accounts of invited party representatives and elders, reused across sessions.
    review_days: int
    facilitators: tuple[int, ...]
    monitors: tuple[int, ...]
    usernames: dict  # Of the monitors, as `monitor_assigned` names them.
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
            usernames = {}
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
                    usernames[user.pk] = user.get_username()
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
                    region_id=district.pk,
                    people=VOCABULARY["people"][entry["people"]],
                    villages=tuple(entry["villages"]),
                    base_rung_id=rungs[0][1],
                    base_level=rungs[0][0],
                    rungs=tuple(rungs),
                    guests=tuple(staff["guest"]),
                    review_days=forum.ladder.review_days,
                    facilitators=tuple(staff[Membership.Role.FACILITATOR]),
                    monitors=tuple(staff[Membership.Role.MONITOR]),
                    usernames={pk: usernames[pk] for pk in staff[Membership.Role.MONITOR]},
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


class _DayTexts(dict):
    """Days since the epoch as YYYY-MM-DD, each worked out once: _DAYS[day]."""

    def __missing__(self, day: int) -> str:
        text = self[day] = (_EPOCH + timedelta(days=day)).isoformat()
        return text


_DAYS = _DayTexts()
_HMS_COPY = [f" {hms}+00" for hms in _HMS]  # The time of day of a timestamp in COPY's text format.


def day_text(day: int) -> str:
    """Days since the epoch as YYYY-MM-DD."""
    return _DAYS[day]


def iso(t: int) -> str:
    """Epoch seconds as the services write a time into event data (isoformat of a whole second)."""
    return f"{_DAYS[t // DAY]}T{_HMS[t % DAY]}+00:00"


def _not_json(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


# Compact, UTF-8 kept: json.JSONEncoder(ensure_ascii=False, separators=(",", ":")), with its C encoder made once
# (JSONEncoder.encode makes one per call, which shows at millions of events).
if json.encoder.c_make_encoder is not None:
    _encode_json = json.encoder.c_make_encoder(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )

    def as_json(data: dict) -> str:
        return "".join(_encode_json(data, 0))

else:  # pragma: no cover (Pythons without json's C speedups)
    as_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


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


def cents_text(cents: int) -> str:
    """An amount in cents (paisa, fils, agorot) as str() of the Decimal the services hold: 1234.50."""
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=8192)
def monthly_days(first_day: int, count: int) -> tuple[int, ...]:
    """`count` monthly due dates from `first_day` (days since the epoch), as services.instalments_split
    steps them (services.month_later)."""
    first = _EPOCH + timedelta(days=first_day)
    return tuple((services.month_later(first, number) - _EPOCH).days for number in range(count))


def instalments_split(cents: int, count: int, first_day: int) -> list[tuple[int, int]]:
    """services.instalments_split in cents: [(due day, cents)], equal shares rounded down, the last taking
    the odd cents, so that they add up to the amount exactly."""
    share = cents // count
    days = monthly_days(first_day, count)
    return [(day, share) for day in days[:-1]] + [(days[-1], cents - share * (count - 1))]


@dataclass(slots=True)
class TermDraft:
    id: int
    position: int
    kind: str
    description: str
    amount: int | None  # Whole currency units.
    currency: str
    due: int | None  # Days since the epoch.
    instalments: list[tuple[int, int]] | None = None  # [(due day, cents)], a compensation term's schedule.
    latest: str | None = None  # The status of its latest compliance check (the latest observed).
    paid: int = 0  # Cents recorded as paid so far.

    def payload(self) -> dict:
        """As services._term_payload writes a term into `agreement_recorded`."""
        data = {"kind": self.kind, "description": self.description}
        if self.amount is not None:
            data["amount"] = f"{self.amount}.00"
            data["currency"] = self.currency
        if self.due is not None:
            data["due"] = day_text(self.due)
        if self.instalments:
            data["instalments"] = [{"due": day_text(day), "amount": cents_text(c)} for day, c in self.instalments]
        return data


@dataclass(slots=True, eq=False)
class CheckDraft:
    """A compliance check before it is numbered: checks are stored, and numbered, in the order they arrive."""

    term: TermDraft
    status: str
    observed: int
    recorded: int
    by: int
    notes: str
    paid: int | None = None  # Cents handed over on this visit (compensation terms only).
    id: int = 0


@dataclass(slots=True, eq=False)
class PartyRef:
    """A party record as later cases and events need it: reused by a recurrence, named in a survey's event."""

    id: int
    key: str  # name_key
    pseudonym: str


@dataclass(slots=True, eq=False)
class Known:
    """A case as services.recurrences_find sees it when a later case opens: its district, times, and first
    and second parties."""

    id: int
    region_id: int
    forum_id: int
    opened_at: int
    closed_at: int | None
    outcome: str
    dispute_type: str
    sides: tuple[tuple[PartyRef, ...], tuple[PartyRef, ...]]  # First parties, second parties.
    reference: str = ""


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
    # (time, kind, actor, data): data is JSON text, or a function returning it once references and
    # pseudonyms are settled (at the end of the batch).
    events: list[tuple[int, str, int | None, str | Callable[[], str]]] = field(default_factory=list)
    agreement: AgreementDraft | None = None
    parties: list[tuple[PartyRef, str]] = field(default_factory=list)  # (party, role)
    links: list[tuple[Known, str]] = field(default_factory=list)  # Earlier cases of the feud, and the basis.
    monitor: int | None = None
    watch_entered: int | None = None  # When it entered monitoring (implementation).
    known: Known | None = None
    step_up_days: set[int] = field(default_factory=set)  # Days with a "consider stepping up" reminder.
    reminders: list[list] = field(default_factory=list)  # [kind, due_on, created_at, resolved_at]
    position: int = 0  # Its rung's place in forum.rungs.
    earlier: Known | None = None  # The earlier case of the feud it continues, if it does.

    @property
    def ended(self) -> bool:
        return self.state in workflows.ENDED

    @property
    def last_at(self) -> int:
        return self.events[-1][0]

    def event(self, at: int, kind: str, actor: int | None, data: dict | str | Callable[[], str]) -> None:
        """Append an event; `data` is a dict, JSON text already, or a function returning the text later."""
        self.events.append((at, kind, actor, as_json(data) if isinstance(data, dict) else data))

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

INT, OPT_INT, KEY, TEXT, TS, DATE, JSON, AMOUNT, UUID, BOOL, CENTS = range(11)


@dataclass(frozen=True)
class Table:
    """A table the generator writes: its model and columns (attnames), each with how its value is held.

    INT an int, OPT_INT an int or None, KEY a string needing no escaping (a choice's value, a reference),
    TEXT any string, TS epoch seconds (UTC) or None, DATE days since the epoch or None, JSON JSON text,
    AMOUNT whole currency units or None, CENTS an amount in cents or None, UUID 32 hex digits, BOOL a bool.
    A table without `id` lets the database number its rows: nothing the generator writes points at them."""

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
        ("opened_by_id", OPT_INT), ("monitor_id", OPT_INT),
    )),
    Table("party", Party, (
        ("id", INT), ("name", TEXT), ("kind", KEY), ("pseudonym", KEY), ("forum_id", INT), ("name_key", TEXT),
    )),
    Table("case_party", CaseParty, (("case_id", INT), ("party_id", INT), ("role", KEY))),
    Table("agreement", Agreement, (
        ("id", INT), ("case_id", INT), ("status", KEY), ("revision", INT), ("recorded_at", TS),
        ("finalised_at", TS),
    )),
    Table("term", Term, (
        ("id", INT), ("agreement_id", INT), ("position", INT), ("kind", KEY), ("description", TEXT),
        ("amount", AMOUNT), ("currency", KEY), ("due", DATE),
    )),
    Table("instalment", Instalment, (("term_id", INT), ("number", INT), ("due_on", DATE), ("amount", CENTS))),
    Table("check", ComplianceCheck, (
        ("id", INT), ("term_id", INT), ("case_id", INT), ("status", KEY), ("notes", TEXT), ("observed_at", TS),
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
    Table("ladder_move", LadderMove, (
        ("case_id", INT), ("forum_id", INT), ("at", TS), ("up", BOOL), ("from_level", INT), ("to_level", INT),
        ("stay_bucket", OPT_INT), ("first_up", BOOL), ("came_down", BOOL),
    )),
    Table("session_event", SessionEvent, (
        ("session_id", INT), ("seq", INT), ("kind", KEY), ("actor_id", OPT_INT), ("client_id", KEY), ("data", JSON),
        ("at", TS),
    )),
)  # fmt: skip

TABLE_NAMES = [table.model._meta.db_table for table in TABLES]  # A list: psycopg passes it as an array.


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
    CENTS: lambda v: "\\N" if v is None else cents_text(v),
}


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
        scope.update({"TEXT": TEXT, "B": "\\", "BB": "\\\\"})
        line = _LINE_FORMATS[table.key] = eval(source, scope)  # noqa: S307 (our own source, from the kinds above)
    return line


def copy_text(table: Table, rows: Sequence[tuple]) -> str:
    """The rows in COPY's text format. Formatting by hand is several times faster than psycopg adapting each
    value, which matters at millions of rows: ints and keys go in as they are, the rest as _COPY_FORMAT
    writes them."""
    return "".join(map(_line_format(table), rows))


def copy_batch(texts: list[tuple[Table, str]]) -> None:
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
        for statement in editor._model_indexes_sql(table.model):  # What CreateModel/AddIndex would run.
            sql = str(statement)
            if match := _INDEX_NAME.match(sql):
                found.append((match[1], sql))
    return found


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
    for item in sorted(todo, key=lambda item: -rows.get(_INDEX_TABLE.search(item[1])[1], 0)):
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


_ORM_VALUE: dict[int, Callable[[object], object]] = {
    TS: lambda v: None if v is None else datetime.fromtimestamp(v, tz=UTC),
    DATE: lambda v: None if v is None else _EPOCH + timedelta(days=v),
    AMOUNT: lambda v: None if v is None else Decimal(v),
    CENTS: lambda v: None if v is None else Decimal(cents_text(v)),
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


# --- One feud, several cases ------------------------------------------------------------------------------

WINDOW = int(services.RECURRENCE_WINDOW.total_seconds())
FIRST, SECOND = CaseParty.Role.FIRST_PARTY.value, CaseParty.Role.SECOND_PARTY.value
RECURRENCE_WEIGHTS = RECURRENCE["weights"]
RECURRENCE_TOP = max(RECURRENCE_WEIGHTS.values())


class Register:
    """The cases a new case may be linked to, held in memory so that no opening queries the database: by
    district and party name key (what services.recurrences_find looks up), and by forum for the generator's
    own choice of a feud to continue. Cases come in the order they open, so a case that ended more than 24
    months before an opening can never be linked again: such cases are skipped, and swept out now and then."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[int, str], list[Known]] = {}
        # By district and two name keys, one of a first party and one of a second (in sorted order): the cases
        # a case of one first and one second party may be linked to by names, or by records (which bear them).
        self.by_pair: dict[tuple[int, str, str], list[Known]] = {}
        self.pools: dict[int, list[Known]] = {}  # By forum: the cases the generator may continue.
        self.cutoff = -(1 << 62)  # Cases ended before it are gone for good.
        self.size = 0
        self.swept = 0  # The size after the last sweep.

    def add(self, known: Known, *, pickable: bool) -> None:
        by_key = self.by_key
        for side in known.sides:
            for party in side:
                if party.key:
                    entries = by_key.get((known.region_id, party.key))
                    if entries is None:
                        by_key[known.region_id, party.key] = [known]
                    elif entries[-1] is not known:
                        entries.append(known)
        by_pair = self.by_pair
        for one in known.sides[0]:
            for other in known.sides[1]:
                if one.key and other.key:
                    pair = (known.region_id, one.key, other.key) if one.key <= other.key else (
                        known.region_id, other.key, one.key)  # fmt: skip
                    entries = by_pair.get(pair)
                    if entries is None:
                        by_pair[pair] = [known]
                    elif entries[-1] is not known:
                        entries.append(known)
        if pickable:
            pool = self.pools.get(known.forum_id)
            if pool is None:
                self.pools[known.forum_id] = [known]
            else:
                pool.append(known)
        self.size += 1

    def advance(self, opened_at: int) -> None:
        """The clock moves to the next opening. When the register has doubled since the last sweep, the cases
        ended more than 24 months before it are dropped (their memory too)."""
        self.cutoff = cutoff = opened_at - WINDOW
        if self.size > 2 * self.swept + 50_000:
            for table in (self.by_key, self.by_pair, self.pools):
                for key, entries in list(table.items()):
                    kept = [known for known in entries if known.closed_at is None or known.closed_at >= cutoff]
                    if kept:
                        table[key] = kept
                    else:
                        del table[key]
            self.size = self.swept = sum(len(pool) for pool in self.pools.values())

    def pick(self, rng: random.Random, forum_id: int, opened_at: int) -> Known | None:
        """An earlier case of the forum to continue, each as likely as the weight of how it stood when the new
        case opened: still open, or how it ended."""
        pool = self.pools.get(forum_id)
        cutoff = self.cutoff
        for _attempt in range(24):
            if not pool:
                return None
            i = int(rng.random() * len(pool))
            known = pool[i]
            closed = known.closed_at
            if closed is not None and closed < cutoff:  # Gone for good: drop it.
                pool[i] = pool[-1]
                pool.pop()
                continue
            standing = "open" if closed is None or closed > opened_at else known.outcome
            if known.opened_at < opened_at and rng.random() * RECURRENCE_TOP < RECURRENCE_WEIGHTS[standing]:
                return known
        return None

    def pair_matches(
        self, region_id: int, opened_at: int, first: PartyRef, second: PartyRef
    ) -> list[tuple[Known, str]]:
        """matches() for a case with one first and one second party (every case the generator opens), quicker:
        a link needs a match on each side, so only the cases holding both names, one on each side, are read."""
        by_key = self.by_key
        holding_first = by_key.get((region_id, first.key))
        if not holding_first:
            return []
        holding_second = by_key.get((region_id, second.key))
        if not holding_second:
            return []  # Most openings end here or above.
        if 2 * (len(holding_first) + len(holding_second)) > services.RECURRENCE_CANDIDATES:
            return self.matches(region_id, opened_at, [(first, FIRST), (second, SECOND)])
        a, b = first.key, second.key
        holding_both = self.by_pair.get((region_id, a, b) if a <= b else (region_id, b, a))
        if not holding_both:
            return []
        cutoff = opened_at - WINDOW
        links = []
        for known in holding_both:
            if (
                known.opened_at < opened_at
                and (known.closed_at is None or known.closed_at >= cutoff)
                and (basis := _pair_basis(first, second, known.sides))
            ):
                links.append((known, basis))
        if len(links) > 1:
            links.sort(key=lambda link: (-link[0].opened_at, link[0].id))
        return links

    def matches(self, region_id: int, opened_at: int, parties: list[tuple[PartyRef, str]]) -> list[tuple[Known, str]]:
        """What services.recurrences_find links a case opening now with these parties to, in its order: the
        district's earlier cases, still open or ended within 24 months, with a first party of one and a
        second party of the other on each side (either way round), the same records or the same names."""
        # A link needs a match on both sides (a record matches by its name too): a case holding a name of each.
        by_key = self.by_key
        held = [
            role for party, role in parties if (role == FIRST or role == SECOND) and (region_id, party.key) in by_key
        ]
        if FIRST not in held or SECOND not in held:
            return []  # Most openings.
        records: dict[str, set[int]] = {FIRST: set(), SECOND: set()}
        names: dict[str, set[str]] = {FIRST: set(), SECOND: set()}
        for party, role in parties:
            if role == FIRST or role == SECOND:
                records[role].add(party.id)
                if party.key:
                    names[role].add(party.key)
        holders = [
            {known.id: known for key in names[role] for known in by_key.get((region_id, key), ())}
            for role in (FIRST, SECOND)
        ]
        both = holders[0].keys() & holders[1].keys()
        if not both:
            return []
        cutoff = opened_at - WINDOW
        candidates = [
            known
            for known in (holders[0][i] for i in both)
            if known.opened_at < opened_at and (known.closed_at is None or known.closed_at >= cutoff)
        ]
        rows = sum(len(holder) for holder in holders)
        if rows * 2 > services.RECURRENCE_CANDIDATES:  # Only then may its limit on rows read leave some out.
            return self._matches_limited(region_id, opened_at, records, names)
        candidates.sort(key=lambda known: (-known.opened_at, known.id))
        return [(known, basis) for known in candidates if (basis := _basis(records, names, known.sides))]

    def _matches_limited(
        self, region_id: int, opened_at: int, records: dict[str, set[int]], names: dict[str, set[str]]
    ) -> list[tuple[Known, str]]:
        """recurrences_find row by row: the matching parties of the earlier cases, the latest cases first, as
        many rows as it reads."""
        keys = names[FIRST] | names[SECOND]
        ids = records[FIRST] | records[SECOND]
        cutoff = opened_at - WINDOW
        rows, seen = [], set()
        for key in sorted(keys):
            for known in self.by_key.get((region_id, key), ()):
                if known.opened_at >= opened_at or (known.closed_at is not None and known.closed_at < cutoff):
                    continue
                for role, side in zip((FIRST, SECOND), known.sides, strict=True):
                    for party in side:
                        row = (known.id, role, party.id)
                        if (party.key in keys or party.id in ids) and row not in seen:
                            seen.add(row)
                            rows.append((known, role, party))
        rows.sort(key=lambda row: (-row[0].opened_at, row[0].id, row[1], row[2].id))
        found: dict[int, tuple[Known, list, list]] = {}
        for known, role, party in rows[: services.RECURRENCE_CANDIDATES]:
            found.setdefault(known.id, (known, [], []))[1 if role == FIRST else 2].append(party)
        links = []
        for known, first, second in found.values():
            if basis := _basis(records, names, (tuple(first), tuple(second))):
                links.append((known, basis))
        return links

    def preload(self, start: int) -> None:
        """The database's cases that a case of this run could be linked to (a run adding to earlier ones)."""
        sides: dict[int, tuple[list, list]] = {}
        cases: dict[int, tuple] = {}
        for case_id, role, party_id, key, pseudonym, *case in preload_rows(start - WINDOW):
            sides.setdefault(case_id, ([], []))[role == SECOND].append(PartyRef(party_id, key, pseudonym))
            cases[case_id] = case
        for case_id, (region_id, forum_id, opened, closed, outcome, dispute_type, reference) in cases.items():
            first, second = sides[case_id]
            self.add(
                Known(case_id, region_id, forum_id, opened, closed, outcome, dispute_type, (tuple(first), tuple(second)),
                      reference),
                pickable=False,
            )  # fmt: skip


def preload_rows(cutoff: int) -> Iterable[tuple]:
    """The first and second parties of the cases still open or ended since `cutoff`, in case and party order:
    (case id, role, party id, name key, pseudonym, region, forum, opened, closed, outcome, dispute type,
    reference), times in epoch seconds. Through the ORM, or in plain SQL on PostgreSQL: the same rows,
    several times quicker at a million cases."""
    return (preload_rows_sql if connection.vendor == "postgresql" else preload_rows_orm)(cutoff)


def preload_rows_orm(cutoff: int) -> Iterable[tuple]:
    rows = (
        CaseParty.objects.filter(role__in=[FIRST, SECOND])
        .filter(models.Q(case__closed_at__isnull=True) | models.Q(case__closed_at__gte=_at(cutoff)))
        .order_by("case_id", "party_id", "role")
        .values_list(
            "case_id", "role", "party_id", "party__name_key", "party__pseudonym", "case__forum__region_id",
            "case__forum_id", "case__opened_at", "case__closed_at", "case__outcome", "case__dispute_type",
            "case__reference",
        )
    )  # fmt: skip
    for *head, opened, closed, outcome, dispute_type, reference in rows.iterator(chunk_size=20_000):
        yield (*head, int(opened.timestamp()), None if closed is None else int(closed.timestamp()), outcome,
               dispute_type, reference)  # fmt: skip


def preload_rows_sql(cutoff: int) -> Iterable[tuple]:
    with connection.chunked_cursor() as cursor:  # A server-side cursor: 20,000 rows in memory at a time.
        cursor.execute(
            "SELECT cp.case_id, cp.role, cp.party_id, p.name_key, p.pseudonym, f.region_id, c.forum_id, "
            "EXTRACT(EPOCH FROM c.opened_at)::bigint, EXTRACT(EPOCH FROM c.closed_at)::bigint, c.outcome, "
            "c.dispute_type, c.reference FROM cases_caseparty cp JOIN cases_case c ON c.id = cp.case_id "
            "JOIN cases_party p ON p.id = cp.party_id JOIN cases_forum f ON f.id = c.forum_id "
            "WHERE cp.role IN (%s, %s) AND (c.closed_at IS NULL OR c.closed_at >= %s) "
            "ORDER BY cp.case_id, cp.party_id, cp.role",
            [FIRST, SECOND, _at(cutoff)],
        )
        while rows := cursor.fetchmany(20_000):
            yield from rows


def _basis(
    records: dict[str, set[int]], names: dict[str, set[str]], sides: tuple[tuple[PartyRef, ...], tuple[PartyRef, ...]]
) -> str | None:
    """What recurrences_find matches a case's parties with an earlier case's on: a first party of one and a
    second party of the other on each side, either way round, by the records, else by the names."""
    their_records = [{party.id for party in side} for side in sides]
    their_names = [{party.key for party in side} for side in sides]
    for mine, theirs, basis in ((records, their_records, "party_record"), (names, their_names, "names")):
        if (mine[FIRST] & theirs[0] and mine[SECOND] & theirs[1]) or (
            mine[FIRST] & theirs[1] and mine[SECOND] & theirs[0]
        ):
            return basis
    return None


def _pair_basis(
    first: PartyRef, second: PartyRef, sides: tuple[tuple[PartyRef, ...], tuple[PartyRef, ...]]
) -> str | None:
    """_basis() for a case with one first and one second party."""
    theirs_first, theirs_second = sides
    if (any(p.id == first.id for p in theirs_first) and any(p.id == second.id for p in theirs_second)) or (
        any(p.id == first.id for p in theirs_second) and any(p.id == second.id for p in theirs_first)
    ):
        return "party_record"
    if (any(p.key == first.key for p in theirs_first) and any(p.key == second.key for p in theirs_second)) or (
        any(p.key == first.key for p in theirs_second) and any(p.key == second.key for p in theirs_first)
    ):
        return "names"
    return None


def _at(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


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
        """Number the batch's cases, settle pseudonym clashes, and hand over its rows: (rows, cases, events).
        The batch's escalation totals are then in `ladder`, until the next batch."""
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
                parties[i] = (row[0], row[1], row[2], self.pseudonyms.spare(), row[4], row[5])
                self.party_refs[i].pseudonym = parties[i][3]  # Surveys' events name it when written.
                replaced[parties[i][3]] = i
            position = replaced  # The spares are checked too.

    def _emit(self, draft: CaseDraft) -> int:
        events = draft.events
        events.sort(key=lambda event: event[0])  # Stable: events of the same moment keep their order.
        add_event = self.rows["event"].append
        case_id = draft.id
        for seq, (at, kind, actor, data) in enumerate(events, start=1):
            add_event((case_id, seq, kind, actor, at, data if data.__class__ is str else data()))
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
            data = json.loads(data if data.__class__ is str else data())
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


# --- History steps ----------------------------------------------------------------------------------------


@cache
def _part_key(part: str) -> str:
    key = services.party_name_key(part)
    if not key:  # A part of signs only would leave two spaces where normalise() leaves one.
        raise GenerationError(f"{part!r} has no letters: it cannot be a part of a name")
    return key


# A name's key (services.party_name_key) is made from its parts' keys: normalise() works letter by letter and
# makes every run of other signs one space, so the key of "Afridi family of Gul Zaman, Badaber" is the keys of
# "Afridi", "family of", "Gul Zaman" and "Badaber" joined by spaces. Each part (a vocabulary word) is normalised
# once, not each of the hundreds of thousands of names they make (some 15 µs each). The tests check every
# party's key against the service's.


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


def _side(rng: random.Random, forum: ForumInfo, dispute: str, family: str) -> tuple[str, str, str]:
    """(name, key, kind) of a first or second party: a family, known by its head and village, a group of a
    tribe or community, or a person."""
    key = _part_key
    if dispute in ("tribal", "sectarian") and rng.random() < 0.6:
        village = _one(rng, forum.villages)
        group = "elders of" if dispute == "tribal" else "community of"
        return f"{family} {group} {village}", f"{key(family)} {key(group)} {key(village)}"[:200], "group"
    if rng.random() < 0.75:
        head, village = _one(rng, forum.people["men"]), _one(rng, forum.villages)
        name_key_ = f"{key(family)} {key('family of')} {key(head)} {key(village)}"[:200]
        return f"{family} family of {head}, {village}", name_key_, "family"
    return (*_person(rng, forum, village=True), "person")


def history_open(draft: CaseDraft, run: Run) -> None:
    """The parties and the `opened` event, as services.case_open writes them, and the recurrences it links:
    a case continuing an earlier feud names that case's first and second party records again (now and then
    the other way round), and every earlier case of the district recurrences_find would match is linked."""
    rng = run.rng
    forum = draft.forum
    people = forum.people
    dispute = draft.dispute_type
    # (a known record or None, role, name, key, kind)
    parties: list[tuple[PartyRef | None, str, str, str, str]] = []
    earlier = draft.earlier
    if earlier is not None:
        first, second = earlier.sides[0][0], earlier.sides[1][0]
        if rng.random() < RECURRENCE["swapped"]:
            first, second = second, first
        parties += [(first, FIRST, "", "", ""), (second, SECOND, "", "", "")]
    else:
        families = people["families"]
        first = _one(rng, families)
        while (second := _one(rng, families)) == first:
            pass
        for role, family in ((FIRST, first), (SECOND, second)):
            parties.append((None, role, *_side(rng, forum, dispute, family)))
    if dispute in ("injury", "killing", "honour", "theft", "police_conduct") and rng.random() < 0.6:
        victim, key = _person(rng, forum, woman=dispute == "honour" and rng.random() < 0.6)
        if dispute == "killing":
            parties.append((None, "victim", f"Heirs of {victim}", f"{_part_key('Heirs of')} {key}"[:200], "family"))
        else:
            parties.append((None, "victim", victim, key, "person"))
    if rng.random() < (0.45 if forum.kind == "jirga" else 0.15):
        parties.append((None, "guarantor", *_person(rng, forum), "person"))
    if rng.random() < 0.2:
        parties.append((None, "representative", *_person(rng, forum), "person"))
    if rng.random() < 0.12:
        parties.append((None, "witness", *_person(rng, forum), "person"))
    for ref, role, name, key, kind in parties:
        if ref is None:
            ref = PartyRef(run.take_id("party"), key, run.pseudonyms.next())
            run.add_row("party", (ref.id, name, kind, ref.pseudonym, forum.id, key))
            run.party_refs.append(ref)
        run.add_row("case_party", (draft.id, ref.id, role))
        draft.parties.append((ref, role))
    opened = _opened_json(forum.kind, dispute, draft.risk_level, draft.offence_class, forum.base_level)
    draft.event(draft.opened_at, "opened", draft.opened_by, opened)
    first, second = draft.parties[0][0], draft.parties[1][0]
    links = draft.links = run.register.pair_matches(forum.region_id, draft.opened_at, first, second)
    if links:
        # References are given out when the batch is numbered: the event's text waits for them.
        draft.event(draft.opened_at, "recurrence_linked", draft.opened_by, lambda: as_json({
            "earlier": [{"case": known.id, "reference": known.reference, "basis": basis} for known, basis in links]
        }))  # fmt: skip


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
    count = len(parts)
    stop = _between(rng, 0, count - 1) if behaviour == "stops" else count
    monitor = draft.monitor or _one(rng, draft.forum.monitors)
    start = last = draft.watch_entered
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
    for check in list(checks):
        if rng.random() >= MONITORING["second_look"]:
            continue
        others = [user for user in forum.monitors if user != check.by] or [
            user for user in forum.facilitators if user != check.by
        ]
        observed = check.observed - _between(rng, 3600, 4 * DAY)
        recorded = check.recorded + _between(rng, 600, 4 * DAY)
        if not others or observed <= draft.watch_entered or recorded > run.end:
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
    checks: list[CheckDraft] = []
    cut = False
    paid_until = entered
    for term in draft.agreement.terms:
        if term.instalments:
            last, stopped_by_end = _payments(rng, run, draft, term, checks, going_well=going_well)
            paid_until, cut = max(paid_until, last), cut or stopped_by_end
    if paid_until > entered:
        t = max(t, paid_until + _between(rng, 3 * DAY, 15 * DAY))
    plain = [term for term in draft.agreement.terms if not term.instalments]
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
    latest = [term.latest for term in draft.agreement.terms]
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
        add("joined", participant_id, _joined_json(name, role))
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
        add("said", speaker, SAID_JSON[int(rng.random() * len(SAID_JSON))])
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


def history_recurrence(draft: CaseDraft, run: Run) -> None:
    """The links recurrences_find made when the case opened (`matched`), and what a facilitator later made
    of some of them while the case was open, as services.recurrence_decide records it: most links between
    the same party records confirmed, namesakes more often rejected."""
    if not draft.links:
        return
    rng = run.rng
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
    before = draft.state == workflows.CLOSED and rng.random() < SURVEYS["before_closing"]
    mean = SURVEYS["mean"][draft.outcome]
    for party, role in draft.parties:
        if role not in SURVEYED_ROLES or rng.random() >= SURVEYS["answered"]:
            continue
        if before:  # Still in monitoring (implementation): the stage a case closes from.
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


# The steps that write a case's history, in order. Add one by appending a function step(draft, run).
HISTORY_STEPS: list[Callable[[CaseDraft, Run], None]] = [
    history_open,
    history_workflow,
    history_recurrence,
    history_session,
    history_ladder,
    history_survey,
    history_risk_factors,
]


# --- Writing batches -------------------------------------------------------------------------------------


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


class _Stopped(Exception):
    """An earlier batch failed: this one is rolled back rather than committed after it."""


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
                number, texts, cases, events, ladder = item
                try:
                    if self.error is not None or self.stopping:
                        continue  # Drain without writing.
                    with transaction.atomic():
                        copy_batch(texts)
                        # Before the running totals: their rows would make a later batch wait on this one.
                        self._await_turn(number)
                        ladder.write()
                    self.on_commit(cases, events)
                except _Stopped:
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
        _generate(run, cases=cases, batch=batch, writers=writers, committed=committed)
    finally:
        if collecting:
            gc.enable()


def _generate(run: Run, *, cases: int, batch: int, writers: int, committed: Callable[[int, int], None]) -> None:
    postgres = connection.vendor == "postgresql"
    if postgres and not connection.in_atomic_block:
        pool = _Writers(writers, committed)
        try:
            for first in range(0, cases, batch):
                for index in range(first, min(first + batch, cases)):
                    run.case(index)
                rows, batch_cases, batch_events = run.finish_batch()
                texts = [(table, copy_text(table, rows[table.key])) for table in TABLES if rows[table.key]]
                pool.put((first // batch, texts, batch_cases, batch_events, run.ladder))
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
                if postgres:
                    copy_batch([(table, copy_text(table, rows[table.key])) for table in TABLES if rows[table.key]])
                else:
                    for table in TABLES:
                        if rows[table.key]:
                            bulk_in(table, rows[table.key])
                run.ladder.write()
            committed(batch_cases, batch_events)
