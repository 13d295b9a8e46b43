"""Reads of the regulator summary (reports.patterns writes it): cells at any grouping of region, forum kind,
dispute type and month, with small counts hidden (reports.disclosure), and the early warnings.

Everything here leaves the forums: no names, no pseudonyms, no free text, only counts of at least
MIN_CELL (or zero), rates and medians of such counts, district codes and the vocabulary's codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any, TypedDict, cast

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import rules as case_rules
from cases.models import CaseRiskFactor, PatternCloseDays, PatternMonth, PatternState, PatternWeek, Region, RiskFactor
from cases.workflows import ENDED
from config.errors import ForbiddenError, SulhError

from . import disclosure
from .disclosure import Grouping, Key
from .models import PatternSet

MIN_CELL = 5
DIMENSIONS = ("region", "forum_kind", "dispute_type", "month")
# Counts every cell carries (the contract's first five, then what shared/DOMAIN.md adds). Each is protected
# on its own; `checks` and `checks_met` only feed the compliance rate and `surveys` the survey means.
COUNTS = (
    "opened",
    "closed",
    "resolved",
    "escalations_up",
    "escalations_down",
    "partly_resolved",
    "breakdown",
    "withdrawn",
    "referred",
    "referred_in",
    "agreements",
    "breaches",
    "imminent",
    "recurrences",
    "prohibited_blocked",
    "sessions",
    "deposits_forfeited",
    "guarantors_called",
    "cases_with_ties",
    "sessions_with_women",
    "sessions_women_spoke",
)
HIDDEN_PARTS = ("checks", "checks_met", "surveys")
CACHE_SECONDS = 3600
# In every cache key: cells cached by a release with other counts (a new count added) are never read as this
# release's, which would be a KeyError for an hour after an upgrade.
CACHE_VERSION = hashlib.sha256(",".join(COUNTS).encode()).hexdigest()[:8]

# A protected cell: {count: value, or None when hidden; "compliance_rate", "satisfaction_mean",
# "fairness_mean": a figure or None; "suppressed": bool; "_hidden": the hidden parts (HIDDEN_PARTS)}.
Cell = dict[str, Any]
# {grouping: {key: cell}}: one protected lattice.
Cells = dict[Grouping, dict[Key, Cell]]
# {grouping: {key: {field: sum}}}: the sums a lattice is protected from.
Sums = dict[Grouping, dict[Key, dict[str, int]]]


class PatternQuery(TypedDict):
    """The report's filters, as parse_query reads them and `patterns` takes them."""

    month_from: dt.date | None
    month_to: dt.date | None
    group_by: tuple[str, ...]
    region: str | None
    forum_kind: str | None
    dispute_type: str | None


# "from" is a keyword: the functional syntax.
PatternReport = TypedDict(
    "PatternReport",
    {
        "generated_at": str | None,
        "min_cell": int,
        "from": str | None,
        "to": str | None,
        "group_by": list[str],
        "cells": list[dict[str, Any]],  # The dimensions asked for, then every figure of a Cell.
    },
)


class FactorCount(TypedDict):
    factor: int
    name: str
    open_cases: int | None  # None when hidden.


class RiskFactorCounts(TypedDict):
    overall: list[FactorCount]
    districts: dict[str, list[FactorCount]]  # By district code.


class EarlyWarnings(TypedDict):
    """The early warning, as the API answers it. A district is {"region", "region_name", "week", "indicators":
    {metric: indicator}, "risk_factors"}; an alert is an indicator with its "region", "region_name",
    "indicator" and "risk_factors"."""

    week: str
    min_cell: int
    threshold: float
    alerts: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    risk_factors: list[FactorCount]


def _month(value: str | None, *, field: str) -> dt.date | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    try:
        if match is None:
            raise ValueError(value)
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise SulhError(
            _("Months are written YYYY-MM."), code="invalid", fields={field: [_("A month such as 2026-03.")]}
        ) from None


def parse_query(params: Mapping[str, str | None]) -> PatternQuery:
    """The report's filters from query parameters (`from`, `to`, `group_by`, `region`, `forum_kind`,
    `dispute_type`); a 400 naming the field for anything else."""
    month_from = _month(params.get("from"), field="from")
    month_to = _month(params.get("to"), field="to")
    if month_from and month_to and month_from > month_to:
        raise SulhError(_("The period starts after it ends."), code="invalid", fields={"from": [_("Not after `to`.")]})
    group_by = [g.strip() for g in (params.get("group_by") or "").split(",") if g.strip()]
    unknown = [g for g in group_by if g not in DIMENSIONS]
    if unknown or len(set(group_by)) != len(group_by):
        raise SulhError(
            _("group_by takes region, dispute_type, forum_kind and month, each at most once."),
            code="invalid",
            fields={"group_by": [_("Unknown or repeated: %(names)s") % {"names": ", ".join(unknown) or group_by}]},
        )
    return {
        "month_from": month_from,
        "month_to": month_to,
        "group_by": tuple(group_by),
        "region": (params.get("region") or "").strip() or None,
        "forum_kind": (params.get("forum_kind") or "").strip() or None,
        "dispute_type": (params.get("dispute_type") or "").strip() or None,
    }


def _check_reader(user: User | AnonymousUser) -> None:
    if not case_rules.can_read_reports(user):
        raise ForbiddenError(_("Only regulators and administrators read these reports."))


def _state() -> tuple[int, str | None]:
    state = PatternState.objects.first()
    if state is None or state.updated_at is None:
        return 0, None
    return state.last_event_id, state.updated_at.isoformat()


def patterns(
    *,
    user: User | AnonymousUser,
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
    group_by: Sequence[str] = (),
    region: str | None = None,
    forum_kind: str | None = None,
    dispute_type: str | None = None,
) -> PatternReport:
    """{"generated_at", "min_cell", "cells": [...]} for the regulator, as the contract describes. The hidden
    cells are worked out over every grouping of the period at once, so that no two answers for the same
    period let a hidden count be subtracted out; filters only pick cells of that protected lattice. A period
    publishes only what follows from what all time publishes by year, quarter and month, so that answers
    for different periods cannot be subtracted from one another either (see _period_cells). The usual
    periods are read from the cells the summary task prepared (prepare), the same cells worked out ahead."""
    _check_reader(user)
    grouping, shown, wanted = _shape(group_by, region, forum_kind, dispute_type)
    prepared = _prepared_cells(month_from, month_to, grouping, shown, wanted)
    if prepared is not None:
        generated_at, cells = prepared
    else:
        mark, generated_at = _state()
        cells = [
            {**{dim: keys[dim] for dim in shown}, **figures}  # The keys in the order the caller asked for.
            for keys, figures in _computed_cells(mark, month_from, month_to, grouping, wanted)
        ]
        cells.sort(key=lambda c: tuple(str(c[d]) for d in shown))
    return cast(PatternReport, {**_head(generated_at, month_from, month_to, group_by), "cells": cells})


def _shape(
    group_by: Sequence[str], region: str | None, forum_kind: str | None, dispute_type: str | None
) -> tuple[Grouping, list[str], dict[str, str]]:
    """(the grouping whose cells answer, the dimensions each cell shows in order, the filters)."""
    wanted = {
        dim: value
        for dim, value in (("region", region), ("forum_kind", forum_kind), ("dispute_type", dispute_type))
        if value is not None
    }
    # A filter picks cells of the grouping that holds the filtered dimension too.
    grouping = tuple(d for d in DIMENSIONS if d in group_by or d in wanted)
    shown = [*group_by, *(d for d in DIMENSIONS if d in wanted and d not in group_by)]
    return grouping, shown, wanted


def _head(
    generated_at: str | None, month_from: dt.date | None, month_to: dt.date | None, group_by: Sequence[str]
) -> dict[str, Any]:
    return {
        "generated_at": generated_at,
        "min_cell": MIN_CELL,
        "from": month_from.strftime("%Y-%m") if month_from else None,
        "to": month_to.strftime("%Y-%m") if month_to else None,
        "group_by": list(group_by),
    }


# A cell's figures, in the order the API answers them (after the cell's keys).
FIGURES = (*COUNTS, "median_days_to_close", "compliance_rate", "satisfaction_mean", "fairness_mean", "suppressed")


def _figures(values: Cell, median: float | None) -> dict[str, Any]:
    """A protected cell's figures as the API answers them; the median only beside a published count closed."""
    figures: dict[str, Any] = {name: values[name] for name in COUNTS}
    closed_hidden = values["closed"] is None
    figures["median_days_to_close"] = None if closed_hidden or not values["closed"] else median
    figures["compliance_rate"] = values["compliance_rate"]
    figures["satisfaction_mean"] = values["satisfaction_mean"]
    figures["fairness_mean"] = values["fairness_mean"]
    figures["suppressed"] = values["suppressed"]
    return figures


def _computed_cells(
    mark: int, month_from: dt.date | None, month_to: dt.date | None, grouping: Grouping, wanted: Mapping[str, str]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(keys, figures) of the grouping's cells in the period that the filters pick, worked out from the summary
    tables (through the cache)."""
    lattice_cells = _cached(mark, month_from, month_to)
    medians_key = f"patterns-medians:{CACHE_VERSION}:{mark}:{month_from}:{month_to}:{','.join(grouping)}"
    medians: dict[Key, float] | None = cache.get(medians_key)
    if medians is None:
        medians = _medians(grouping, month_from, month_to)
        cache.set(medians_key, medians, CACHE_SECONDS)
    for key_values, values in lattice_cells.get(grouping, {}).items():
        keys = dict(zip(grouping, key_values, strict=True))
        if any(keys[dim] != value for dim, value in wanted.items()):
            continue
        yield keys, _figures(values, medians.get(key_values))


def _months(month_from: dt.date | None, month_to: dt.date | None) -> QuerySet[PatternMonth]:
    qs = PatternMonth.objects.all()
    if month_from:
        qs = qs.filter(month__gte=month_from)
    if month_to:
        qs = qs.filter(month__lte=month_to)
    return qs


def _cached(mark: int, month_from: dt.date | None, month_to: dt.date | None) -> Cells:
    """The protected cells of the period at every grouping the API serves, worked out once per summary
    (watermark) and period."""
    key = f"patterns:{CACHE_VERSION}:{mark}:{month_from}:{month_to}"
    cells: Cells | None = cache.get(key)
    if cells is None:
        all_time = _all_time_cached(mark)
        if month_from is None and month_to is None:
            cells = _api_view(all_time)
        else:
            cells = _period_cells(month_from, month_to, all_time)
        cache.set(key, cells, CACHE_SECONDS)
    return cells


def cells_warm() -> None:
    """Work out all time's protected cells for the summary as it now stands (the summary task calls this)."""
    _cached(_state()[0], None, None)


def _all_time_cached(mark: int) -> Cells:
    key = f"patterns-all-time:{CACHE_VERSION}:{mark}"
    cells: Cells | None = cache.get(key)
    if cells is None:
        cells = _all_time_cells()
        cache.set(key, cells, CACHE_SECONDS)
    return cells


FIELDS = COUNTS + HIDDEN_PARTS + ("satisfaction_sum", "fairness_sum")
# All time is protected with the years and quarters too, so that a period made of whole years or quarters
# can be published from them (see _period_cells).
BASE_DIMENSIONS = ("region", "forum_kind", "dispute_type")
TIME_LEVELS = ((), ("year",), ("year", "quarter"), ("year", "quarter", "month"))
ALL_TIME_DIMENSIONS = (*BASE_DIMENSIONS, "year", "quarter", "month")
MONTH_LEVEL = TIME_LEVELS[-1]


def _time_of(month: str) -> tuple[str, str, str]:
    """ "2025-03" → ("2025", "2025-Q1", "2025-03")."""
    return month[:4], f"{month[:4]}-Q{(int(month[5:7]) + 2) // 3}", month


def _finest(month_from: dt.date | None, month_to: dt.date | None) -> dict[Key, dict[str, int]]:
    """{(region, forum kind, dispute type, "YYYY-MM"): {field: sum}} of the summary rows in the period."""
    # The sums' names are computed, so the row type django-stubs gives a values() row misses them.
    rows = cast(
        "QuerySet[PatternMonth, dict[str, Any]]",
        _months(month_from, month_to)
        .values("region__code", "forum_kind", "dispute_type", "month")
        .annotate(**{f"{name}_total": Sum(name) for name in FIELDS})
        .order_by(),
    )
    finest: dict[Key, dict[str, int]] = {}
    for row in rows.iterator(chunk_size=5000):
        key = (row["region__code"], row["forum_kind"], row["dispute_type"], row["month"].strftime("%Y-%m"))
        finest[key] = {name: row[f"{name}_total"] or 0 for name in FIELDS}
    return finest


def _all_time_cells() -> Cells:
    """{grouping: {key: cell}} over every grouping of district, forum kind and dispute type with nothing of
    time, the year, the year's quarter or the quarter's month: one protected lattice."""
    finest = {(*key[:3], *_time_of(key[3])): values for key, values in _finest(None, None).items()}
    groupings = [base + level for base in disclosure.groupings(BASE_DIMENSIONS) for level in TIME_LEVELS]
    return _protect(finest, ALL_TIME_DIMENSIONS, groupings)


def _api_view(all_time: Cells) -> Cells:
    """All time's cells at the groupings the API serves (the month keyed by itself)."""
    view: Cells = {}
    for grouping in disclosure.groupings(DIMENSIONS):
        base = tuple(d for d in grouping if d != "month")
        by_month = "month" in grouping
        cells = all_time.get(base + (MONTH_LEVEL if by_month else ()), {})
        view[grouping] = {key[: len(base)] + ((key[-1],) if by_month else ()): cell for key, cell in cells.items()}
    return view


def _period_cells(month_from: dt.date | None, month_to: dt.date | None, all_time: Cells) -> Cells:
    """The period's cells at every grouping the API serves, protected together; a cell is hidden too, count
    by count, unless it follows from what all time publishes: a month's cell when all time publishes it,
    any other when all time publishes each piece of the period — its whole years, whole quarters and the
    months left over (_pieces). Whatever any number of periods publish is then a sum of cells all time
    publishes, whose protection holds over every grouping: subtracting one period's answer from another's
    gives away nothing all time does not. A period hides more than all time, at fine groupings."""
    months = sorted({key[-1] for key in all_time.get(MONTH_LEVEL, {})})
    pieces = _pieces(month_from, month_to, months)

    def hidden_all_time(grouping: Grouping, key: Key, name: str) -> bool:
        cell = all_time.get(grouping, {}).get(key)
        if cell is None:
            return False  # Not a cell all time has: nothing there, nothing hidden.
        return (name in cell["_hidden"]) if name in HIDDEN_PARTS else cell[name] is None

    def not_following(tables: Sums, name: str) -> dict[Grouping, set[Key]]:
        result: dict[Grouping, set[Key]] = {}
        for grouping, table in tables.items():
            base = tuple(d for d in grouping if d != "month")
            if "month" in grouping:
                result[grouping] = {
                    key for key in table if hidden_all_time(base + MONTH_LEVEL, key[:-1] + _time_of(key[-1]), name)
                }
            else:
                result[grouping] = {
                    key
                    for key in table
                    if any(hidden_all_time(base + level, key + time_key, name) for level, time_key in pieces)
                }
        return result

    return _protect(_finest(month_from, month_to), DIMENSIONS, disclosure.groupings(DIMENSIONS), not_following)


def _pieces(month_from: dt.date | None, month_to: dt.date | None, months: list[str]) -> list[tuple[Grouping, Key]]:
    """The period's months among `months` (those with data) as whole years, whole quarters and the months
    left over: [(time level, time key)]. A year or quarter is whole when the period holds every one of its
    months that has data: its cell all time is then the period's part."""
    low = month_from.strftime("%Y-%m") if month_from else ""
    high = month_to.strftime("%Y-%m") if month_to else "9999-99"
    inside = [month for month in months if low <= month <= high]
    taken = set(inside)
    of_year: dict[str, list[str]] = defaultdict(list)
    of_quarter: dict[str, list[str]] = defaultdict(list)
    for month in months:
        year, quarter, _month = _time_of(month)
        of_year[year].append(month)
        of_quarter[quarter].append(month)
    pieces: list[tuple[Grouping, Key]] = []
    for year in sorted({month[:4] for month in inside}):
        if all(month in taken for month in of_year[year]):
            pieces.append((("year",), (year,)))
            continue
        for quarter in sorted({_time_of(month)[1] for month in inside if month[:4] == year}):
            if all(month in taken for month in of_quarter[quarter]):
                pieces.append((("year", "quarter"), (year, quarter)))
            else:
                pieces += [(MONTH_LEVEL, _time_of(month)) for month in of_quarter[quarter] if month in taken]
    return pieces


def _protect(
    finest: Mapping[Key, Mapping[str, int]],
    dimensions: Sequence[str],
    groupings: Iterable[Grouping],
    also: Callable[[Sums, str], Mapping[Grouping, Iterable[Key]]] | None = None,
) -> Cells:
    """{grouping: {key: {count: value or None, rates…, "suppressed": bool}}} for the groupings of the finest
    cells (keyed by `dimensions`), protected together; `also(tables, name)` names more cells to hide."""
    fields = FIELDS
    tables: Sums = {}
    for grouping in groupings:
        positions = [dimensions.index(d) for d in grouping]
        table: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(fields, 0))
        for key, values in finest.items():
            sums = table[tuple(key[p] for p in positions)]
            for name in fields:
                sums[name] += values[name]
        tables[grouping] = dict(table)
    if not finest:
        tables[()] = {(): dict.fromkeys(fields, 0)}
    lattice = disclosure.Lattice(tables, dimensions)
    hidden = {
        name: lattice.suppress(
            {g: {k: v[name] for k, v in t.items()} for g, t in tables.items()},
            MIN_CELL,
            also=None if also is None else also(tables, name),
        )
        for name in COUNTS + HIDDEN_PARTS
    }
    result: Cells = {}
    for grouping, table in tables.items():
        out: dict[Key, Cell] = {}
        for key, values in table.items():
            cell: Cell = {
                # Which of the hidden parts are hidden: only ever read by _period_cells.
                "_hidden": frozenset(name for name in HIDDEN_PARTS if key in hidden[name][grouping])
            }
            suppressed = False
            for name in COUNTS:
                if key in hidden[name][grouping]:
                    cell[name] = None
                    suppressed = True
                else:
                    cell[name] = values[name]
            # A rate or a mean made from a hidden count is hidden too.
            checks_hidden = key in hidden["checks"][grouping] or key in hidden["checks_met"][grouping]
            cell["compliance_rate"] = (
                None if checks_hidden or not values["checks"] else round(values["checks_met"] / values["checks"], 3)
            )
            surveys_hidden = key in hidden["surveys"][grouping]
            cell["satisfaction_mean"] = (
                None
                if surveys_hidden or not values["surveys"]
                else round(values["satisfaction_sum"] / values["surveys"], 2)
            )
            cell["fairness_mean"] = (
                None
                if surveys_hidden or not values["surveys"]
                else round(values["fairness_sum"] / values["surveys"], 2)
            )
            cell["suppressed"] = suppressed or checks_hidden or surveys_hidden
            out[key] = cell
        result[grouping] = out
    return result


def _medians(grouping: Grouping, month_from: dt.date | None, month_to: dt.date | None) -> dict[Key, float]:
    """The median days to close per cell of `grouping`, from the counts of cases by days (weighted median).

    The counts come in cell by cell (ordered by the cell, then the days) through a server-side cursor, and each
    cell's median is worked out when its counts end: at the finest grouping of all time they are hundreds of
    thousands of rows, which read at once would double the summary worker's memory."""
    names = {"region": "region__code", "forum_kind": "forum_kind", "dispute_type": "dispute_type", "month": "month"}
    qs = PatternCloseDays.objects.all()
    if month_from:
        qs = qs.filter(month__gte=month_from)
    if month_to:
        qs = qs.filter(month__lte=month_to)
    columns = [names[d] for d in grouping]
    medians: dict[Key, float] = {}
    rows = qs.values_list(*columns, "days").annotate(total=Sum("n")).order_by(*columns, "days")
    for values, counts in groupby(rows.iterator(chunk_size=10_000), key=lambda row: row[:-2]):
        median = _weighted_median([(days, total) for *_cell, days, total in counts])
        if median is not None:
            key = tuple(v.strftime("%Y-%m") if c == "month" else v for c, v in zip(columns, values, strict=True))
            medians[key] = median
    return medians


def _weighted_median(pairs: list[tuple[int, int]]) -> float | None:
    """The median of (days, count) pairs in order of days; None when they count no case."""
    total = sum(n for _, n in pairs)
    if not total:
        return None
    # The average of the middle two values when the count is even, as statistics.median does.
    lower, upper = (total - 1) // 2, total // 2
    seen: int = 0
    low_value: int | None = None
    high_value: int | None = None
    for days, n in pairs:
        if low_value is None and seen + n > lower:
            low_value = days
        if seen + n > upper:
            high_value = days
            break
        seen += n
    # The counts add up to total, which is more than upper (≥ lower): the loop found both.
    assert low_value is not None
    assert high_value is not None
    return (low_value + high_value) / 2


# --- Prepared cells ------------------------------------------------------------------------------------
#
# The summary task (reports.tasks) calls `prepare` after each run: for the summary as it then stands, the
# protected cells of the usual periods — all time, each year, quarter and month with data — at every grouping
# the API serves, with their medians, worked out by the same code as above (_api_view, _period_cells,
# _medians, _figures) and written as rows (reports.models). `patterns`, `patterns_json` and the CSV read
# them while the summary is still the one they were prepared from; any other period, or a summary that has
# moved on since, is worked out as before. PostgreSQL only: the embedded mode (SQLite) always works them out.

PREPARE_LOCK = 0x53554C48_17  # pg_advisory_lock key: one preparation at a time.
CELL_TABLE = "reports_patterncell"
CELL_COLUMNS = ("pattern_set_id", "period", "grouping", "region", "forum_kind", "dispute_type", "month", "body")


class Prepared(TypedDict):
    """What a preparation did (the summary task's log and bench/bench_patterns.py)."""

    prepared: bool  # False: the summary's cells were prepared already (or there is no summary yet).
    periods: int
    cells: int
    seconds: float


def period_key(month_from: dt.date | None, month_to: dt.date | None) -> str:
    """ "2025-01..2025-03"; ".." for all time."""
    return f"{month_from.strftime('%Y-%m') if month_from else ''}..{month_to.strftime('%Y-%m') if month_to else ''}"


def usual_periods(months: Iterable[str]) -> list[tuple[dt.date | None, dt.date | None]]:
    """All time, then each year, quarter and month of the months with data ("YYYY-MM"), as (from, to)."""
    firsts = sorted({dt.date(int(m[:4]), int(m[5:7]), 1) for m in months})
    periods: list[tuple[dt.date | None, dt.date | None]] = [(None, None)]
    for year in sorted({m.year for m in firsts}):
        periods.append((dt.date(year, 1, 1), dt.date(year, 12, 1)))
    for year, quarter in sorted({(m.year, (m.month - 1) // 3) for m in firsts}):
        periods.append((dt.date(year, 3 * quarter + 1, 1), dt.date(year, 3 * quarter + 3, 1)))
    periods += [(m, m) for m in firsts]
    return periods


def _compact(figures: Mapping[str, Any]) -> str:
    # As DRF's JSONRenderer writes it (compact, UTF-8 as is), so that the prepared answer is the same bytes.
    return json.dumps(figures, separators=(",", ":"), ensure_ascii=False)


def prepare() -> Prepared:
    """Prepare the cells of the usual periods for the summary as it stands, in one snapshot (REPEATABLE READ)
    so that they agree with one another, then drop the sets prepared before. Safe to run twice or at once:
    one preparation at a time, and a summary prepared already is left as it is."""
    started = time.perf_counter()
    nothing: Prepared = {"prepared": False, "periods": 0, "cells": 0, "seconds": 0.0}
    if connection.vendor != "postgresql":
        return nothing
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [PREPARE_LOCK])
    try:
        outermost = not connection.in_atomic_block  # Inside a caller's transaction (tests), its snapshot holds.
        with transaction.atomic():
            if outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            state = PatternState.objects.first()
            if state is None or state.updated_at is None:
                return nothing
            mark, summary_at = state.last_event_id, state.updated_at
            done = PatternSet.objects.filter(
                ready=True, last_event_id=mark, summary_at=summary_at, version=CACHE_VERSION
            )
            if done.exists():
                return nothing
            all_time = _all_time_cells()
            cache.set(f"patterns-all-time:{CACHE_VERSION}:{mark}", all_time, CACHE_SECONDS)
            periods = usual_periods({key[-1] for key in all_time.get(MONTH_LEVEL, {})})
            pattern_set = PatternSet.objects.create(
                last_event_id=mark,
                summary_at=summary_at,
                version=CACHE_VERSION,
                periods=[period_key(*period) for period in periods],
            )
            count = 0
            for month_from, month_to in periods:
                whole = month_from is None and month_to is None
                cells = _api_view(all_time) if whole else _period_cells(month_from, month_to, all_time)
                rows = []
                for grouping in disclosure.groupings(DIMENSIONS):
                    medians = _medians(grouping, month_from, month_to)
                    name = ",".join(grouping)
                    for key_values, values in cells.get(grouping, {}).items():
                        keys = dict(zip(grouping, key_values, strict=True))
                        rows.append((
                            pattern_set.pk, period_key(month_from, month_to), name, keys.get("region", ""),
                            keys.get("forum_kind", ""), keys.get("dispute_type", ""), keys.get("month", ""),
                            _compact(_figures(values, medians.get(key_values))),
                        ))  # fmt: skip
                sql = f"COPY {CELL_TABLE} ({', '.join(CELL_COLUMNS)}) FROM STDIN"
                with connection.cursor() as cursor, cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                count += len(rows)
            seconds = round(time.perf_counter() - started, 3)
            PatternSet.objects.filter(pk=pattern_set.pk).update(ready=True, seconds=seconds)
            with connection.cursor() as cursor:
                # Older sets by hand: the ORM's cascade would read their cells into Python first.
                cursor.execute(f"DELETE FROM {CELL_TABLE} WHERE pattern_set_id <> %s", [pattern_set.pk])
            PatternSet.objects.exclude(pk=pattern_set.pk).delete()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PREPARE_LOCK])
    return {"prepared": True, "periods": len(periods), "cells": count, "seconds": seconds}


def _prepared_query(
    month_from: dt.date | None, month_to: dt.date | None, grouping: Grouping, wanted: Mapping[str, str]
) -> tuple[str, str, list[Any]]:
    """The prepared set of the summary as it stands (none if it moved on, or the period is not a usual one)
    as a CTE `s` (id, generated), and the conditions picking the cells asked for, with their parameters.
    The readers read the set and its cells in one statement: one snapshot, whatever a preparation deletes."""
    state = PatternState._meta.db_table
    sets = PatternSet._meta.db_table
    cte = f"""
        WITH s AS (
            SELECT s.id, st.updated_at AS generated FROM {sets} s
              JOIN {state} st ON st.last_event_id = s.last_event_id AND st.updated_at = s.summary_at
             WHERE s.ready AND s.version = %s AND s.periods @> %s::jsonb
             ORDER BY s.id DESC LIMIT 1
        )
    """
    conditions = "c.pattern_set_id = s.id AND c.period = %s AND c.grouping = %s"
    period = period_key(month_from, month_to)
    params: list[Any] = [CACHE_VERSION, json.dumps([period]), period]
    params.append(",".join(grouping))
    for dim, value in wanted.items():
        conditions += f" AND c.{dim} = %s"
        params.append(value)
    return cte, conditions, params


def _prepared_order(shown: Sequence[str]) -> str:
    # The cells' order of `patterns`: by the shown keys as strings, compared by code point (COLLATE "C").
    return ", ".join(f'c.{dim} COLLATE "C"' for dim in shown) or "c.id"


def _prepared_cells(
    month_from: dt.date | None,
    month_to: dt.date | None,
    grouping: Grouping,
    shown: Sequence[str],
    wanted: Mapping[str, str],
) -> tuple[str | None, list[dict[str, Any]]] | None:
    """(generated_at, the cells as `patterns` answers them) from the prepared set, or None without one."""
    if connection.vendor != "postgresql":
        return None
    cte, conditions, params = _prepared_query(month_from, month_to, grouping, wanted)
    sql = f"""
        {cte}
        SELECT s.generated, {", ".join(f"c.{dim}" for dim in shown) or "NULL"}, c.body
          FROM s LEFT JOIN {CELL_TABLE} c ON {conditions}
         ORDER BY {_prepared_order(shown)}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    generated = rows[0][0].isoformat() if rows[0][0] else None
    cells = []
    for row in rows:
        if row[-1] is None:
            continue  # The set, with no cell at this grouping.
        cell: dict[str, Any] = dict(zip(shown, row[1:-1], strict=False))
        cell.update(json.loads(row[-1]))
        cells.append(cell)
    return generated, cells


def patterns_json(
    *,
    user: User | AnonymousUser,
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
    group_by: Sequence[str] = (),
    region: str | None = None,
    forum_kind: str | None = None,
    dispute_type: str | None = None,
) -> str | None:
    """`patterns` as the JSON text the API answers, put together by PostgreSQL from the prepared cells
    (nothing parsed nor built per cell in Python) and kept in the cache for the summary as it stands; None
    when there are none to read (see `patterns`)."""
    _check_reader(user)
    if connection.vendor != "postgresql":
        return None
    grouping, shown, wanted = _shape(group_by, region, forum_kind, dispute_type)
    mark, generated_at = _state()
    asked = [period_key(month_from, month_to), ",".join(group_by), *(f"{d}={v}" for d, v in wanted.items())]
    digest = hashlib.sha256(json.dumps([mark, generated_at, *asked]).encode()).hexdigest()[:32]
    cache_key = f"patterns-json:{CACHE_VERSION}:{digest}"
    text: str | None = cache.get(cache_key)
    if text is not None:
        return text
    cte, conditions, params = _prepared_query(month_from, month_to, grouping, wanted)
    keys = " || ',' || ".join(f"'\"{dim}\":' || to_json(c.{dim})::text" for dim in shown)
    cell = f"'{{' || {keys} || ',' || substr(c.body, 2)" if shown else "c.body"
    sql = f"""
        {cte}
        SELECT s.generated,
               (SELECT string_agg({cell}, ',' ORDER BY {_prepared_order(shown)}) FROM {CELL_TABLE} c
                 WHERE {conditions})
          FROM s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    generated, cells = row
    generated = generated.isoformat() if generated else None
    head = _compact(_head(generated, month_from, month_to, group_by))
    text = f'{head[:-1]},"cells":[{cells or ""}]}}'
    if generated == generated_at:  # Not when the summary moved on in between: the key is the one before.
        cache.set(cache_key, text, CACHE_SECONDS)
    return text


# --- Early warning -------------------------------------------------------------------------------------

WARNING_METRICS = ("breaches", "escalations_up", "imminent")
WARNING_THRESHOLD = 0.25  # ACLED's threshold for a large change (shared/DOMAIN.md).


def early_warnings(
    *, user: User | AnonymousUser, week: dt.date | None = None, region: str | None = None
) -> EarlyWarnings:
    """Per district, the week's breaches, escalations and imminent-risk cases against the district's trailing
    4- and 52-week weekly averages; a count more than 25% above both is an alert. Counts under MIN_CELL are
    not shown (nor alerted on), and a baseline is shown only when the weeks behind it add up to zero or at
    least MIN_CELL."""
    _check_reader(user)
    if week is None:
        latest = PatternWeek.objects.order_by("-week").values_list("week", flat=True).first()
        today = timezone.localdate()
        week = latest or (today - dt.timedelta(days=today.weekday()))
    week = week - dt.timedelta(days=week.weekday())
    start = week - dt.timedelta(weeks=52)
    qs = PatternWeek.objects.filter(week__gte=start, week__lte=week)
    if region:
        qs = qs.filter(region__code=region)
    series: dict[str, dict[dt.date, dict[str, int]]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in qs.values("region__code", "region__name", "week", *WARNING_METRICS):
        series[row["region__code"]][row["week"]] = row
        names[row["region__code"]] = row["region__name"]
    districts: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for code in sorted(series):
        weeks = series[code]
        entry: dict[str, Any] = {"region": code, "region_name": names[code], "week": week.isoformat(), "indicators": {}}
        for metric in WARNING_METRICS:
            current = weeks.get(week, {}).get(metric, 0)
            last4 = [weeks.get(week - dt.timedelta(weeks=n), {}).get(metric, 0) for n in range(1, 5)]
            last52 = [weeks.get(week - dt.timedelta(weeks=n), {}).get(metric, 0) for n in range(1, 53)]
            shown = current == 0 or current >= MIN_CELL
            base4 = sum(last4) / 4 if sum(last4) == 0 or sum(last4) >= MIN_CELL else None
            base52 = sum(last52) / 52 if sum(last52) == 0 or sum(last52) >= MIN_CELL else None
            alert = (
                shown
                and current >= MIN_CELL
                and base4 is not None
                and base52 is not None
                and current > base4 * (1 + WARNING_THRESHOLD)
                and current > base52 * (1 + WARNING_THRESHOLD)
            )
            indicator = {
                "count": current if shown else None,
                "baseline_4_weeks": None if base4 is None else round(base4, 1),
                "baseline_52_weeks": None if base52 is None else round(base52, 1),
                "change_vs_4_weeks": None if not shown or not base4 else round((current - base4) / base4, 2),
                "change_vs_52_weeks": None if not shown or not base52 else round((current - base52) / base52, 2),
                "alert": alert,
                "suppressed": not shown or base4 is None or base52 is None,
            }
            entry["indicators"][metric] = indicator
            if alert:
                alerts.append({"region": code, "region_name": names[code], "indicator": metric, **indicator})
        districts.append(entry)
    factors = risk_factor_counts(region=region)
    for entry in districts:
        entry["risk_factors"] = factors["districts"].get(entry["region"], [])
    for flagged in alerts:
        flagged["risk_factors"] = factors["districts"].get(flagged["region"], [])
    return {
        "week": week.isoformat(),
        "min_cell": MIN_CELL,
        "threshold": WARNING_THRESHOLD,
        "alerts": alerts,
        "districts": districts,
        "risk_factors": factors["overall"],
    }


def risk_factor_counts(*, region: str | None = None) -> RiskFactorCounts:
    """{"overall": [...], "districts": {code: [...]}}: how many open cases carry each of the UN Framework's
    risk factors that facilitators tagged, [{"factor", "name", "open_cases"}] with the factors found, a
    count hidden (None) under the same disclosure control as the patterns, over district × factor. A case
    may carry several factors, so the counts are of (case, factor) tags: they add up along both dimensions,
    which is what the protection needs. Open cases now: no period."""
    rows = (
        CaseRiskFactor.objects.exclude(case__state__in=ENDED)
        .values("case__forum__region__code", "factor")
        .annotate(n=Count("case_id"))
        .order_by()
        .values_list("case__forum__region__code", "factor", "n")
    )
    dimensions = ("region", "factor")
    tables = disclosure.aggregate((({"region": code, "factor": factor}, n) for code, factor, n in rows), dimensions)
    hidden = disclosure.suppress(tables, dimensions, MIN_CELL)

    def cell(grouping: Grouping, key: Key, factor: int) -> FactorCount:
        count = None if key in hidden[grouping] else tables[grouping][key]
        return {"factor": factor, "name": str(RiskFactor(factor).label), "open_cases": count}

    districts: dict[str, list[FactorCount]] = defaultdict(list)
    for code, factor in sorted(tables[("region", "factor")]):
        if region is None or code == region:
            districts[code].append(cell(("region", "factor"), (code, factor), factor))
    overall = [cell(("factor",), (factor,), factor) for (factor,) in sorted(tables[("factor",)])]
    return {"overall": overall, "districts": dict(districts)}


def region_choices() -> list[tuple[str, str]]:
    return list(Region.objects.filter(kind=Region.Kind.DISTRICT).order_by("name").values_list("code", "name"))


def as_csv(report: PatternReport) -> str:
    """The report's cells as CSV: the group keys, then every figure; a hidden one is an empty field. Column
    names are the API's field names (English), so that a spreadsheet or a script can rely on them."""
    return "".join(csv_lines(report))


def csv_lines(report: PatternReport) -> Iterator[str]:
    """as_csv line by line, each written when asked for (the CSV API streams them)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    # The grouping's columns, in the cells' order; also when no cell is there (a period without cases).
    keys = [k for k in (report["cells"][0] if report["cells"] else report["group_by"]) if k in DIMENSIONS]

    def line(row: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(row)
        return out.getvalue()

    yield line([*keys, *FIGURES])
    for cell in report["cells"]:
        row = [cell[k] for k in keys]
        for name in FIGURES:
            value = cell[name]
            row.append("" if value is None else ("true" if value is True else "false" if value is False else value))
        yield line(row)
