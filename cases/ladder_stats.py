"""The escalation statistics as running totals, so that the administrators' report reads a few hundred rows
whatever the number of cases.

Three tables (cases.models): LadderOpenCount, the open cases per forum and rung now; LadderStat, per forum
and month, the moves up and down onto each level, the stays on each level that a move ended (by length, in
buckets of days), the cases first escalated in the month and, of those, the ones that have since come back
down; LadderMove, each move narrowed to those facts, under an index by forum and time. The services keep
them inside the transaction that changes the case (`record_*`), with the case row locked; generate_synthetic
adds the totals of each batch of cases it writes in the batch's transaction (`add_written`); `rebuild()` recomputes all
three from the cases and their timelines, as a repair. `counts()` answers a period: whole months from the
monthly totals, the days of a partial month at either end summed by the database from an index range of
LadderMove.

Counts are added with one upsert per row, in key order, so two transactions moving cases of the same forum
never wait on each other in opposite orders.
"""

from __future__ import annotations

import bisect
import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

MOVES = ("escalated", "de_escalated")
UP, DOWN, STAY, ESCALATED, RETURNED = "up", "down", "stay", "escalated", "returned"

# A stay's length in days, bucketed: each day for the first month, then weeks to three months, four-week
# spans to a year, quarters to two years, then "two years or more". The bucket is its lower bound.
BOUNDS = list(range(0, 30)) + list(range(30, 91, 7)) + list(range(91, 365, 28)) + [371, 462, 553, 644, 735]


def bucket_of(days: float) -> int:
    return BOUNDS[max(bisect.bisect_right(BOUNDS, days) - 1, 0)]


def bucket_value(lower: int) -> float:
    """What a bucket stands for: its day when it is one day wide, its middle when wider, its lower bound
    for the last, open-ended one."""
    i = BOUNDS.index(lower)
    if i + 1 == len(BOUNDS) or BOUNDS[i + 1] - lower == 1:
        return float(lower)
    return (lower + BOUNDS[i + 1]) / 2


def median(histogram: dict[int, int]) -> float | None:
    """The median of the stays a {bucket: count} histogram holds (the mean of the middle two when even)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})
    values, seen = [], 0
    for lower in sorted(histogram):
        seen += histogram[lower]
        while wanted and wanted[0] < seen:
            values.append(bucket_value(lower))
            wanted.pop(0)
    return round(sum(values) / len(values), 1)


def month_of(at: datetime) -> date:
    return timezone.localtime(at).date().replace(day=1)


# --- Kept by the services --------------------------------------------------------------------------------


def record_open(*, case) -> None:
    _add_open([(case.forum_id, case.rung_id, 1)])


def record_end(*, case) -> None:
    _add_open([(case.forum_id, case.rung_id, -1)])


def record_move(*, case, source, target, at: datetime) -> None:
    """A move of `case` from rung `source` to `target` at `at`, before its event is appended."""
    from .models import CaseEvent, LadderMove

    events = CaseEvent.objects.filter(case=case)
    arrived = events.filter(kind__in=("opened", *MOVES)).order_by("-seq").values_list("at", flat=True).first()
    first_up = events.filter(kind="escalated").order_by("seq").values_list("at", flat=True).first()
    up = target.level > source.level
    move = Move(
        case_id=case.pk, forum_id=case.forum_id, at=at, up=up, source=source.level, target=target.level,
        stay=None if arrived is None else bucket_of((at - arrived).total_seconds() / 86400),
        first_up=up and first_up is None,
    )  # fmt: skip
    deltas = count_moves([move])
    if not up and first_up is not None and not events.filter(kind="de_escalated").exists():
        deltas[(case.forum_id, month_of(first_up), RETURNED, 0, 0)] += 1  # Its first climb's cohort came back.
        LadderMove.objects.filter(case=case, first_up=True).update(came_down=True)
    _add_open([(case.forum_id, source.pk, -1), (case.forum_id, target.pk, 1)])
    _add_stats(deltas)
    LadderMove.objects.create(**move.fields())


def add_written(*, open_counts: Counter, counts: Counter) -> None:
    """Add cases written in bulk with their whole timelines (generate_synthetic), in the transaction that wrote
    them: `open_counts` {(forum, rung): n} of those still open, `counts` the count_moves() of their moves (whose
    LadderMove rows the writer adds itself)."""
    _add_open([(forum_id, rung_id, n) for (forum_id, rung_id), n in open_counts.items()])
    _add_stats(counts)


def _add_open(rows: list[tuple[int, int, int]]) -> None:
    from .models import LadderOpenCount

    table = LadderOpenCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (forum_id, rung_id, open_cases) VALUES (%s, %s, %s) "
            f"ON CONFLICT (forum_id, rung_id) DO UPDATE SET open_cases = {table}.open_cases + EXCLUDED.open_cases",
            sorted(rows),
        )


def _add_stats(deltas: Counter) -> None:
    from .models import LadderStat

    table = LadderStat._meta.db_table
    rows = [(*key, n) for key, n in sorted(deltas.items())]
    upsert = (
        f"INSERT INTO {table} (forum_id, month, metric, level, bucket, n) %s "
        f"ON CONFLICT (forum_id, month, metric, level, bucket) DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) > 1:
            # One statement for a batch's thousands of rows; unnest keeps their (key) order.
            columns = [list(column) for column in zip(*rows, strict=True)]
            cursor.execute(
                upsert % "SELECT * FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::int[], %s::int[], %s::int[])",
                columns,
            )
        else:
            cursor.executemany(upsert % "VALUES (%s, %s, %s, %s, %s, %s)", rows)


# --- Recomputed from the timelines ----------------------------------------------------------------------


@dataclass(slots=True)
class Move:
    """A move along the ladder as the statistics see it (a LadderMove row)."""

    case_id: int
    forum_id: int
    at: datetime
    up: bool
    source: int
    target: int
    stay: int | None  # The bucket of how long the case had stayed on `source`.
    first_up: bool = False
    came_down: bool = False  # On a first move up: the case has stepped down since.

    def fields(self) -> dict:
        return {
            "case_id": self.case_id, "forum_id": self.forum_id, "at": self.at, "up": self.up,
            "from_level": self.source, "to_level": self.target, "stay_bucket": self.stay, "first_up": self.first_up,
            "came_down": self.came_down,
        }  # fmt: skip


def history_moves(*, case_ids, stream: bool = False, apps=global_apps) -> list[Move]:
    """The moves of the given cases, read from their timelines. `stream` reads through a server-side cursor,
    for many cases (a server-side cursor's plan favours the first rows: slower for a few)."""
    CaseEvent = apps.get_model("cases", "CaseEvent")
    rows = (
        CaseEvent.objects.filter(case_id__in=case_ids, kind__in=("opened", *MOVES))
        .annotate(
            level=Cast(KeyTextTransform("to", "data"), IntegerField()),
            base=Cast(KeyTextTransform("rung", "data"), IntegerField()),
        )
        .order_by("case_id", "seq")
        .values_list("case_id", "case__forum_id", "kind", "at", "level", "base")
    )
    return moves_of(rows.iterator(chunk_size=5000) if stream else rows)


def moves_of(rows: Iterable[tuple]) -> list[Move]:
    """The moves of timelines given as (case_id, forum_id, kind, at, level, base) rows of their `opened`,
    `escalated` and `de_escalated` events, case by case, each in order: `level` the move's target, `base`
    the rung an opening put the case on."""
    moves: list[Move] = []
    case = None
    for case_id, forum_id, kind, at, target, base in rows:
        if case_id != case:
            case, level, arrived, first, came_down = case_id, 1, None, None, False
        if kind == "opened":
            level, arrived = base or 1, at
            continue
        up = kind == "escalated"
        stay = None if arrived is None else bucket_of((at - arrived).total_seconds() / 86400)
        move = Move(case_id, forum_id, at, up, level, target, stay, first_up=up and first is None)
        moves.append(move)
        if move.first_up:
            first = move
        elif not up and first is not None and not came_down:
            came_down = first.came_down = True
        level, arrived = target, at
    return moves


def count_moves(moves: list[Move], date_from: date | None = None, date_to: date | None = None) -> Counter:
    """The LadderStat counts of these moves, {(forum, month, metric, level, bucket): n}, of those between
    date_from and date_to (local dates, both included). A first move up counts in `escalated` and, once its
    case came down, in `returned`, both in its own month."""
    low = None if date_from is None else _day_start(date_from)
    high = None if date_to is None else _day_start(date_to + timedelta(1))
    counts: Counter = Counter()
    for move in moves:
        if (low is not None and move.at < low) or (high is not None and move.at >= high):
            continue
        month = month_of(move.at)
        counts[(move.forum_id, month, UP if move.up else DOWN, move.target, 0)] += 1
        if move.stay is not None:
            counts[(move.forum_id, month, STAY, move.source, move.stay)] += 1
        if move.first_up:
            counts[(move.forum_id, month, ESCALATED, 0, 0)] += 1
            if move.came_down:
                counts[(move.forum_id, month, RETURNED, 0, 0)] += 1
    return counts


def history_counts(
    *, case_ids, date_from: date | None = None, date_to: date | None = None, apps=global_apps
) -> Counter:
    """The counts of the given cases' whole timelines within the period: a recount from scratch."""
    return count_moves(history_moves(case_ids=case_ids, apps=apps), date_from, date_to)


def rebuild(apps=global_apps) -> None:
    """Recompute both tables from the cases and their timelines. Takes the tables' locks first, so a move
    committed meanwhile is either read here or added after."""
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    LadderOpenCount = apps.get_model("cases", "LadderOpenCount")
    LadderStat = apps.get_model("cases", "LadderStat")
    LadderMove = apps.get_model("cases", "LadderMove")
    from .workflows import ENDED

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"LOCK TABLE {LadderOpenCount._meta.db_table}, {LadderStat._meta.db_table}, "
                    f"{LadderMove._meta.db_table} IN EXCLUSIVE MODE"
                )
        LadderOpenCount.objects.all().delete()
        LadderStat.objects.all().delete()
        LadderMove.objects.all().delete()
        open_counts = (
            Case.objects.exclude(state__in=ENDED).values("forum_id", "rung_id").annotate(n=Count("id")).order_by()
        )
        LadderOpenCount.objects.bulk_create(
            LadderOpenCount(forum_id=row["forum_id"], rung_id=row["rung_id"], open_cases=row["n"])
            for row in open_counts
        )
        moved = CaseEvent.objects.filter(kind__in=MOVES).values("case_id")
        moves = history_moves(case_ids=moved, stream=True, apps=apps)
        LadderMove.objects.bulk_create((LadderMove(**move.fields()) for move in moves), batch_size=5000)
        counts = count_moves(moves)
        LadderStat.objects.bulk_create(
            (
                LadderStat(forum_id=forum_id, month=month, metric=metric, level=level, bucket=bucket, n=n)
                for (forum_id, month, metric, level, bucket), n in counts.items()
            ),
            batch_size=5000,
        )


# --- Read for the report ---------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone())


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def counts(*, forum_ids, date_from: date | None = None, date_to: date | None = None) -> Counter:
    """{(month, metric, level, bucket): n} over the forums and the period: the whole months from the totals,
    the days of a partial month at either end from the timelines."""
    from .models import LadderMove, LadderStat

    first_full = (
        None if date_from is None else (date_from if date_from.day == 1 else _month_end(date_from) + timedelta(1))
    )
    last_full = (
        None
        if date_to is None
        else (date_to if date_to == _month_end(date_to) else date_to.replace(day=1) - timedelta(1))
    )
    partial: list[tuple[date, date]] = []
    if first_full is not None and last_full is not None and first_full > last_full:
        # first_full and last_full are made from them.
        assert date_from is not None
        assert date_to is not None
        partial.append((date_from, date_to))  # Within one month, or two partial months side by side.
    else:
        if date_from is not None and first_full != date_from:
            assert first_full is not None  # Made from date_from whenever it is given.
            partial.append((date_from, first_full - timedelta(1)))
        if date_to is not None and last_full != date_to:
            assert last_full is not None  # Made from date_to whenever it is given.
            partial.append((last_full + timedelta(1), date_to))
    result: Counter = Counter()
    if not partial or first_full is None or last_full is None or first_full <= last_full:
        rows = LadderStat.objects.filter(forum_id__in=forum_ids)
        if first_full is not None:
            rows = rows.filter(month__gte=first_full)
        if last_full is not None:
            rows = rows.filter(month__lte=last_full.replace(day=1))
        for row in rows.values_list("month", "metric", "level", "bucket").annotate(total=Sum("n")).order_by():
            result[row[:4]] += row[4]
    for low, high in partial:
        moves = LadderMove.objects.filter(
            forum_id__in=forum_ids, at__gte=_day_start(low), at__lt=_day_start(high + timedelta(1))
        ).annotate(month=TruncMonth("at"))
        for month, up, level, n in moves.values_list("month", "up", "to_level").annotate(n=Count("id")).order_by():
            result[(month.date() if isinstance(month, datetime) else month, UP if up else DOWN, level, 0)] += n
        stays = moves.filter(stay_bucket__isnull=False).values_list("month", "from_level", "stay_bucket")
        for month, level, bucket, n in stays.annotate(n=Count("id")).order_by():
            result[(month.date() if isinstance(month, datetime) else month, STAY, level, bucket)] += n
        firsts = moves.filter(first_up=True).values_list("month")
        for month, n, back in firsts.annotate(n=Count("id"), back=Count("id", filter=Q(came_down=True))).order_by():
            month = month.date() if isinstance(month, datetime) else month
            result[(month, ESCALATED, 0, 0)] += n
            result[(month, RETURNED, 0, 0)] += back
    return +result
