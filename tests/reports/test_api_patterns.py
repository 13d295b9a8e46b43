"""The regulator's patterns: who reads them, what they hold, and that no hidden count can be worked out by
subtracting published ones, at any two groupings the API serves."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest

from cases.models import PatternMonth
from reports import disclosure, pattern_report
from tests.reports import pattern_data

pytestmark = pytest.mark.django_db

DIMS = ("region", "forum_kind", "dispute_type", "month")
COUNTS = ("opened", "closed", "resolved", "escalations_up", "escalations_down", "breaches", "recurrences")
ALL_GROUPINGS = [c for n in range(5) for c in itertools.combinations(DIMS, n)]


@pytest.fixture
def districts(db):
    return pattern_data.make_districts()


def fill(districts) -> list[PatternMonth]:
    """Summary rows with many small counts and zeros: the hard case for disclosure control."""
    return pattern_data.fill_months(
        districts,
        seed=7,
        months=5,
        disputes=("land", "water", "honour", "debt", "killing"),
        counts=(0, 0, 1, 2, 3, 4, 5, 6, 9, 15),
        checks=(0, 2, 6, 12),
    )


def true_tables(rows, name: str, *, groupings=ALL_GROUPINGS) -> dict:
    tables = {}
    for grouping in groupings:
        table = {}
        for row in rows:
            month = row.month.strftime("%Y-%m")
            values = {
                "region": row.region.code,
                "forum_kind": row.forum_kind,
                "dispute_type": row.dispute_type,
                "month": month,
                "year": month[:4],
                "quarter": pattern_report._time_of(month)[1],
            }
            key = tuple(values[d] for d in grouping)
            table[key] = table.get(key, 0) + getattr(row, name)
        tables[grouping] = table
    return tables


def served(client, grouping, **params) -> dict:
    response = client.get("/api/reports/patterns/", {"group_by": ",".join(grouping), **params})
    assert response.status_code == 200, response.content
    return {tuple(cell[d] for d in grouping): cell for cell in response.json()["cells"]}


def test_no_small_count_is_published_nor_recoverable_from_any_two_groupings(world, as_user, districts):
    rows = fill(districts)
    client = as_user(world.dave)
    assert_protected({grouping: served(client, grouping) for grouping in ALL_GROUPINGS}, rows)


def assert_protected(answers: dict, rows: list[PatternMonth]) -> None:
    for name in COUNTS:
        truth = true_tables(rows, name)
        hidden = {g: {k for k, cell in answers[g].items() if cell[name] is None} for g in ALL_GROUPINGS}
        for grouping in ALL_GROUPINGS:
            assert set(answers[grouping]) == set(truth[grouping])
            for key, cell in answers[grouping].items():
                value = cell[name]
                assert value is None or value == 0 or value >= 5, (name, grouping, key, value)
                if value is not None:
                    assert value == truth[grouping][key]
                assert cell["suppressed"] or value is not None
        # Subtraction between any two groupings, one finer than the other: within every published total,
        # never exactly one hidden part, and hidden parts that are not all forced to be ones.
        for coarse, fine in itertools.permutations(ALL_GROUPINGS, 2):
            if not set(coarse) < set(fine):
                continue
            positions = [fine.index(d) for d in coarse]
            parts: dict[tuple, list[tuple]] = {}
            for key in truth[fine]:
                parts.setdefault(tuple(key[p] for p in positions), []).append(key)
            for total_key, keys in parts.items():
                secret = [k for k in keys if k in hidden[fine]] + ([total_key] if total_key in hidden[coarse] else [])
                assert len(secret) != 1, (name, coarse, total_key, fine)
                if secret and total_key not in hidden[coarse]:
                    remainder = truth[coarse][total_key] - sum(truth[fine][k] for k in keys if k not in hidden[fine])
                    assert remainder != len(secret), (name, coarse, total_key, fine, "all ones")


def test_answers_for_different_periods_cannot_be_subtracted_from_one_another(world, as_user, districts):
    """All time is protected over every grouping with the years, quarters and months; a period publishes
    only sums of what that publishes (its whole years and quarters, the months left over), and is protected
    on its own besides. The answers for overlapping periods (January–March less January–February) then give
    away nothing all time hides."""
    rows = fill(districts)
    client = as_user(world.dave)
    internal = pattern_report._all_time_cells()
    for name in COUNTS:
        truth = true_tables(rows, name, groupings=list(internal))
        hidden = {g: {k for k, cell in cells.items() if cell[name] is None} for g, cells in internal.items()}
        assert disclosure.recoverable(truth, hidden, pattern_report.ALL_TIME_DIMENSIONS) == [], name
        for g, cells in internal.items():
            assert all(cell[name] in (None, truth[g][k]) for k, cell in cells.items())

    months = sorted({row.month.strftime("%Y-%m") for row in rows})
    periods = [
        (a, b) for a, b in itertools.combinations_with_replacement(months, 2) if (a, b) != (months[0], months[-1])
    ]
    sums = from_whole_years_or_quarters = 0
    for first, last in periods:
        answers = {grouping: served(client, grouping, **{"from": first, "to": last}) for grouping in ALL_GROUPINGS}
        if (first, last) == ("2026-02", "2026-04"):
            assert_protected(answers, [row for row in rows if first <= row.month.strftime("%Y-%m") <= last])
        pieces = pattern_report._pieces(
            dt.date.fromisoformat(first + "-01"), dt.date.fromisoformat(last + "-01"), months
        )
        for grouping, cells in answers.items():
            base = tuple(d for d in grouping if d != "month")
            for key, cell in cells.items():
                if "month" in grouping:
                    parts = [
                        internal[base + pattern_report.MONTH_LEVEL].get(key[:-1] + pattern_report._time_of(key[-1]))
                    ]
                else:
                    parts = [internal[base + level].get(key + time_key) for level, time_key in pieces]
                parts = [part for part in parts if part is not None]  # A piece without data holds zeros.
                for name in COUNTS:
                    if cell[name] is None:
                        continue
                    assert all(part[name] is not None for part in parts), (first, last, grouping, key, name)
                    assert cell[name] == sum(part[name] for part in parts)
                    sums += "month" not in grouping
                    from_whole_years_or_quarters += "month" not in grouping and any(
                        len(level) < 3 for level, _key in pieces
                    )
    assert sums > 1000  # Periods do publish totals: the test has teeth.
    assert from_whole_years_or_quarters > 100


def test_rates_from_hidden_counts_are_hidden(world, as_user, districts):
    fill(districts)
    answers = served(as_user(world.dave), ("region", "forum_kind", "dispute_type", "month"))
    small = [
        (key, cell)
        for key, cell in answers.items()
        if PatternMonth.objects.get(
            region__code=key[0], forum_kind=key[1], dispute_type=key[2], month=dt.date.fromisoformat(key[3] + "-01")
        ).checks
        == 2
    ]
    assert small
    for _key, cell in small:
        assert cell["compliance_rate"] is None
        assert cell["suppressed"] is True


def test_the_csv_holds_the_same_cells(world, as_user, districts):
    fill(districts)
    client = as_user(world.carol)
    cells = client.get("/api/reports/patterns/", {"group_by": "region,dispute_type"}).json()["cells"]
    response = client.get("/api/reports/patterns.csv", {"group_by": "region,dispute_type"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming  # Line by line, not built whole first.
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(rows) == len(cells)
    for row, cell in zip(rows, cells, strict=True):
        assert (row["region"], row["dispute_type"]) == (cell["region"], cell["dispute_type"])
        assert row["opened"] == ("" if cell["opened"] is None else str(cell["opened"]))
        assert row["suppressed"] == ("true" if cell["suppressed"] else "false")


def test_filters_and_periods(world, as_user, districts):
    fill(districts)
    client = as_user(world.dave)
    body = client.get("/api/reports/patterns/", {"from": "2026-02", "to": "2026-03", "group_by": "month"}).json()
    assert [c["month"] for c in body["cells"]] == ["2026-02", "2026-03"]
    assert body["min_cell"] == 5
    assert body["generated_at"]
    swat = client.get("/api/reports/patterns/", {"region": "swat", "group_by": "dispute_type"}).json()["cells"]
    assert {c["region"] for c in swat} == {"swat"}
    assert len(swat) == 5
    total = client.get("/api/reports/patterns/").json()["cells"]
    assert len(total) == 1
    assert set(total[0]) >= {
        "opened",
        "closed",
        "resolved",
        "escalations_up",
        "escalations_down",
        "median_days_to_close",
        "compliance_rate",
        "suppressed",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13"}, "from"),
        ({"to": "March"}, "to"),
        ({"from": "2026-05", "to": "2026-01"}, "from"),
        ({"group_by": "region,name"}, "group_by"),
        ({"group_by": "month,month"}, "group_by"),
    ],
)
def test_bad_parameters_are_400(world, as_user, params, field):
    response = as_user(world.dave).get("/api/reports/patterns/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(("who", "status"), [("dave", 200), ("carol", 200), ("alice", 403), ("bob", 403), ("eve", 403)])
def test_only_regulators_and_administrators_read_patterns(world, as_user, who, status):
    client = as_user(getattr(world, who))
    for path in ("/api/reports/patterns/", "/api/reports/patterns.csv", "/api/reports/warnings/"):
        assert client.get(path).status_code == status, path


def test_anonymous_callers_are_401(api):
    for path in ("/api/reports/patterns/", "/api/reports/patterns.csv", "/api/reports/warnings/"):
        response = api.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"]


def test_a_district_whose_breaches_jump_is_an_alert(world, as_user, districts):
    week = pattern_data.fill_weeks(districts)
    body = as_user(world.dave).get("/api/reports/warnings/", {"week": (week + dt.timedelta(days=2)).isoformat()}).json()
    assert body["week"] == week.isoformat()
    assert [(a["region"], a["indicator"]) for a in body["alerts"]] == [("swat", "breaches")]
    alert = body["alerts"][0]
    assert (alert["count"], alert["baseline_4_weeks"], alert["baseline_52_weeks"]) == (9, 4.0, 4.0)
    assert alert["change_vs_4_weeks"] == 1.25
    # Bannu's 3 breaches are under five: neither shown nor alerted on.
    bannu_breaches = next(d for d in body["districts"] if d["region"] == "bannu")["indicators"]["breaches"]
    assert bannu_breaches["count"] is None
    assert bannu_breaches["alert"] is False


@pytest.mark.parametrize("week", ["0001-01-01", "9999-12-31"])
def test_a_week_out_of_range_is_a_400(world, as_user, week):
    response = as_user(world.dave).get("/api/reports/warnings/", {"week": week})
    assert response.status_code == 400, response.content[:300]
    assert "week" in response.json()["error"]["fields"]
