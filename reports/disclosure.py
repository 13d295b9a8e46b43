"""Statistical disclosure control for what regulators read (shared/DOMAIN.md, "Do no harm").

A table of counts is served at every grouping of a few dimensions (region, forum kind, dispute type,
month): the grand total, each dimension alone, each pair, and so on. Every count of a grouping is the sum
of its children in any finer grouping that adds one dimension, so each parent and its children form an
equation: parent = child₁ + child₂ + …

Primary suppression hides counts from 1 to min_cell − 1. Secondary suppression then makes sure no hidden
count can be worked out by subtraction: in every equation, either nothing is hidden or at least two cells
are (one hidden cell in an equation is the published parent minus the published children, or the sum of
published children). Two hidden children of a published parent are still given away when their sum is
their number — each must then be 1 — so that equation gets a third. Cells are hidden in order of the
smallest positive count first, which loses the least information; zeros are published (a zero hidden
would tell nothing anyway, since the rules hide positive counts only).

The rule is held for every pair of groupings the API serves, one finer than the other (not only those one
dimension apart: two hidden ones two dimensions below a published total would give themselves away even
when each intermediate equation is safe).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from itertools import combinations
from typing import Any

# A cell's values of its grouping's dimensions, in the grouping's order: district codes, forum kinds, levels,
# months, factors… whatever the caller counts by (None included). This module only compares and hashes them.
Key = tuple[Any, ...]
Grouping = tuple[str, ...]


def groupings(dimensions: Sequence[str]) -> list[Grouping]:
    """Every grouping of the dimensions, coarsest first: (), (d1,), (d2,), …, (d1, d2), …"""
    return [combo for size in range(len(dimensions) + 1) for combo in combinations(dimensions, size)]


def aggregate(
    rows: Iterable[tuple[Mapping[str, object], int]], dimensions: Sequence[str]
) -> dict[Grouping, dict[Key, int]]:
    """{grouping: {key: count}} for every grouping, from the finest rows ({dimension: value}, count)."""
    finest: dict[Key, int] = {}
    for values, count in rows:
        key = tuple(values[d] for d in dimensions)
        finest[key] = finest.get(key, 0) + count
    tables: dict[Grouping, dict[Key, int]] = {}
    for grouping in groupings(dimensions):
        positions = [dimensions.index(d) for d in grouping]
        table: dict[Key, int] = {}
        for key, count in finest.items():
            short = tuple(key[p] for p in positions)
            table[short] = table.get(short, 0) + count
        tables[grouping] = table
    return tables


class Lattice:
    """The equations between every pair of groupings (one finer than the other) of a set of cells. They depend
    on which cells exist, not on their counts, so one lattice serves every count measured on those cells."""

    def __init__(self, keys: Mapping[Grouping, Iterable[Key]], dimensions: Sequence[str]):
        self.dimensions = tuple(dimensions)
        # In a fixed order, whatever order the rows came in (a query's plan, a dict's history): which cells
        # the protection hides depends on the order it meets the equations, and the same counts must always
        # be protected the same way, or two answers together would give away what each hides.
        self.keys = {grouping: sorted(cells, key=_sortable) for grouping, cells in keys.items()}
        self.equations: list[tuple[Grouping, Key, Grouping, list[Key]]] = []
        self.as_child: dict[tuple[Grouping, Key], list[int]] = {}
        self.as_parent: dict[tuple[Grouping, Key], list[int]] = {}
        for parent_grouping in self.keys:
            for child_grouping in self.keys:
                if not set(parent_grouping) < set(child_grouping):
                    continue
                positions = [child_grouping.index(d) for d in parent_grouping]
                children: dict[Key, list[Key]] = {}
                for key in self.keys[child_grouping]:
                    children.setdefault(tuple(key[p] for p in positions), []).append(key)
                for parent_key, child_keys in children.items():
                    index = len(self.equations)
                    self.equations.append((parent_grouping, parent_key, child_grouping, child_keys))
                    self.as_parent.setdefault((parent_grouping, parent_key), []).append(index)
                    for key in child_keys:
                        self.as_child.setdefault((child_grouping, key), []).append(index)

    def suppress(
        self,
        tables: Mapping[Grouping, Mapping[Key, int]],
        min_cell: int = 5,
        also: Mapping[Grouping, Iterable[Key]] | None = None,
    ) -> dict[Grouping, set[Key]]:
        """{grouping: hidden keys} for one count measured on the lattice's cells. `also` hides more cells from
        the start (the caller's own reasons; a zero stays published); the rest is protected around them."""
        hidden: dict[Grouping, set[Key]] = {
            grouping: {key for key, count in table.items() if 0 < count < min_cell}
            for grouping, table in tables.items()
        }
        for grouping, keys in (also or {}).items():
            hidden[grouping].update(key for key in keys if tables[grouping].get(key, 0) > 0)
        equations, as_child, as_parent = self.equations, self.as_child, self.as_parent
        # Each equation's hidden children (how many, their sum), kept up to date as cells are hidden: a newly
        # hidden cell sends only its own equations back to be checked.
        counts = [0] * len(equations)
        sums = [0] * len(equations)
        pending: list[int] = []
        for grouping, keys in hidden.items():
            values = tables[grouping]
            for key in keys:
                for index in as_child.get((grouping, key), ()):
                    counts[index] += 1
                    sums[index] += values[key]
                pending.extend(as_child.get((grouping, key), ()))
                pending.extend(as_parent.get((grouping, key), ()))
        queued = set(pending)
        pending = sorted(queued, reverse=True)  # Equations in order of their index (pop() takes from the end).

        def hide(grouping: Grouping, key: Key) -> list[int]:
            hidden[grouping].add(key)
            value = tables[grouping][key]
            for index in as_child.get((grouping, key), ()):
                counts[index] += 1
                sums[index] += value
            return as_child.get((grouping, key), []) + as_parent.get((grouping, key), [])

        while pending:
            index = pending.pop()
            queued.discard(index)
            parent_grouping, parent_key, child_grouping, child_keys = equations[index]
            parent_hidden = parent_key in hidden[parent_grouping]
            n = counts[index]
            if n + parent_hidden == 0:
                continue
            # One hidden cell is the others' difference; hidden children of a published parent that add up
            # to their number are all ones.
            if not (n + parent_hidden == 1 or (not parent_hidden and sums[index] == n)):
                continue
            values = tables[child_grouping]
            candidates = [k for k in child_keys if values[k] > 0 and k not in hidden[child_grouping]]
            if candidates:
                touched = hide(child_grouping, min(candidates, key=lambda k: (values[k], _sortable(k))))
            elif not parent_hidden and tables[parent_grouping][parent_key] > 0:
                touched = hide(parent_grouping, parent_key)
            else:
                continue
            for other in [*touched, index]:
                if other not in queued:
                    queued.add(other)
                    pending.append(other)
        return hidden


def suppress(
    tables: Mapping[Grouping, Mapping[Key, int]], dimensions: Sequence[str], min_cell: int = 5
) -> dict[Grouping, set[Key]]:
    """{grouping: set of hidden keys} for the counts of `tables` (as `aggregate` returns them)."""
    return Lattice(tables, dimensions).suppress(tables, min_cell)


def _sortable(key: Key) -> tuple[str, ...]:
    return tuple("" if value is None else str(value) for value in key)


def recoverable(
    tables: Mapping[Grouping, Mapping[Key, int]], hidden: Mapping[Grouping, Set[Key]], dimensions: Sequence[str]
) -> list[tuple[Grouping, Key, Grouping]]:
    """The hidden counts that subtraction between any two served groupings (one finer than the other) would
    give away: an audit for tests. Returns (coarse grouping, key, fine grouping) for each leak."""
    leaks: list[tuple[Grouping, Key, Grouping]] = []
    for coarse in tables:
        for fine in tables:
            if coarse == fine or not set(coarse) < set(fine):
                continue
            positions = [fine.index(d) for d in coarse]
            children: dict[Key, list[Key]] = {}
            for key in tables[fine]:
                children.setdefault(tuple(key[p] for p in positions), []).append(key)
            for parent_key, keys in children.items():
                cells = [(coarse, parent_key)] + [(fine, k) for k in keys]
                secret = [(g, k) for g, k in cells if k in hidden[g]]
                if len(secret) == 1:
                    leaks.append((coarse, parent_key, fine))
                elif secret and parent_key not in hidden[coarse]:
                    values = [tables[g][k] for g, k in secret]
                    if sum(values) == len(values):
                        leaks.append((coarse, parent_key, fine))
    return leaks
