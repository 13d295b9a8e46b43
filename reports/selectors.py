"""Reads of the reports app: the escalation statistics (from cases' running totals, cases.ladder_stats) and
where a queued report task is. Selectors own the scoping: a forum outside the caller's is never counted."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TypedDict

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet, Sum

from cases import ladder_stats
from cases import rules as case_rules
from cases.ladders import DEFAULT_RUNGS
from cases.models import Forum, LadderOpenCount, Membership, Region, Rung
from config.celery import app as celery_app
from config.errors import ForbiddenError, NotFoundError


class MonthMoves(TypedDict):
    month: str  # YYYY-MM
    level: int  # The rung reached.
    moves_up: int
    moves_down: int


class RungCount(TypedDict):
    level: int
    name: str
    open_cases: int


class EscalationReport(TypedDict):
    """The escalation statistics, as the API answers them (shared/CONTRACT.md)."""

    moves_by_month: list[MonthMoves]
    rungs: list[RungCount]
    moves_up: int
    moves_down: int
    median_days_at_rung: dict[str, float | None]  # Keyed by the level, as a string (a JSON object's key).
    inverted: bool
    escalated_cases: int
    came_back_down: int


class TaskState(TypedDict):
    state: str  # PENDING, STARTED, PROGRESS, SUCCESS or FAILURE.
    progress: float  # 0 to 1.


def escalation_report_forums(*, user: User, forum: int | None = None, region: str | None = None) -> QuerySet[Forum]:
    """The forums an escalation report may cover: every forum for administrators, the forums a facilitator
    facilitates; ForbiddenError for anyone else. A forum or region outside them is NotFoundError."""
    if case_rules.is_administrator(user):
        forums = Forum.objects.all()
    elif Membership.objects.filter(user=user, role=Membership.Role.FACILITATOR).exists():
        forums = Forum.objects.filter(memberships__user=user, memberships__role=Membership.Role.FACILITATOR)
    else:
        raise ForbiddenError()
    if forum is not None:
        forums = forums.filter(pk=forum)
        if not forums.exists():
            raise NotFoundError()
    if region is not None:
        forums = forums.filter(Q(region__code=region) | Q(region__parent__code=region))
    return forums.distinct()


def escalation_report(
    *,
    user: User,
    forum: int | None = None,
    region: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> EscalationReport:
    """The pyramid's shape (open cases per rung, now) and the moves in the period: how many up and down, per
    month and rung reached, the median days a case stayed at each rung before a move took it off, and of
    the cases first escalated in the period how many have since come back down. Read from the running
    totals of cases.ladder_stats: a few hundred rows whatever the number of cases."""
    forum_ids = list(escalation_report_forums(user=user, forum=forum, region=region).values_list("pk", flat=True))
    rungs = list(
        Rung.objects.filter(ladder__forums__in=forum_ids).values("level", "name").distinct().order_by("level")
    ) or [{"level": level, "name": name} for level, _code, name, _d in DEFAULT_RUNGS]
    names: dict[int, str] = {}
    for rung in rungs:
        names.setdefault(rung["level"], rung["name"])
    open_counts = dict(
        LadderOpenCount.objects.filter(forum_id__in=forum_ids)
        .values_list("rung__level")
        .annotate(n=Sum("open_cases"))
        .values_list("rung__level", "n")
    )
    totals: Counter[str] = Counter()
    series: dict[tuple[str, int], MonthMoves] = {}
    stays: dict[int, Counter[int]] = {}
    for (month, metric, level, bucket), n in ladder_stats.counts(
        forum_ids=forum_ids, date_from=date_from, date_to=date_to
    ).items():
        totals[metric] += n
        if metric in (ladder_stats.UP, ladder_stats.DOWN):
            key = (month.strftime("%Y-%m"), level)
            entry = series.setdefault(key, {"month": key[0], "level": level, "moves_up": 0, "moves_down": 0})
            entry["moves_up" if metric == ladder_stats.UP else "moves_down"] += n
        elif metric == ladder_stats.STAY:
            stays.setdefault(level, Counter())[bucket] += n
    base_level = min(names)
    base_open = open_counts.get(base_level, 0)
    above_open = sum(n for level, n in open_counts.items() if level != base_level)
    return {
        "moves_by_month": [series[key] for key in sorted(series)],
        "rungs": [
            {"level": level, "name": names[level], "open_cases": open_counts.get(level, 0)} for level in sorted(names)
        ],
        "moves_up": totals[ladder_stats.UP],
        "moves_down": totals[ladder_stats.DOWN],
        "median_days_at_rung": {
            str(level): ladder_stats.median(histogram) for level, histogram in sorted(stays.items()) if histogram
        },
        "inverted": above_open > base_open,
        "escalated_cases": totals[ladder_stats.ESCALATED],
        "came_back_down": totals[ladder_stats.RETURNED],
    }


def task_state(*, task_id: str) -> TaskState:
    """{"state", "progress"} of a queued task as the result backend knows it. An id it does not know is
    PENDING, like a task still waiting in the queue. A task waiting for its retry counts as STARTED."""
    result = celery_app.AsyncResult(task_id)  # Sulh's app and its backend, whichever app is current.
    state = result.state
    progress = 0.0
    if state == "PROGRESS":
        info = result.info if isinstance(result.info, dict) else {}
        progress = float(info.get("progress", 0.0))
    elif state == "SUCCESS":
        progress = 1.0
    elif state == "RETRY":
        state = "STARTED"
    elif state not in ("PENDING", "STARTED", "FAILURE"):
        state = "FAILURE"  # REVOKED, REJECTED: it will not finish.
    return {"state": state, "progress": max(0.0, min(1.0, progress))}


def region_choices(*, districts_only: bool = False) -> list[tuple[str, str]]:
    """The known regions as (code, name), to choose from instead of typing a code: the provinces (unless
    `districts_only`: the regulator's figures are kept per district), then the districts, each by name."""
    districts = list(Region.objects.filter(kind=Region.Kind.DISTRICT).order_by("name").values_list("code", "name"))
    if districts_only:
        return districts
    provinces = list(Region.objects.filter(kind=Region.Kind.PROVINCE).order_by("name").values_list("code", "name"))
    return provinces + districts
