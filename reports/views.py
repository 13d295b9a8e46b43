"""The report pages: the escalation statistics (administrators, facilitators) and the regulator's pattern
report (regulators, administrators). They call the selectors and the report readers; who may read what is
decided there, and a refusal is shown as the 403 (or 404) page, never a 500."""

from __future__ import annotations

import csv
import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases import rules as case_rules
from config.errors import SulhError
from config.pages import first_error, render_page

from . import pattern_report, pyramid_report, selectors
from .forms import EscalationReportFilterForm, PatternReportFilterForm
from .pattern_report import EarlyWarnings, PatternReport
from .selectors import EscalationReport

# --- The escalation statistics -------------------------------------------------------------------


def _escalation_report(request: HttpRequest) -> tuple[EscalationReportFilterForm, EscalationReport]:
    """(form, report) for the statistics page and its CSV. The selector decides who may see what: a
    ForbiddenError becomes the 403 page, a NotFoundError (a forum outside the user's) a 404."""
    user = request.user
    assert user.is_authenticated  # Both pages are login_required.
    forums = list(selectors.escalation_report_forums(user=user).order_by("name"))
    form = EscalationReportFilterForm(request.GET, forums=forums)
    form.is_valid()  # Invalid filters are dropped and shown; the valid ones still apply.
    report = selectors.escalation_report(user=user, **form.report_filters())
    return form, report


def _report_rows(report: EscalationReport) -> list[dict[str, Any]]:
    """One row per rung, base first, with the bar's width relative to the fullest rung."""
    most = max((r["open_cases"] for r in report["rungs"]), default=0)
    medians = report["median_days_at_rung"]
    return [
        {
            **rung,
            "width": round(100 * rung["open_cases"] / most) if most else 0,
            "median_days": medians.get(str(rung["level"])),
        }
        for rung in report["rungs"]
    ]


def _month_rows(report: EscalationReport) -> list[dict[str, Any]]:
    """One row per month with moves, oldest first: the moves up and down in all, each as a bar's height
    relative to the busiest month, and per rung reached, in the order of report["rungs"]."""
    months: dict[str, dict[str, Any]] = {}
    for entry in report["moves_by_month"]:
        row = months.setdefault(entry["month"], {"month": entry["month"], "up": 0, "down": 0, "by_level": {}})
        row["up"] += entry["moves_up"]
        row["down"] += entry["moves_down"]
        row["by_level"][entry["level"]] = (entry["moves_up"], entry["moves_down"])
    most = max((max(row["up"], row["down"]) for row in months.values()), default=0)
    rows = []
    for key in sorted(months):
        row = months[key]
        row["date"] = datetime.date.fromisoformat(f"{key}-01")
        row["up_height"] = round(100 * row["up"] / most) if most else 0
        row["down_height"] = round(100 * row["down"] / most) if most else 0
        row["levels"] = [row["by_level"].get(rung["level"], (0, 0)) for rung in report["rungs"]]
        rows.append(row)
    return rows


def _refused_report(request: HttpRequest, exc: SulhError) -> HttpResponse:
    if exc.status == 404:
        raise Http404 from None
    return render(request, "errors/403.html", {"detail": exc.detail}, status=exc.status)


@login_required
@require_GET
def escalation_report(request: HttpRequest) -> HttpResponse:
    try:
        form, report = _escalation_report(request)
    except SulhError as exc:
        return _refused_report(request, exc)
    escalated = report["escalated_cases"]
    context = {
        "form": form,
        "report": report,
        "rows": _report_rows(report),
        "months": _month_rows(report),
        "came_back_share": round(100 * report["came_back_down"] / escalated) if escalated else None,
        "query": request.GET.urlencode(),
    }
    return render_page(request, "reports/escalation_report.html", "reports/_escalation_report_results.html", context)


# A cell that starts with one of these is a formula to a spreadsheet; rung names are typed by people.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@login_required
@require_GET
def escalation_report_csv(request: HttpRequest) -> HttpResponse:
    try:
        form, report = _escalation_report(request)
    except SulhError as exc:
        return _refused_report(request, exc)
    if form.errors:
        # A download cannot show which filter was dropped, so it refuses rather than answer other figures.
        return render(request, "errors/400.html", {"detail": first_error(form)}, status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="escalations.csv"'
    # Column names are the API's field names, kept in English so that a spreadsheet or a script can rely on them.
    writer = csv.writer(response)
    writer.writerow(["level", "name", "open_cases", "median_days_at_rung"])
    for row in _report_rows(report):
        median = row["median_days"]
        writer.writerow([row["level"], _csv_cell(row["name"]), row["open_cases"], "" if median is None else median])
    writer.writerow([])
    for key in ("moves_up", "moves_down", "escalated_cases", "came_back_down"):
        writer.writerow([key, report[key]])
    writer.writerow(["inverted", "true" if report["inverted"] else "false"])
    return response


# --- The regulator's pattern report --------------------------------------------------------------
# Charts a person would rather look at than read: the week's early warnings, trend lines per indicator
# (Chart.js, vendored in static/vendor/chartjs/, drawn by reports/static/reports/patterns.js) and the pyramid's shape
# per district, each with its figures in a table behind a <details> (what the printed report shows). Every
# figure comes from reports.pattern_report or reports.pyramid_report, which hide the small counts; the page
# computes none of its own, so its tables hold the API's cells and nothing a regulator could not download.


def _pattern_charts() -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, title, indicators) of each trend chart, in the order of the page."""
    return [
        ("cases", _("Cases opened, closed and resolved"), ("opened", "closed", "resolved")),
        ("escalations", _("Moves up and down the ladder"), ("escalations_up", "escalations_down")),
        ("harms", _("Breaches, recurrences and prohibited terms"), ("breaches", "recurrences", "prohibited_blocked")),
        ("compliance", _("Compliance with agreements"), ("compliance_rate",)),
        (
            "participation",
            _("Hearings, and women taking part and speaking"),
            ("sessions", "sessions_with_women", "sessions_women_spoke"),
        ),
    ]


def _pattern_indicator_names() -> dict[str, str]:
    return {
        "opened": _("Opened"),
        "closed": _("Closed"),
        "resolved": _("Resolved"),
        "escalations_up": _("Escalations up"),
        "escalations_down": _("Escalations down"),
        "breaches": _("Breaches"),
        "recurrences": _("Recurrences"),
        "prohibited_blocked": _("Prohibited terms refused"),
        "compliance_rate": _("Checks that found the term met (%)"),
        "sessions": _("Hearings held"),
        "sessions_with_women": _("Hearings a woman attended"),
        "sessions_women_spoke": _("Hearings where a woman spoke"),
    }


def _warning_names() -> dict[str, str]:
    """The early warning's indicators as they read inside a sentence."""
    return {
        "breaches": _("breaches"),
        "escalations_up": _("escalations up the ladder"),
        "imminent": _("cases at imminent risk"),
    }


def _month_of(key: str) -> datetime.date:
    return datetime.date.fromisoformat(f"{key}-01")


def _months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return months


def _figure(cell: dict[str, Any] | None, name: str) -> float | None:
    """A cell's figure as charted: a count (0 for a month with no cell: nothing happened), the compliance rate
    in percent, None where it is hidden (a gap in the line) or there were no checks."""
    if cell is None:
        return None if name == "compliance_rate" else 0
    value: float | None = cell[name]  # A count, a rate, or None.
    if name == "compliance_rate" and value is not None:
        return round(100 * value, 1)
    return value


def _trend_context(report: PatternReport) -> dict[str, Any]:
    """The charts' data (every month from the first cell to the last, for Chart.js) and one table per chart
    holding exactly the report's cells."""
    names = _pattern_indicator_names()
    by_month = {cell["month"]: cell for cell in report["cells"]}
    months = _months_between(_month_of(min(by_month)), _month_of(max(by_month))) if by_month else []
    charts = []
    for chart_id, title, indicators in _pattern_charts():
        series = [
            {
                "name": name,
                "label": names[name],
                "data": [_figure(by_month.get(m.strftime("%Y-%m")), name) for m in months],
            }
            for name in indicators
        ]
        rows = [
            {
                "month": _month_of(cell["month"]),
                "values": [
                    {
                        "value": _figure(cell, name),
                        "count": name != "compliance_rate",
                        "percent": name == "compliance_rate",
                    }
                    for name in indicators
                ],
            }
            for cell in report["cells"]
        ]
        charts.append(
            {
                "id": chart_id,
                "title": title,
                "columns": [names[name] for name in indicators],
                "percent": indicators == ("compliance_rate",),
                "series": series,
                "rows": rows,
                "gaps": any(value is None for s in series for value in s["data"]),
            }
        )
    data = {
        "labels": [formats.date_format(m, "YEAR_MONTH_FORMAT") for m in months],
        "locale": translation.get_language(),
        "rtl": translation.get_language_bidi(),
        "hidden": _("hidden"),
        "charts": [
            {"id": c["id"], "title": str(c["title"]), "percent": c["percent"], "series": c["series"]} for c in charts
        ],
    }
    return {"charts": charts, "chart_data": data}


def _versus(change: float | None, average: float | None, weeks: int) -> str:
    if change is None:
        return _("none in the %(weeks)s weeks before") % {"weeks": weeks}
    assert average is not None  # A change is worked out against a baseline.
    return _("%(change)s%% above the %(weeks)s-week average of %(average)s") % {
        "change": formats.number_format(round(100 * change)),
        "weeks": weeks,
        "average": formats.number_format(average, 1),
    }


def _warning_context(warnings: EarlyWarnings) -> dict[str, Any]:
    """The alerts in plain words, and every district's week next to its baselines."""
    names = _warning_names()
    alerts = [
        {
            **alert,
            "text": _("%(district)s: %(indicator)s %(count)s this week, %(vs_4_weeks)s; %(vs_52_weeks)s.")
            % {
                "district": alert["region_name"],
                "indicator": names.get(alert["indicator"], alert["indicator"]),
                "count": formats.number_format(alert["count"]),
                "vs_4_weeks": _versus(alert["change_vs_4_weeks"], alert["baseline_4_weeks"], 4),
                "vs_52_weeks": _versus(alert["change_vs_52_weeks"], alert["baseline_52_weeks"], 52),
            },
        }
        for alert in warnings["alerts"]
    ]
    rows = [
        {"region_name": district["region_name"], "indicator": names.get(metric, metric), **figures}
        for district in warnings["districts"]
        for metric, figures in district["indicators"].items()
    ]
    return {
        "alerts": alerts,
        "warning_rows": rows,
        "warning_week": datetime.date.fromisoformat(warnings["week"]),
        "risk_factors": warnings["risk_factors"],
    }


@login_required
@require_GET
def pattern_report_page(request: HttpRequest) -> HttpResponse:
    """The regulator's dashboard. Regulators and administrators only; a bad filter is shown on the form
    (400) with no figures, since figures for another selection than the one asked would mislead."""
    if not case_rules.can_read_reports(request.user):
        detail = _("Only regulators and administrators read these reports.")
        return render(request, "errors/403.html", {"detail": detail}, status=403)
    form = PatternReportFilterForm(request.GET, regions=pattern_report.region_choices())
    if not form.is_valid():
        context = {
            "form": form,
            "error": _("Some filters need your attention; the report is shown once they are corrected."),
        }
        return render(request, "reports/pattern_report.html", context, status=400)
    filters = form.report_filters()
    try:
        report = pattern_report.patterns(user=request.user, group_by=("month",), **filters)
        warnings = pattern_report.early_warnings(user=request.user, region=filters["region"])
        pyramids = pyramid_report.pyramid_shapes(
            user=request.user, region=filters["region"], forum_kind=filters["forum_kind"]
        )
    except SulhError as exc:
        return _refused_report(request, exc)
    query = "&".join(part for part in ("group_by=month", form.query()) if part)
    generated = report["generated_at"]
    context = {
        "form": form,
        "report": report,
        "generated_at": datetime.datetime.fromisoformat(generated) if generated else None,
        **_trend_context(report),
        **_warning_context(warnings),
        "pyramids": pyramids,
        "inverted_count": sum(1 for d in pyramids["districts"] if d["inverted"]),
        "district_chosen": bool(filters["region"]),
        "may_refresh": bool(case_rules.is_administrator(request.user)),
        "json_url": f"{reverse('api-report-patterns')}?{query}",
        "csv_url": f"{reverse('api-report-patterns-csv')}?{query}",
    }
    return render(request, "reports/pattern_report.html", context)
