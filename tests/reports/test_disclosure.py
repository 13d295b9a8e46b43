"""cases.disclosure on random tables: small counts hidden, and nothing recoverable by subtraction."""

import random

import pytest

from reports import disclosure

DIMS = ("region", "forum_kind", "dispute_type", "month")


def random_rows(seed: int):
    rnd = random.Random(seed)
    rows = []
    for region in range(rnd.randint(1, 5)):
        for kind in range(rnd.randint(1, 3)):
            for dispute in range(rnd.randint(1, 7)):
                for month in range(rnd.randint(1, 5)):
                    count = rnd.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 9, 20])
                    rows.append(
                        ({"region": region, "forum_kind": kind, "dispute_type": dispute, "month": month}, count)
                    )
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_hide_small_counts_and_leak_nothing(seed):
    tables = disclosure.aggregate(random_rows(seed), DIMS)
    hidden = disclosure.suppress(tables, DIMS)
    for grouping, table in tables.items():
        for key, count in table.items():
            if 0 < count < 5:
                assert key in hidden[grouping]
            if count == 0:
                assert key not in hidden[grouping]  # Zeros are published.
    assert disclosure.recoverable(tables, hidden, DIMS) == []


def test_a_single_small_cell_takes_a_partner_with_it():
    rows = [({"a": "x", "b": 1}, 3), ({"a": "x", "b": 2}, 7), ({"a": "x", "b": 3}, 12), ({"a": "y", "b": 1}, 9)]
    tables = disclosure.aggregate(rows, ("a", "b"))
    hidden = disclosure.suppress(tables, ("a", "b"))
    # x·1 (3) is hidden, and with it more: its column's other part (y·1), which is also the whole of row y,
    # so y's total, and then x's total beside it in the grand total.
    assert hidden[("a", "b")] == {("x", 1), ("y", 1)}
    assert hidden[("a",)] == {("x",), ("y",)}
    assert hidden[()] == set()
    assert disclosure.recoverable(tables, hidden, ("a", "b")) == []


def test_two_hidden_ones_under_a_published_total_take_a_third():
    rows = [({"a": "x", "b": 1}, 1), ({"a": "x", "b": 2}, 1), ({"a": "x", "b": 3}, 30)]
    tables = disclosure.aggregate(rows, ("a", "b"))
    hidden = disclosure.suppress(tables, ("a", "b"))
    # 32 − 30 = 2 = 1 + 1 would give both away; the 30 is hidden too (or the total).
    assert ("x", 3) in hidden[("a", "b")] or ("x",) in hidden[("a",)]
    assert disclosure.recoverable(tables, hidden, ("a", "b")) == []
