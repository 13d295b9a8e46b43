"""A regulator's month, written straight into the summary tables as reports.patterns would leave them: six
months of PatternMonth rows with many small counts, a year of weeks in which Swat's breaches jump, and open
cases on the ladders of forums in five districts (Bannu's pyramid inverted, Dir with a single case)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from cases import services
from cases.models import LadderOpenCount, PatternMonth, PatternState, PatternWeek, Region, Rung
from tests.factories import ForumFactory

DISTRICTS = (("swat", "Swat"), ("bannu", "Bannu"), ("mardan", "Mardan"), ("dir", "Dir"), ("kohat", "Kohat"))
COUNTS = ("opened", "closed", "resolved", "escalations_up", "escalations_down", "breaches", "recurrences")
# Open cases per district and rung (1 = the base).
OPEN_CASES = {
    "swat": {1: 20, 2: 7, 3: 3, 5: 2},
    "bannu": {1: 8, 2: 9, 5: 11},
    "mardan": {1: 12, 2: 5, 4: 1, 5: 6},
    "dir": {1: 1},
    "kohat": {1: 6, 2: 5},
}
ALERT_WEEK = dt.date(2026, 6, 1)


def make_districts() -> dict[str, Region]:
    province = Region.objects.create(name="Khyber Pakhtunkhwa", code="kp", kind="province")
    return {
        code: Region.objects.create(name=name, code=code, kind="district", parent=province) for code, name in DISTRICTS
    }


def fill_months(
    districts: dict[str, Region],
    *,
    seed: int = 11,
    months: int = 6,
    disputes=("land", "water", "killing"),
    counts=(0, 1, 2, 3, 4, 5, 7, 9, 12, 20),
    checks=(0, 6, 10, 12),
) -> list[PatternMonth]:
    rnd = random.Random(seed)
    rows = []
    for region in districts.values():
        for kind in ("jirga", "muslahathi"):
            for dispute in disputes:
                for m in range(months):
                    values = {name: rnd.choice(counts) for name in COUNTS}
                    values["resolved"] = min(values["resolved"], values["closed"])
                    values["checks"] = rnd.choice(checks)
                    values["checks_met"] = rnd.randint(0, values["checks"])
                    rows.append(
                        PatternMonth(
                            month=dt.date(2026, m + 1, 1),
                            region=region,
                            forum_kind=kind,
                            dispute_type=dispute,
                            **values,
                        )
                    )
    PatternMonth.objects.bulk_create(rows)
    PatternState.objects.create(last_event_id=99, updated_at=timezone.now())
    return rows


def fill_weeks(districts: dict[str, Region]) -> dt.date:
    """A year of quiet weeks, then Swat's breaches jump from 4 a week to 9; Bannu's 3 stay under five."""
    rows = []
    for n in range(1, 53):
        week = ALERT_WEEK - dt.timedelta(weeks=n)
        rows.append(PatternWeek(week=week, region=districts["swat"], breaches=4, escalations_up=6))
        rows.append(PatternWeek(week=week, region=districts["bannu"], breaches=1))
    rows.append(PatternWeek(week=ALERT_WEEK, region=districts["swat"], breaches=9, escalations_up=6))
    rows.append(PatternWeek(week=ALERT_WEEK, region=districts["bannu"], breaches=3))
    PatternWeek.objects.bulk_create(rows)
    return ALERT_WEEK


def fill_ladders(districts: dict[str, Region]) -> None:
    ladder = services.ladder_default()
    rungs = {rung.level: rung for rung in Rung.objects.filter(ladder=ladder)}
    for code, counts in OPEN_CASES.items():
        forum = ForumFactory(name=f"{code} forum", region=districts[code], ladder=ladder)
        for level, n in counts.items():
            LadderOpenCount.objects.create(forum=forum, rung=rungs[level], open_cases=n)


def fill_month(districts: dict[str, Region]) -> list[PatternMonth]:
    rows = fill_months(districts)
    fill_weeks(districts)
    fill_ladders(districts)
    return rows
