"""The recurrence register: the district's earlier cases a new case may be linked to, in memory, as
services.recurrences_find would find them when the case opens (the database's cases read in first, when a
run adds to earlier ones), and the feuds the generator chooses to continue."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models, transaction

from cases import services
from cases.models import CaseParty

from .vocabulary import RECURRENCE

WINDOW = int(services.RECURRENCE_WINDOW.total_seconds())
FIRST, SECOND = CaseParty.Role.FIRST_PARTY.value, CaseParty.Role.SECOND_PARTY.value
RECURRENCE_WEIGHTS = RECURRENCE["weights"]
RECURRENCE_TOP = max(RECURRENCE_WEIGHTS.values())


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
        self.swept_cutoff = -(1 << 62)  # The cutoff of the last sweep: what it dropped is gone from every list.
        # Lazily (load_lazily): the database's cases read by name key when an opening first asks for the key.
        self.lazy: LazySource | None = None

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
        self.file_pairs(known)
        if pickable:
            pool = self.pools.get(known.forum_id)
            if pool is None:
                self.pools[known.forum_id] = [known]
            else:
                pool.append(known)
        self.size += 1

    def file_pairs(self, known: Known) -> None:
        """File the case under each pair of name keys of a first and a second party it holds."""
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

    def advance(self, opened_at: int) -> None:
        """The clock moves to the next opening."""
        self.cutoff = opened_at - WINDOW

    def sweep(self) -> None:
        """When the register has doubled since the last sweep, the cases ended more than 24 months before the
        latest opening are dropped (their memory too). Between batches: none of the batch's openings may be
        linked to them any more, but one before the latest may still have been, until its batch is linked."""
        cutoff = self.cutoff
        if self.size > 2 * self.swept + SWEEP_AFTER:
            self.swept_cutoff = cutoff
            tables: tuple[dict[Any, list[Known]], ...] = (self.by_key, self.by_pair, self.pools)
            for table in tables:
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

    def prefetch(self, pairs: list[tuple[int, str, str]]) -> None:
        """Read in at once what pair_matches will ask for these openings (district, first party's and second
        party's name keys), when the database's cases are read by key (LazySource)."""
        if self.lazy is not None:
            self.lazy.load_many(self, pairs)

    def pair_matches(
        self, region_id: int, opened_at: int, first: PartyRef, second: PartyRef
    ) -> list[tuple[Known, str]]:
        """matches() for a case with one first and one second party (every case the generator opens), quicker:
        a link needs a match on each side, so only the cases holding both names, one on each side, are read."""
        lazy = self.lazy
        if lazy is not None:
            lazy.load(self, region_id, (first.key, second.key))
        a, b = first.key, second.key
        holding_both = self.by_pair.get((region_id, a, b) if a <= b else (region_id, b, a))
        if not holding_both:
            return []  # Most openings: no link either way, whatever recurrences_find's limit leaves out.
        by_key = self.by_key
        holders = len(by_key.get((region_id, a), ())) + len(by_key.get((region_id, b), ()))
        if lazy is not None:  # The database's cases holding a name that by_key does not list.
            holders += lazy.unlisted(self, region_id, (a, b), listed=holders)
        if 2 * holders > services.RECURRENCE_CANDIDATES:
            if lazy is not None:  # matches() reads every case holding either name, with its parties.
                lazy.list_holders(self, region_id, [a, b])
            return self.matches(region_id, opened_at, [(first, FIRST), (second, SECOND)])
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
        found: dict[int, tuple[Known, list[PartyRef], list[PartyRef]]] = {}
        for known, role, party in rows[: services.RECURRENCE_CANDIDATES]:
            _known, first_side, second_side = found.setdefault(known.id, (known, [], []))
            (first_side if role == FIRST else second_side).append(party)
        links = []
        for known, first, second in found.values():
            if basis := _basis(records, names, (tuple(first), tuple(second))):
                links.append((known, basis))
        return links

    def preload(self, start: int) -> None:
        """The database's cases that a case of this run could be linked to (a run adding to earlier ones).

        All of them at once while they are few; from LAZY_FROM of them on, only those holding both names of an
        opening, when its batch asks (load_lazily): a run of a few thousand cases then reads a few hundred cases,
        not the million a big database holds (reading them all cost 45 s at a million cases, for 2,000 new ones;
        reading every case holding either name, 133,000 of them, 4 s)."""
        if load_lazily(self, start):
            return
        sides: dict[int, tuple[list, list]] = {}
        cases: dict[int, list[Any]] = {}
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


SWEEP_AFTER = 50_000  # The register sweeps when it has grown by this much (and doubled) since the last sweep.
LAZY_FROM = SWEEP_AFTER  # Preloading this many cases or more, the register reads them per opening instead.


class LazySource:
    """The database's cases, as preload would have read them, read for each opening instead (PostgreSQL): those
    holding both its names (the only ones it may be linked to), with their parties, filed under their pairs. Which
    cases hold a name is read for all of an opening batch's names at once, through the indexes alone, and kept:
    how many there are bounds the rows recurrences_find would read, whose limit sends an opening with common
    names to matches(), which reads every case holding either name into by_key. Each case is one Known."""

    def __init__(self, *, highest: int, cutoff: int):
        self.highest = highest  # The cases there before the run: the run's own come in through add().
        self.cutoff = cutoff  # Preload's own: open, or ended since.
        self.holders: dict[str, set[int]] = {}  # By name key: the cases up to `highest` a first or second party of
        # which bears it, in any district, at any time (what the other reads narrow down).
        self.counts: dict[tuple[int, str], int] = {}  # The district's cases holding a key, open or ended since cutoff.
        self.listed: set[tuple[int, str]] = set()  # Keys whose database cases by_key lists (list_holders).
        self.cases: dict[int, Known] = {}
        self.complete_ids: set[int] = set()  # Cases whose parties are read (and filed under their pairs).
        self.paired: set[tuple[int, str, str]] = set()  # Openings' (district, keys) read.

    def load(self, register: Register, region_id: int, keys: tuple[str, str]) -> None:
        if (region_id, *keys) not in self.paired:  # Not already read with its batch (load_many).
            self.load_many(register, [(region_id, *keys)])

    def load_many(self, register: Register, pairs: list[tuple[int, str, str]]) -> None:
        """The database's cases holding both name keys of one of these openings (district, first and second
        party's key), with their parties: three queries for a batch of openings."""
        todo = sorted({pair for pair in pairs if pair not in self.paired and pair[1] and pair[2]})
        self.paired.update(pairs)
        if not todo:
            return
        self.read_holders([key for _region, a, b in todo for key in (a, b)])
        wanted: dict[int, set[int]] = {}  # Case id: the districts of the openings holding both names of which.
        for region_id, a, b in todo:
            for case_id in self.holders[a] & self.holders[b]:
                wanted.setdefault(case_id, set()).add(region_id)
        cutoff = max(self.cutoff, register.swept_cutoff)
        found = []
        for case_id, region_id, *row in case_rows(
            sorted(case_id for case_id in wanted if case_id not in self.cases), cutoff
        ):
            if region_id in wanted[case_id]:
                found.append(self._case(case_id, region_id, *row))
        self.complete(register, found)

    def _case(self, case_id: int, region_id: int, forum_id: int, opened: int, closed: int | None, outcome: str,
              dispute_type: str, reference: str) -> Known:  # fmt: skip
        """The case's one Known, made when first read (its parties come with complete())."""
        known = self.cases.get(case_id)
        if known is None:
            known = self.cases[case_id] = Known(case_id, region_id, forum_id, opened, closed, outcome, dispute_type,
                                                ((), ()), reference)  # fmt: skip
        return known

    def read_holders(self, keys: list[str]) -> None:
        new = sorted({key for key in keys if key not in self.holders})
        for key in new:
            self.holders[key] = set()
        for key, case_id in holder_ids(new, self.highest):
            self.holders[key].add(case_id)

    def unlisted(self, register: Register, region_id: int, keys: tuple[str, ...], *, listed: int) -> int:
        """At least as many of the database's cases holding the keys as by_key does not list (it lists `listed`,
        the run's own among them): all the cases holding them, anywhere and at any time, while they are too few for
        recurrences_find's limit on rows to matter; else the district's, as preload would have listed them."""
        if 2 * (listed + self._unlisted(region_id, keys)) > services.RECURRENCE_CANDIDATES:
            self.count(register, region_id, keys)
        return self._unlisted(region_id, keys)

    def _unlisted(self, region_id: int, keys: tuple[str, ...]) -> int:
        total = 0
        for key in keys:
            if (region_id, key) in self.listed:
                continue
            if (region_id, key) in self.counts:
                total += self.counts[region_id, key]
            else:
                self.read_holders([key])
                total += len(self.holders[key])
        return total

    def count(self, register: Register, region_id: int, keys: tuple[str, ...]) -> None:
        """How many of the district's cases hold each key, open or ended since the cutoff: what preload would
        have listed (before the sweeps since)."""
        names = sorted(
            {key for key in keys if (region_id, key) not in self.counts and (region_id, key) not in self.listed}
        )
        if names:
            counted = dict(holder_counts(region_id, names, self.highest, max(self.cutoff, register.swept_cutoff)))
            for key in names:
                self.counts[region_id, key] = counted.get(key, 0)

    def list_holders(self, register: Register, region_id: int, keys: list[str]) -> None:
        """List the database's cases holding these keys in by_key, with their parties (for matches())."""
        cutoff = max(self.cutoff, register.swept_cutoff)
        wanted = sorted({key for key in keys if key and (region_id, key) not in self.listed})
        holders: list[Known] = []
        if wanted:
            for key in wanted:
                self.listed.add((region_id, key))
                self.counts.pop((region_id, key), None)
            for key, case_id, *row in holder_rows(region_id, wanted, self.highest, cutoff):
                known = self._case(case_id, region_id, *row)
                holders.append(known)
                entries = register.by_key.get((region_id, key))
                if entries is None:
                    register.by_key[region_id, key] = [known]
                else:
                    entries.append(known)
        self.complete(register, holders)

    def complete(self, register: Register, cases: Iterable[Known]) -> None:
        """Read the parties of the database's cases among `cases` that lack them, and file them under their pairs."""
        todo = {known.id: known for known in cases if known.id in self.cases and known.id not in self.complete_ids}
        if not todo:
            return
        sides: dict[int, tuple[list, list]] = {case_id: ([], []) for case_id in todo}
        for case_id, role, party_id, key, pseudonym in party_rows(sorted(todo)):
            sides[case_id][role == SECOND].append(PartyRef(party_id, key, pseudonym))
        for case_id in sorted(todo):
            known = todo[case_id]
            known.sides = (tuple(sides[case_id][0]), tuple(sides[case_id][1]))
            self.complete_ids.add(case_id)
            register.file_pairs(known)


def load_lazily(register: Register, start: int) -> bool:
    """Make the register read the database's cases per opening (LazySource) when preload would read LAZY_FROM of
    them or more, on PostgreSQL; False otherwise. The first opening's sweep, which preloading so many makes
    at once, is made all the same (the register counts them as added)."""
    if connection.vendor != "postgresql":
        return False
    cutoff = start - WINDOW
    with connection.cursor() as cursor:
        # How many preload would read, up to one more than a sweep waits for.
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM cases_case WHERE closed_at IS NULL OR closed_at >= %s LIMIT %s) c",
            [_at(cutoff), max(LAZY_FROM, SWEEP_AFTER + 1)],
        )
        count = cursor.fetchone()[0]
        if count < LAZY_FROM:
            return False
        cursor.execute("SELECT max(id) FROM cases_case")
        highest = cursor.fetchone()[0]
    register.lazy = LazySource(highest=highest, cutoff=cutoff)
    register.size = count  # As the preloaded cases would count: a million of them make the first opening sweep.
    return True


def holder_rows(region_id: int, keys: list[str], highest: int, cutoff: int) -> list[tuple]:
    """(name key, case id, forum, opened, closed, outcome, dispute type, reference) of the cases of the district
    (by their forum's) up to id `highest`, still open or ended since `cutoff`, with a first or second party
    bearing one of the name keys; times in epoch seconds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT p.name_key, c.id, c.forum_id, EXTRACT(EPOCH FROM c.opened_at)::bigint, "
            "EXTRACT(EPOCH FROM c.closed_at)::bigint, c.outcome, c.dispute_type, c.reference "
            + _HOLDERS
            + " ORDER BY 2, 1",
            [keys, FIRST, SECOND, highest, region_id, _at(cutoff)],
        )
        return cursor.fetchall()


# The district's cases (by their forums) up to an id, open or ended since a time, with a first or second party bearing
# one of the keys. The district's forums as a list: joined, the planner read the cases once per forum.
_HOLDERS = (
    "FROM cases_party p JOIN cases_caseparty cp ON cp.party_id = p.id JOIN cases_case c ON c.id = cp.case_id "
    "WHERE p.name_key = ANY(%s) AND cp.role IN (%s, %s) AND c.id <= %s "
    "AND c.forum_id IN (SELECT id FROM cases_forum WHERE region_id = %s) "
    "AND (c.closed_at IS NULL OR c.closed_at >= %s)"
)


def holder_ids(keys: list[str], highest: int) -> list[tuple[str, int]]:
    """(name key, case id) of the cases up to id `highest` with a first or second party bearing one of the keys, in
    any district, at any time: read through the indexes on the parties' keys and the parties' cases alone, one key
    after another (the planner, misjudging how few parties bear a key, would scan every case's parties).

    Many keys (a batch's openings name thousands, borne by a hundred thousand cases at a million) are read in two
    halves side by side, the second on a connection of its own, so that PostgreSQL reads them on both cores; not
    inside a caller's transaction, whose rows another connection could not see."""
    if len(keys) < _HOLDERS_SPLIT_FROM or connection.in_atomic_block:
        return _holder_ids(keys, highest)
    second: list[tuple[str, int]] = []
    failed: list[BaseException] = []

    def read_second() -> None:
        try:
            second.extend(_holder_ids(keys[1::2], highest))
        except BaseException as error:  # Raised by the caller's thread.
            failed.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=read_second, name="synthetic-holders")
    thread.start()
    try:
        first = _holder_ids(keys[::2], highest)
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return first + second


_HOLDERS_SPLIT_FROM = 500  # keys: fewer are read on the caller's connection alone


def _holder_ids(keys: list[str], highest: int) -> list[tuple[str, int]]:
    if not keys:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off")
        cursor.execute(
            "SELECT k.n, cp.case_id FROM unnest(%s::text[]) WITH ORDINALITY AS k(key, n) "
            "JOIN cases_party p ON p.name_key = k.key JOIN cases_caseparty cp ON cp.party_id = p.id "
            "WHERE cp.role IN (%s, %s) AND cp.case_id <= %s",
            [keys, FIRST, SECOND, highest],
        )
        rows = cursor.fetchall()
        # Inside a caller's transaction SET LOCAL would last until it ends.
        cursor.execute("RESET enable_hashjoin; RESET enable_mergejoin; RESET jit")
    return [(keys[n - 1], case_id) for n, case_id in rows]


def case_rows(case_ids: list[int], cutoff: int) -> list[tuple]:
    """(case id, district, forum, opened, closed, outcome, dispute type, reference) of these cases still open or
    ended since `cutoff`; times in epoch seconds."""
    if not case_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, f.region_id, c.forum_id, EXTRACT(EPOCH FROM c.opened_at)::bigint, "
            "EXTRACT(EPOCH FROM c.closed_at)::bigint, c.outcome, c.dispute_type, c.reference "
            "FROM cases_case c JOIN cases_forum f ON f.id = c.forum_id "
            "WHERE c.id = ANY(%s) AND (c.closed_at IS NULL OR c.closed_at >= %s) ORDER BY c.id",
            [case_ids, _at(cutoff)],
        )
        return cursor.fetchall()


def holder_counts(region_id: int, keys: list[str], highest: int, cutoff: int) -> list[tuple]:
    """(name key, how many cases) of the cases holder_rows would read."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.name_key, count(DISTINCT c.id) " + _HOLDERS + " GROUP BY 1",
            [keys, FIRST, SECOND, highest, region_id, _at(cutoff)],
        )
        return cursor.fetchall()


def party_rows(case_ids: list[int]) -> list[tuple]:
    """(case id, role, party id, name key, pseudonym) of the cases' first and second parties, in preload's order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cp.case_id, cp.role, cp.party_id, p.name_key, p.pseudonym FROM cases_caseparty cp "
            "JOIN cases_party p ON p.id = cp.party_id WHERE cp.case_id = ANY(%s) AND cp.role IN (%s, %s) "
            "ORDER BY cp.case_id, cp.party_id, cp.role",
            [case_ids, FIRST, SECOND],
        )
        return cursor.fetchall()


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
