"""Bringing a forum's paper register in: the checked rows (cases.registers) become cases with their history.

A register row says where a case stood, not how it got there: there is no agreement, no compliance check and no
reason for each step to walk the workflow's guards with. So the import does not replay transitions; it writes
what the row states, in one transaction per batch of rows, and leaves the trace of it on each timeline:

- the case, in the row's state and outcome, opened and closed on the row's dates, at the base of the forum's
  ladder, with its register number;
- its parties (new party records with pseudonyms, as case_open makes them);
- the events, stamped with the real dates: `opened` on the opening day and, unless the case is still in
  `intake`, one `transitioned` from `intake` to its state (on the closing day for an ended case, with its
  outcome), both with `data` {"imported": true, "register_no": …} and the transition's kind `imported`.

The regulator summary (reports.patterns) counts them like any other: `opened` by the month it was opened,
`transitioned` to closed/withdrawn/referred by the month it ended. Times are noon UTC of the day: the month and
the day stay the register's in every time zone the forums are in.

What the row's values may be is checked in cases.registers with the same vocabulary as the API (the models'
choices, the workflow's states, the database's own rule that a non-compoundable case goes nowhere but out).
Idempotent on (forum, register number): a number already in the forum — or a case's reference, which an export
writes for cases opened in Sulh — is counted as already there and left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import ladder_stats, workflows
from ..models import Case, CaseEvent, CaseParty, Forum, Party, ReferenceCounter
from ..registers import RegisterRow
from .common import check_can_manage
from .forums import ladder_default
from .opening import REFERENCE_PREFIX, _pseudonym, party_name_key

IMPORT_BATCH = 500
IMPORTED = "imported"  # The transition kind of a state brought in from a register (not walked: no guards ran).


@dataclass(frozen=True)
class ImportResult:
    imported: int
    already: int


def register_numbers_known(*, forum: Forum, numbers: Sequence[str]) -> set[str]:
    """Which of `numbers` the forum already has, as a register number or as a case reference."""
    found: set[str] = set()
    for start in range(0, len(numbers), 5000):
        chunk = list(numbers[start : start + 5000])
        pairs = Case.objects.filter(Q(register_no__in=chunk) | Q(reference__in=chunk), forum=forum).values_list(
            "register_no", "reference"
        )
        for register_no, reference in pairs:
            found.update(n for n in (register_no, reference) if n in chunk)
    return found


def register_preview(*, user: User | None, forum: Forum, rows: Sequence[RegisterRow]) -> ImportResult:
    """What register_import would do with `rows`, writing nothing."""
    if user is not None:
        check_can_manage(user=user, forum=forum)
    known = register_numbers_known(forum=forum, numbers=[row.register_no for row in rows])
    already = sum(1 for row in rows if row.register_no in known)
    return ImportResult(imported=len(rows) - already, already=already)


def register_import(
    *, user: User | None, forum: Forum, rows: Sequence[RegisterRow], batch: int = IMPORT_BATCH
) -> ImportResult:
    """Make cases of the checked rows, skipping the register numbers the forum already has. `user` is the
    facilitator or administrator importing from the page (checked here); None for the command, which whoever
    runs the server's shell may use. Each batch is one transaction: an interrupted import keeps the batches it
    finished, and running it again adds the rest."""
    if user is not None:
        check_can_manage(user=user, forum=forum)
    imported = already = 0
    for start in range(0, len(rows), batch):
        done, skipped = _import_batch(user=user, forum=forum, rows=rows[start : start + batch])
        imported += done
        already += skipped
    return ImportResult(imported=imported, already=already)


def _at(day: date, now: datetime) -> datetime:
    """Noon UTC of the day, so that the day and its month are the register's in every forum's time zone; a day
    that is today is stamped now instead, as the services stamp their events: never in the future, where the
    regulator summary would take an event for one still being written and wait for it (reports.patterns)."""
    return min(datetime.combine(day, time(12), tzinfo=UTC), now)


@transaction.atomic
def _import_batch(*, user: User | None, forum: Forum, rows: Sequence[RegisterRow]) -> tuple[int, int]:
    # The forum row's lock makes two imports of the same register (a double click, two terminals) take turns:
    # the second sees the numbers the first added instead of failing on the unique constraint halfway.
    forum = Forum.objects.select_for_update().select_related("ladder").get(pk=forum.pk)
    known = register_numbers_known(forum=forum, numbers=[row.register_no for row in rows])
    fresh = [row for row in rows if row.register_no not in known]
    if not fresh:
        return 0, len(rows)
    base = forum.ladder.rungs.order_by("level").first() or ladder_default().rungs.order_by("level").first()
    assert base is not None  # The default ladder is created with its rungs (ladder_default).
    now = timezone.now()
    references = _references_reserve(kind=forum.kind, years=Counter(row.opened.year for row in fresh))

    cases = [
        Case(
            reference=next(references[row.opened.year]),
            forum=forum,
            kind=forum.kind,
            title=row.title,
            summary=row.summary,
            dispute_type=row.dispute_type,
            risk_level=row.risk_level,
            offence_class=row.offence_class,
            state=row.state,
            rung=base,
            outcome=row.outcome,
            opened_at=_at(row.opened, now),
            closed_at=_at(row.closed, now) if row.closed else None,
            referral_source=row.referral_source,
            fir_number=row.fir_number,
            opened_by=user,
            register_no=row.register_no,
            last_seq=1 if row.state == workflows.INTAKE else 2,
        )
        for row in fresh
    ]
    Case.objects.bulk_create(cases)

    parties: list[Party] = []
    roles: list[tuple[Case, str]] = []
    for case, row in zip(cases, fresh, strict=True):
        for role, name, kind in row.parties:
            parties.append(
                Party(name=name, kind=kind, pseudonym=_pseudonym(), forum=forum, name_key=party_name_key(name))
            )
            roles.append((case, role))
    Party.objects.bulk_create(parties)
    CaseParty.objects.bulk_create(
        [CaseParty(case=case, party=party, role=role) for (case, role), party in zip(roles, parties, strict=True)]
    )
    CaseEvent.objects.bulk_create(
        event for case, row in zip(cases, fresh, strict=True) for event in _events(case, row, user, base.level, now)
    )
    open_cases = sum(1 for row in fresh if row.state not in workflows.ENDED)
    if open_cases:
        ladder_stats.add_written(open_counts=Counter({(forum.pk, base.pk): open_cases}), counts=Counter())
    return len(fresh), len(rows) - len(fresh)


def _events(case: Case, row: RegisterRow, user: User | None, level: int, now: datetime) -> Iterator[CaseEvent]:
    mark = {"imported": True, "register_no": row.register_no}
    opened = {
        "forum_kind": case.kind,
        "dispute_type": row.dispute_type,
        "risk_level": row.risk_level,
        "offence_class": row.offence_class,
        "rung": level,
        **mark,
    }
    yield CaseEvent(case=case, seq=1, kind="opened", actor=user, at=_at(row.opened, now), data=opened)
    if row.state == workflows.INTAKE:
        return
    moved: dict[str, Any] = {"from": workflows.INTAKE, "to": row.state, "kind": IMPORTED, **mark}
    if row.state in workflows.ENDED:
        moved["outcome"] = row.outcome
    if row.reason and row.state in workflows.ENDED:
        moved["reason"] = row.reason
    at = _at(row.closed or row.opened, now)
    yield CaseEvent(case=case, seq=2, kind="transitioned", actor=user, at=at, data=moved)


def _references_reserve(*, kind: str, years: Counter[int]) -> dict[int, Iterator[str]]:
    """Consecutive references for `years[y]` cases opened in each year y, as case_open numbers them (its
    counter rows, locked in year order so that two imports never wait on each other in opposite orders)."""
    prefix = REFERENCE_PREFIX[kind]
    reserved: dict[int, Iterator[str]] = {}
    for year in sorted(years):
        counter, _created = ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
        counter = ReferenceCounter.objects.select_for_update().get(pk=counter.pk)
        first = counter.last_number + 1
        counter.last_number += years[year]
        counter.save(update_fields=["last_number"])
        reserved[year] = _numbered(prefix, year, first, counter.last_number)
    return reserved


def _numbered(prefix: str, year: int, first: int, last: int) -> Iterator[str]:
    for number in range(first, last + 1):
        yield f"{prefix}-{year}-{number:05d}"
