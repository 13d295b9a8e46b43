"""A case being drafted: the rows it becomes (CaseDraft, AgreementDraft, TermDraft, CheckDraft), its moves
through its forum kind's workflow (CaseDraft.move, each checked by the validator), the pseudonyms and keys it
is given, and the event data the services would write, encoded once where it repeats."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from cases import services, workflows
from config.crypto import encrypt

from .encoding import _EPOCH, as_json, cents_text, day_text
from .register import Known, PartyRef
from .validator import Route, check_move
from .world import ForumInfo

# --- Pseudonyms and keys ---------------------------------------------------------------------------------

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


# --- Event data ---------------------------------------------------------------------------------------


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
        """As services._term_payload writes a term into `agreement_recorded`, the description encrypted as the
        timeline's field stores it (config.crypto)."""
        data: dict[str, str | list[dict[str, str]]] = {"kind": self.kind, "description": encrypt(self.description)}
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
        """A state change as services.case_transition makes it, its guards checked again (check_move)."""
        source = self.state
        transition = check_move(self, to, at=at, reason=reason, outcome=outcome)
        agreement = self.agreement
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
