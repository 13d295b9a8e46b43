"""The regulator summary recounted the plain way, event by event in Python, to hold reports.patterns to; and
the summary tables read back in the same shape. Both give {table: {cell: {column: count}}}, with only the
counts that are not zero."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, timedelta

from cases.models import CaseEvent, PatternCloseDays, PatternMonth, PatternWeek

MONTH_COLUMNS = [
    f.name
    for f in PatternMonth._meta.concrete_fields
    if f.name not in ("id", "month", "region", "forum_kind", "dispute_type")
]
WEEK_COLUMNS = ["breaches", "escalations_up", "imminent"]
SIMPLE_KINDS = {
    "agreement_finalised": "agreements",
    "escalated": "escalations_up",
    "de_escalated": "escalations_down",
    "breach_recorded": "breaches",
    "recurrence_linked": "recurrences",
    "prohibited_term_blocked": "prohibited_blocked",
    "session_started": "sessions",
    "deposit_forfeited": "deposits_forfeited",
    "guarantor_called": "guarantors_called",
}


def _clean(table: dict) -> dict:
    return {cell: {k: v for k, v in counts.items() if v} for cell, counts in table.items() if any(counts.values())}


def recount(*, upto: int | None = None) -> dict:
    """What the summary tables should hold for the events with an id up to `upto` (all of them by default)."""
    month: dict = defaultdict(lambda: defaultdict(int))
    days: dict = defaultdict(lambda: defaultdict(int))
    week: dict = defaultdict(lambda: defaultdict(int))
    events = CaseEvent.objects.select_related("case__forum").order_by("id")
    if upto is not None:
        events = events.filter(id__lte=upto)
    for event in events.iterator():
        case, data = event.case, event.data
        at = event.at.astimezone(UTC)
        region = case.forum.region_id
        cell = (date(at.year, at.month, 1), region, case.kind, case.dispute_type)
        monday = (at.date() - timedelta(days=at.weekday()), region)
        counts = month[cell]
        if event.kind == "opened":
            counts["opened"] += 1
            if data.get("risk_level") == "imminent":
                counts["imminent"] += 1
                week[monday]["imminent"] += 1
            if case.referral_source.strip().lower() not in ("", "parties"):
                counts["referred_in"] += 1
        elif event.kind == "transitioned" and data.get("to") == "closed":
            counts["closed"] += 1
            counts[data["outcome"]] += 1
            days[(*cell, (at.date() - case.opened_at.astimezone(UTC).date()).days)]["n"] += 1
        elif event.kind == "transitioned" and data.get("to") in ("withdrawn", "referred"):
            counts[data["to"]] += 1
        elif event.kind == "compliance_checked":
            counts["checks"] += 1
            counts["checks_met"] += data.get("status") == "met"
        elif event.kind == "survey_recorded":
            counts["surveys"] += 1
            counts["satisfaction_sum"] += data["satisfaction"]
            counts["fairness_sum"] += data["fairness"]
            counts["felt_heard"] += bool(data["felt_heard"])
        elif event.kind == "tie_declared":
            counts["cases_with_ties"] += bool(data.get("first_on_case"))
        elif event.kind == "session_ended":
            counts["sessions_with_women"] += bool(data.get("women_took_part"))
            counts["sessions_women_spoke"] += bool(data.get("women_spoke"))
        elif event.kind in SIMPLE_KINDS:
            counts[SIMPLE_KINDS[event.kind]] += 1
            if event.kind == "breach_recorded":
                week[monday]["breaches"] += 1
            if event.kind == "escalated":
                week[monday]["escalations_up"] += 1
    return {"month": _clean(month), "close_days": _clean(days), "week": _clean(week)}


def summary_tables() -> dict:
    """The three summary tables as they are."""
    month = {
        (r.month, r.region_id, r.forum_kind, r.dispute_type): {c: getattr(r, c) for c in MONTH_COLUMNS}
        for r in PatternMonth.objects.all()
    }
    days = {
        (r.month, r.region_id, r.forum_kind, r.dispute_type, r.days): {"n": r.n} for r in PatternCloseDays.objects.all()
    }
    week = {(r.week, r.region_id): {c: getattr(r, c) for c in WEEK_COLUMNS} for r in PatternWeek.objects.all()}
    return {"month": _clean(month), "close_days": _clean(days), "week": _clean(week)}


def raw_rows() -> dict:
    """Every row of the three tables, zeros included, ids left out: what two runs must agree on exactly."""
    return {
        model.__name__: sorted(
            tuple(getattr(row, f.attname) for f in model._meta.concrete_fields if f.name != "id")
            for row in model.objects.all()
        )
        for model in (PatternMonth, PatternCloseDays, PatternWeek)
    }
