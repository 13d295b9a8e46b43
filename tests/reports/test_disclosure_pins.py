"""reports.disclosure pinned on small tables worked out by hand (shared/DOMAIN.md, "Do no harm").

A regulator must never read a count from 1 to 4, nor work one out by subtraction. These tests pin where the
line falls (5 is published, 4 and 1 are hidden, 0 is published), which cells secondary suppression hides,
and that the leak audit `recoverable()` finds each kind of planted leak, so that an audit switched off, or
a suppression that stops at the primary cells, fails here.
"""

from __future__ import annotations

import pytest

from reports import disclosure

A = ("a",)
AB = ("a", "b")


def one_dimension(**counts: int) -> dict:
    return disclosure.aggregate([({"a": key}, count) for key, count in counts.items()], A)


def published(tables, hidden) -> dict:
    """What a regulator reads: {grouping: {key: count or None}}."""
    return {g: {k: (None if k in hidden[g] else v) for k, v in t.items()} for g, t in tables.items()}


def primary_only(tables, min_cell: int = 5) -> dict:
    """Hidden sets as they would be without secondary suppression."""
    return {g: {k for k, v in t.items() if 0 < v < min_cell} for g, t in tables.items()}


# --- Building the tables ---------------------------------------------------------------------------------


def test_groupings_are_every_combination_coarsest_first():
    assert disclosure.groupings(()) == [()]
    assert disclosure.groupings(("region", "kind", "month")) == [
        (),
        ("region",),
        ("kind",),
        ("month",),
        ("region", "kind"),
        ("region", "month"),
        ("kind", "month"),
        ("region", "kind", "month"),
    ]


def test_aggregate_sums_rows_into_every_grouping():
    rows = [
        ({"a": "x", "b": 1, "unused": "?"}, 2),
        ({"a": "x", "b": 1, "unused": "!"}, 3),  # Same cell: added up.
        ({"a": "x", "b": 2}, 4),
        ({"a": "y", "b": 1}, 0),
    ]
    assert disclosure.aggregate(rows, AB) == {
        (): {(): 9},
        ("a",): {("x",): 9, ("y",): 0},
        ("b",): {(1,): 5, (2,): 4},
        ("a", "b"): {("x", 1): 5, ("x", 2): 4, ("y", 1): 0},
    }
    # The order of the dimensions is the order of the keys' values.
    assert disclosure.aggregate(rows, ("b", "a"))[("b", "a")] == {(1, "x"): 5, (2, "x"): 4, (1, "y"): 0}


def test_aggregate_of_nothing_is_empty_tables():
    assert disclosure.aggregate([], A) == {(): {}, ("a",): {}}


# --- Primary suppression: where the line falls -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, None), (2, None), (4, None), (5, 5), (6, 6), (40, 40)],
)
def test_a_count_of_5_is_published_4_to_1_are_hidden_and_0_is_published(count, shown):
    # Beside two large cells, so that whatever is hidden has partners and the total stays published.
    tables = one_dimension(small=count, big=50, bigger=60)
    hidden = disclosure.suppress(tables, A)
    assert published(tables, hidden)[A][("small",)] == shown
    assert published(tables, hidden)[()] == {(): count + 110}


def test_min_cell_moves_the_line():
    tables = one_dimension(small=4, big=50, bigger=60)
    assert disclosure.suppress(tables, A, min_cell=4)[A] == set()
    assert disclosure.suppress(tables, A, min_cell=5)[A] == {("small",), ("big",)}
    tables = one_dimension(small=5, big=50, bigger=60)
    assert disclosure.suppress(tables, A, min_cell=6)[A] == {("small",), ("big",)}


def test_a_small_total_is_hidden_like_any_count():
    tables = one_dimension(x=1, y=2)
    hidden = disclosure.suppress(tables, A)
    assert published(tables, hidden) == {(): {(): None}, A: {("x",): None, ("y",): None}}
    assert disclosure.recoverable(tables, hidden, A) == []


def test_nothing_small_hides_nothing():
    tables = one_dimension(x=5, y=7, z=0)
    assert disclosure.suppress(tables, A) == {(): set(), A: set()}


# --- Secondary suppression: which partner is hidden ------------------------------------------------------


def test_a_single_hidden_cell_takes_the_smallest_positive_partner():
    # 30 − 20 − 6 = 4: the 4 alone would be given away; the 6 goes with it, not the 20, never the 0.
    tables = one_dimension(x=4, y=20, z=6, w=0)
    hidden = disclosure.suppress(tables, A)
    assert hidden == {(): set(), A: {("x",), ("z",)}}
    assert published(tables, hidden)[A] == {("x",): None, ("y",): 20, ("z",): None, ("w",): 0}
    assert disclosure.recoverable(tables, hidden, A) == []


def test_between_partners_of_the_same_count_the_first_key_is_hidden():
    tables = one_dimension(x=4, q=9, p=9)
    assert disclosure.suppress(tables, A)[A] == {("x",), ("p",)}
    # A missing value (None) sorts before any other, even a capital letter.
    rows = [({"a": None}, 9), ({"a": "A"}, 9), ({"a": "x"}, 4)]
    tables = disclosure.aggregate(rows, A)
    assert disclosure.suppress(tables, A)[A] == {("x",), (None,)}


def test_two_hidden_ones_under_a_published_total_take_a_third():
    # 32 = 1 + 1 + 30: two hidden cells adding up to their number are each 1.
    tables = one_dimension(x=1, y=1, z=30)
    hidden = disclosure.suppress(tables, A)
    assert hidden == {(): set(), A: {("x",), ("y",), ("z",)}}
    assert disclosure.recoverable(tables, hidden, A) == []


def test_two_hidden_cells_that_are_not_both_one_stay_a_pair():
    tables = one_dimension(x=1, y=2, z=30)
    assert disclosure.suppress(tables, A) == {(): set(), A: {("x",), ("y",)}}


def test_a_hidden_grand_total_when_every_part_is_one():
    # Five ones: the total 5 is publishable, but the five hidden ones under it would each be known to be 1
    # (5 hidden cells, sum 5), and no part is left to hide: the total goes.
    tables = one_dimension(p=1, q=1, r=1, s=1, t=1)
    hidden = disclosure.suppress(tables, A)
    assert published(tables, hidden) == {(): {(): None}, A: dict.fromkeys([("p",), ("q",), ("r",), ("s",), ("t",)])}
    assert disclosure.recoverable(tables, hidden, A) == []
    # And with a zero beside them: zeros are never hidden, so the total still goes.
    tables = one_dimension(p=1, q=1, r=1, s=1, t=1, u=0)
    hidden = disclosure.suppress(tables, A)
    assert hidden == {(): {()}, A: {("p",), ("q",), ("r",), ("s",), ("t",)}}


def test_a_hidden_grand_total_in_two_dimensions_is_protected_all_the_way_down():
    rows = [({"a": a, "b": b}, 1) for a in ("x", "y") for b in (1, 2)] + [({"a": "x", "b": 3}, 1)]
    tables = disclosure.aggregate(rows, AB)
    hidden = disclosure.suppress(tables, AB)
    assert () in hidden[()]
    assert hidden[AB] == set(tables[AB])
    assert disclosure.recoverable(tables, hidden, AB) == []


def test_a_cell_hidden_for_the_callers_own_reason_is_protected_too():
    tables = one_dimension(x=10, y=20, z=0)
    lattice = disclosure.Lattice(tables, A)
    hidden = lattice.suppress(tables, also={A: [("y",)]})
    assert hidden == {(): set(), A: {("x",), ("y",)}}
    # A zero, or a cell that is not there, stays as it is.
    assert lattice.suppress(tables, also={A: [("z",), ("nowhere",)]}) == {(): set(), A: set()}
    # The total hidden for the caller's reason: one part goes with it, or the parts would add up to it.
    hidden = lattice.suppress(tables, also={(): [()]})
    assert hidden == {(): {()}, A: {("x",)}}
    assert disclosure.recoverable(tables, hidden, A) == []


def test_one_lattice_serves_several_counts_on_the_same_cells():
    opened = one_dimension(x=4, y=20, z=6)
    closed = one_dimension(x=9, y=3, z=8)
    lattice = disclosure.Lattice(opened, A)
    assert lattice.suppress(opened) == {(): set(), A: {("x",), ("z",)}}
    assert lattice.suppress(closed) == {(): set(), A: {("y",), ("z",)}}
    assert lattice.suppress(closed, min_cell=3) == {(): set(), A: set()}
    assert lattice.suppress(one_dimension(x=5, y=20, z=6)) == {(): set(), A: set()}  # min_cell is 5.


def test_with_min_cell_1_only_the_callers_cells_are_hidden_and_still_protected():
    lattice = disclosure.Lattice(one_dimension(x=1, y=1, z=30), A)
    # x (1) takes its smallest partner, y (1); two hidden ones under a published 32 would each be known: z too.
    tables = one_dimension(x=1, y=1, z=30)
    hidden = lattice.suppress(tables, min_cell=1, also={A: [("x",)]})
    assert hidden == {(): set(), A: {("x",), ("y",), ("z",)}}
    assert disclosure.recoverable(tables, hidden, A) == []
    # A hidden 3 and a hidden 2 under 15 stay a pair.
    tables = one_dimension(x=3, y=2, z=10)
    assert lattice.suppress(tables, min_cell=1, also={A: [("x",)]}) == {(): set(), A: {("x",), ("y",)}}
    # The only part of a total of 1 hidden: the total goes with it.
    tables = one_dimension(x=1, y=0, z=0)
    hidden = lattice.suppress(tables, min_cell=1, also={A: [("x",)]})
    assert hidden == {(): {()}, A: {("x",)}}
    assert disclosure.recoverable(tables, hidden, A) == []


def test_a_small_cell_two_dimensions_below_the_total_is_protected():
    # x·1 = 10, x·2 = 12, y·1 = 3. The 3 is hidden, and so is row y (3, its only part). The total (25 = row x +
    # row y) then needs row x; column 1 (13 = 10 + 3) needs x·1. What stays published (x·2, both columns, the
    # total) gives only x·1 + y·1 = 13 and row x + row y = 25: the 3 is never worked out. The equations are met
    # in a fixed order (the keys sorted), so the same counts are always protected this way.
    rows = [({"a": "x", "b": 1}, 10), ({"a": "x", "b": 2}, 12), ({"a": "y", "b": 1}, 3)]
    tables = disclosure.aggregate(rows, AB)
    hidden = disclosure.suppress(tables, AB)
    assert hidden == {
        (): set(),
        ("a",): {("x",), ("y",)},
        ("b",): set(),
        ("a", "b"): {("x", 1), ("y", 1)},
    }
    assert disclosure.recoverable(tables, hidden, AB) == []
    # Whatever order the rows come in.
    assert disclosure.suppress(disclosure.aggregate(rows[::-1], AB), AB) == hidden


# --- The audit finds planted leaks -----------------------------------------------------------------------


def test_the_audit_finds_one_hidden_cell_beside_a_published_total():
    tables = one_dimension(x=4, y=20)
    leaky = {(): set(), A: {("x",)}}  # 24 − 20 = 4.
    assert disclosure.recoverable(tables, leaky, A) == [((), (), A)]


def test_the_audit_finds_a_hidden_total_beside_its_published_parts():
    tables = one_dimension(x=10, y=20)
    leaky = {(): {()}, A: set()}  # 10 + 20.
    assert disclosure.recoverable(tables, leaky, A) == [((), (), A)]


def test_the_audit_finds_hidden_ones_that_add_up_to_their_number():
    tables = one_dimension(x=1, y=1, z=30)
    assert disclosure.recoverable(tables, {(): set(), A: {("x",), ("y",)}}, A) == [((), (), A)]
    # Not when the total is hidden too, nor when the hidden cells are not all ones.
    assert disclosure.recoverable(tables, {(): {()}, A: {("x",), ("y",)}}, A) == []
    tables = one_dimension(x=1, y=2, z=30)
    assert disclosure.recoverable(tables, {(): set(), A: {("x",), ("y",)}}, A) == []


def test_the_audit_names_the_equation_that_leaks():
    rows = [({"a": "x", "b": 1}, 3), ({"a": "x", "b": 2}, 7), ({"a": "y", "b": 1}, 9), ({"a": "y", "b": 2}, 9)]
    tables = disclosure.aggregate(rows, AB)
    leaky = {(): set(), A: set(), ("b",): set(), AB: {("x", 1), ("y", 1)}}
    # Row x: 10 − 7 = 3 and row y: 18 − 9 = 9 give the hidden cells away; column 1 (12) does not (two hidden).
    assert sorted(disclosure.recoverable(tables, leaky, AB)) == [(("a",), ("x",), AB), (("a",), ("y",), AB)]


def test_the_audit_looks_across_two_dimensions_at_once():
    # Only the total and the finest cells are served: one hidden cell under the total leaks.
    rows = [({"a": "x", "b": 1}, 3), ({"a": "y", "b": 2}, 40)]
    tables = {g: t for g, t in disclosure.aggregate(rows, AB).items() if g in ((), AB)}
    assert disclosure.recoverable(tables, {(): set(), AB: {("x", 1)}}, AB) == [((), (), AB)]
    assert disclosure.recoverable(tables, {(): set(), AB: {("x", 1), ("y", 2)}}, AB) == []


def test_the_audit_finds_nothing_in_a_table_with_nothing_hidden():
    tables = one_dimension(x=10, y=20)
    assert disclosure.recoverable(tables, {(): set(), A: set()}, A) == []


@pytest.mark.parametrize(
    "rows",
    [
        [({"a": "x", "b": 1}, 3), ({"a": "x", "b": 2}, 7), ({"a": "x", "b": 3}, 12), ({"a": "y", "b": 1}, 9)],
        [({"a": a, "b": b}, n) for a, b, n in [("x", 1, 1), ("x", 2, 1), ("x", 3, 30), ("y", 1, 6), ("y", 2, 2)]],
        [({"a": a, "b": b}, n) for a, b, n in [("x", 1, 2), ("x", 2, 9), ("y", 1, 7), ("y", 2, 3), ("z", 2, 8)]],
    ],
)
def test_without_secondary_suppression_the_audit_fails(rows):
    tables = disclosure.aggregate(rows, AB)
    assert disclosure.recoverable(tables, primary_only(tables), AB) != []
    hidden = disclosure.suppress(tables, AB)
    assert disclosure.recoverable(tables, hidden, AB) == []
    for grouping, table in tables.items():
        for key, count in table.items():
            if 0 < count < 5:
                assert key in hidden[grouping]
            if count == 0:
                assert key not in hidden[grouping]
