"""The regulator's patterns as the summary task prepares them (reports.pattern_report.prepare): for every usual
period (all time, each year, quarter and month) and every grouping, the prepared answer is the one worked out
from the summary tables, byte for byte, hidden counts and medians included; the CSV too. A summary that has
moved on since is worked out again, never answered from cells prepared for the summary before."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from cases.models import PatternCloseDays, PatternMonth, PatternState
from reports import pattern_report
from reports.models import PatternCell, PatternSet
from tests.reports import pattern_data

pytestmark = pytest.mark.django_db

DIMS = ("region", "forum_kind", "dispute_type", "month")
ALL_GROUPINGS = [c for n in range(5) for c in itertools.combinations(DIMS, n)]
# Eight months over two years: whole years, whole and partial quarters, single months.
MONTHS = [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1), *(dt.date(2026, m, 1) for m in range(1, 6))]


@pytest.fixture
def districts(db):
    return pattern_data.make_districts()


def fill(districts, *, seed: int = 5) -> None:
    """Many small counts and zeros (the hard case for disclosure control), and days to close for medians."""
    rnd = random.Random(seed)
    counts = (0, 0, 1, 2, 3, 4, 5, 6, 9, 15)
    months, closes = [], []
    for region in districts.values():
        for kind in ("jirga", "muslahathi"):
            for dispute in ("land", "water", "honour"):
                for month in MONTHS:
                    values = {name: rnd.choice(counts) for name in pattern_data.COUNTS}
                    values["resolved"] = min(values["resolved"], values["closed"])
                    values["checks"] = rnd.choice((0, 2, 6, 12))
                    values["checks_met"] = rnd.randint(0, values["checks"])
                    values["surveys"] = rnd.choice((0, 3, 8))
                    values["satisfaction_sum"] = 4 * values["surveys"]
                    values["fairness_sum"] = 3 * values["surveys"]
                    cell = {"month": month, "region": region, "forum_kind": kind, "dispute_type": dispute}
                    months.append(PatternMonth(**cell, **values))
                    left, days = values["closed"], 0
                    while left:
                        n = rnd.randint(1, left)
                        days += rnd.randint(1, 30)
                        closes.append(PatternCloseDays(**cell, days=days, n=n))
                        left -= n
    PatternMonth.objects.bulk_create(months)
    PatternCloseDays.objects.bulk_create(closes)
    PatternState.objects.update_or_create(pk=1, defaults={"last_event_id": 99, "updated_at": timezone.now()})


def queries(empty_district: str) -> list[dict[str, str]]:
    """Every usual period at every grouping (in the API's order, and reversed), and a few filters (one of them a
    known district without figures: an unknown code is refused with a 400)."""
    periods = [{}, {"from": "2025-01", "to": "2025-12"}, {"from": "2026-01", "to": "2026-12"}]
    periods += [{"from": "2025-10", "to": "2025-12"}, {"from": "2026-01", "to": "2026-03"}]
    periods += [{"from": "2026-04", "to": "2026-06"}]
    periods += [{"from": m.strftime("%Y-%m"), "to": m.strftime("%Y-%m")} for m in MONTHS]
    found = []
    for period in periods:
        for grouping in ALL_GROUPINGS:
            found.append({**period, "group_by": ",".join(grouping)})
            if len(grouping) > 1:
                found.append({**period, "group_by": ",".join(reversed(grouping))})
        found.append({**period, "group_by": "month", "region": "bannu"})
        found.append({**period, "group_by": "dispute_type,region", "forum_kind": "jirga"})
        found.append({**period, "region": "swat", "forum_kind": "muslahathi", "dispute_type": "land"})
        found.append({**period, "group_by": "month", "region": empty_district})
    return found


def answers(client, path: str, queries: list[dict[str, str]]) -> list[bytes]:
    found = []
    for query in queries:
        response = client.get(path, query)
        assert response.status_code == 200, (query, response.content)
        found.append(response.getvalue())
    return found


def test_the_prepared_answers_are_the_computed_ones_for_every_usual_period_and_grouping(world, as_user, districts):
    fill(districts)
    client = as_user(world.dave)
    asked = queries(world.jirga.region.code)
    computed = answers(client, "/api/reports/patterns/", asked)
    computed_csv = answers(client, "/api/reports/patterns.csv", asked[::7])

    prepared = pattern_report.prepare()
    assert prepared["prepared"]
    assert prepared["periods"] == 1 + 2 + 3 + len(MONTHS)
    cache.clear()  # Nothing worked out before may answer now.
    assert answers(client, "/api/reports/patterns/", asked) == computed
    assert answers(client, "/api/reports/patterns.csv", asked[::7]) == computed_csv
    # The answers hold hidden counts and medians: the comparison has teeth.
    finest = client.get("/api/reports/patterns/", {"group_by": ",".join(DIMS)}).json()["cells"]
    assert any(cell["suppressed"] for cell in finest)
    assert any(cell["median_days_to_close"] is not None for cell in finest)


def test_the_api_reads_the_prepared_cells_while_the_summary_stays_the_same(world, as_user, districts):
    fill(districts)
    client = as_user(world.dave)
    before = client.get("/api/reports/patterns/", {"group_by": "region", "from": "2026-01", "to": "2026-03"})
    pattern_report.prepare()
    cache.clear()
    PatternMonth.objects.all().delete()  # Behind the summary's back: the prepared cells still answer.
    PatternCloseDays.objects.all().delete()
    after = client.get("/api/reports/patterns/", {"group_by": "region", "from": "2026-01", "to": "2026-03"})
    assert after.json() == before.json()
    assert after.json()["cells"]
    # A period that is not a usual one is worked out from the tables as they are.
    odd = client.get("/api/reports/patterns/", {"group_by": "region", "from": "2026-01", "to": "2026-02"})
    assert odd.json()["cells"] == []


def test_a_summary_that_moved_on_is_worked_out_again_until_prepared(world, as_user, districts):
    fill(districts)
    client = as_user(world.dave)
    pattern_report.prepare()
    first = client.get("/api/reports/patterns/", {"group_by": "region"}).json()
    swat = next(cell for cell in first["cells"] if cell["region"] == "swat")
    PatternMonth.objects.filter(region__code="swat").update(opened=0)
    PatternState.objects.update(last_event_id=120, updated_at=timezone.now())
    moved = client.get("/api/reports/patterns/", {"group_by": "region"}).json()
    assert moved["generated_at"] != first["generated_at"]
    assert next(cell for cell in moved["cells"] if cell["region"] == "swat")["opened"] == 0 != swat["opened"]

    again = pattern_report.prepare()
    assert again["prepared"]
    assert pattern_report.prepare()["prepared"] is False  # Prepared already: left as it is.
    assert PatternSet.objects.count() == 1  # The set before, and its cells, are gone.
    assert set(PatternCell.objects.values_list("pattern_set_id", flat=True)) == {PatternSet.objects.get().pk}
    assert client.get("/api/reports/patterns/", {"group_by": "region"}).json() == moved


def test_the_command_and_the_task_prepare_the_cells(world, as_user, districts, settings):
    fill(districts)
    call_command("summarise_patterns", verbosity=0)
    prepared = PatternSet.objects.get(ready=True)
    assert prepared.last_event_id == PatternState.objects.get().last_event_id
    assert ".." in prepared.periods
    assert "2026-01..2026-03" in prepared.periods
    assert "2025-01..2025-12" in prepared.periods
    assert PatternCell.objects.filter(pattern_set=prepared, period="..", grouping="").count() == 1


def test_only_regulators_and_administrators_read_prepared_patterns(world, as_user, districts):
    fill(districts)
    pattern_report.prepare()
    for who, status in (("dave", 200), ("carol", 200), ("alice", 403), ("eve", 403)):
        for path in ("/api/reports/patterns/", "/api/reports/patterns.csv"):
            assert as_user(getattr(world, who)).get(path).status_code == status, (who, path)
    response = as_user(world.dave).get("/api/reports/patterns/", {"group_by": "colour"})
    assert response.status_code == 400
    assert response.json()["error"]["code"]
