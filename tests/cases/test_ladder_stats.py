"""The escalation statistics' running totals: exact medians on fixed dates, periods that cut months, and
totals that always equal a recount from the timelines."""

import datetime as dt
import itertools
from collections import Counter

import pytest
import time_machine

from cases import ladder_stats
from cases.models import Case, CaseEvent, LadderOpenCount, LadderStat
from reports import selectors as report_selectors
from tests.cases.ladder_totals import totals
from tests.cases.test_services_escalation import climb

# These tests replay months of work with one API client (time_machine): see tokens_outlive_the_simulation.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tokens_outlive_the_simulation")]

UTC = dt.UTC


def at(day: str, hour: int = 10):
    return time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC), tick=False)


@pytest.fixture
def january(world, open_case):
    """Four cases opened on 1 January 2026 at 10:00 and moved on fixed dates:
    A up on the 11th (10 days at rung 1), down on the 31st (20 days at rung 2);
    B up on the 5th (4 days), down on the 13th (8 days at rung 2);
    C up on the 7th (6 days), still at rung 2;
    D up on the 2nd (1 day), down on 15 March (72 days at rung 2)."""
    with at("2026-01-01"):
        cases = {name: open_case() for name in "ABCD"}
    script = [
        ("2026-01-02", "D", "up"),
        ("2026-01-05", "B", "up"),
        ("2026-01-07", "C", "up"),
        ("2026-01-11", "A", "up"),
        ("2026-01-13", "B", "down"),
        ("2026-01-31", "A", "down"),
        ("2026-03-15", "D", "down"),
    ]
    for day, name, direction in script:
        with at(day):
            climb(cases[name], direction=direction, reason="What changed")
    return cases


def report(world, **filters):
    return report_selectors.escalation_report(user=world.carol, **filters)


def test_medians_over_all_time(world, january):
    body = report(world)
    # Rung 1: 1, 4, 6, 10 days → 5. Rung 2: 8, 20 and 72 days (the week from 72 to 79, shown as 75.5) → 20.
    assert body["median_days_at_rung"] == {"1": 5.0, "2": 20.0}
    assert (body["moves_up"], body["moves_down"]) == (4, 3)
    assert (body["escalated_cases"], body["came_back_down"]) == (4, 3)
    assert [(r["level"], r["open_cases"]) for r in body["rungs"][:2]] == [(1, 3), (2, 1)]


def test_a_whole_month(world, january):
    body = report(world, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31))
    assert body["median_days_at_rung"] == {"1": 5.0, "2": 14.0}
    assert (body["moves_up"], body["moves_down"]) == (4, 2)
    # All four first went up in January, and three have come down since (D in March).
    assert (body["escalated_cases"], body["came_back_down"]) == (4, 3)
    assert body["moves_by_month"] == [
        {"month": "2026-01", "level": 1, "moves_up": 0, "moves_down": 2},
        {"month": "2026-01", "level": 2, "moves_up": 4, "moves_down": 0},
    ]


def test_part_of_a_month(world, january):
    body = report(world, date_from=dt.date(2026, 1, 10), date_to=dt.date(2026, 1, 31))
    # A up on the 11th (10 days at 1), B down on the 13th (8 at 2), A down on the 31st (20 at 2).
    assert body["median_days_at_rung"] == {"1": 10.0, "2": 14.0}
    assert (body["moves_up"], body["moves_down"]) == (1, 2)
    assert (body["escalated_cases"], body["came_back_down"]) == (1, 1)


def test_a_period_across_months(world, january):
    body = report(world, date_from=dt.date(2026, 1, 12), date_to=dt.date(2026, 3, 20))
    assert body["median_days_at_rung"] == {"2": 20.0}  # 8, 20 and 75.5.
    assert (body["moves_up"], body["moves_down"]) == (0, 3)
    assert [row["month"] for row in body["moves_by_month"]] == ["2026-01", "2026-03"]


def test_a_period_with_nothing_in_it(world, january):
    body = report(world, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 28))
    assert body["median_days_at_rung"] == {}
    assert (body["moves_up"], body["moves_down"], body["escalated_cases"]) == (0, 0, 0)


def test_every_period_agrees_with_a_recount_from_the_timelines(world, january):
    """The report's mix of running totals (whole months) and timelines (partial months) gives what counting
    every event of the period would give, for every period between the first and the last move."""
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(0, 80, 3)] + [None]
    forum_ids = [world.jirga.pk]
    everything = CaseEvent.objects.values("case_id")
    for date_from, date_to in itertools.product(days, days):
        if date_from and date_to and date_from > date_to:
            continue
        recount = Counter()
        for (_forum, *key), n in ladder_stats.history_counts(
            case_ids=everything, date_from=date_from, date_to=date_to
        ).items():
            recount[tuple(key)] += n
        assert ladder_stats.counts(forum_ids=forum_ids, date_from=date_from, date_to=date_to) == recount, (
            date_from,
            date_to,
        )


def test_the_running_totals_equal_a_rebuild(world, january, open_case):
    """What the services add move by move is what a recount from scratch finds."""
    ended = open_case()
    climb(ended, direction="up", reason="r")
    ended.move("referred", reason="Sent to court")
    kept = totals()
    ladder_stats.rebuild()
    assert totals() == kept
    assert sum(kept[0].values()) == Case.objects.exclude(state__in=("closed", "withdrawn", "referred")).count()


def test_bucket_values():
    assert [ladder_stats.bucket_of(d) for d in (0, 0.5, 1, 29.9, 30, 36.9, 37, 400, 5000)] == [
        0,
        0,
        1,
        29,
        30,
        30,
        37,
        371,
        735,
    ]
    assert ladder_stats.bucket_value(3) == 3.0
    assert ladder_stats.bucket_value(30) == 33.5
    assert ladder_stats.bucket_value(735) == 735.0
    assert ladder_stats.median({}) is None
    assert ladder_stats.median({2: 1, 4: 1}) == 3.0
    assert ladder_stats.median({2: 3, 4: 1}) == 2.0


def test_the_rebuild_command_repairs_damaged_totals(world, january):
    from django.core.management import call_command

    kept = totals()
    LadderStat.objects.filter(metric="stay").delete()
    LadderOpenCount.objects.update(open_cases=99)
    assert report_selectors.escalation_report(user=world.carol)["median_days_at_rung"] == {}
    call_command("rebuild_ladder_stats")
    assert totals() == kept
    assert report(world)["median_days_at_rung"] == {"1": 5.0, "2": 20.0}


def test_migration_0008_fills_what_a_rebuild_finds(world, january, open_case):
    """0008 carries a frozen copy of the rebuild; on the same data it fills the same totals."""
    import importlib

    from django.apps import apps

    ended = open_case()
    climb(ended, direction="up", reason="r")
    ended.move("referred", reason="Sent to court")
    ladder_stats.rebuild()
    rebuilt = totals()
    LadderStat.objects.all().delete()
    LadderOpenCount.objects.all().delete()
    importlib.import_module("cases.migrations.0008_ladder_moves").fill(apps, None)
    assert totals() == rebuilt
    assert rebuilt[1], "the fixture's moves must give totals to compare"
