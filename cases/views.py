"""Server-rendered pages. They call selectors and services; the rules live there.

The case page's actions post to their own URLs. Without JavaScript they redirect back to the page
(post/redirect/get); with HTMX they answer the page's main section, which HTMX swaps in place. A
refusal is never a 500: the page (or its section) comes back with the message where the action was,
and the status of the refusal (400, 403, 409, 422), which static/js/cases.js lets HTMX swap in too.
"""

from __future__ import annotations

import csv
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import NotFoundError, SulhError
from deliberation import selectors as session_selectors

from . import rules as case_rules
from . import selectors, services, workflows
from .forms import (
    INITIAL_PARTIES,
    CaseFilterForm,
    CaseOpenForm,
    EscalationForm,
    EscalationReportFilterForm,
    PartyFormSet,
    TermFormSet,
    TransitionForm,
    term_initial,
)
from .models import Agreement

CASES_PER_PAGE = 50
RECENT_CASES_ON_HOME = 5
REMINDERS_ON_HOME = 20


@login_required
def home(request):
    """One home page; what it shows depends on the roles the user holds."""
    roles = selectors.user_roles(user=request.user)
    forum_roles = selectors.membership_roles_for_user(user=request.user)
    forums = list(selectors.forum_list_for_user(user=request.user))
    for forum in forums:
        forum.my_roles = sorted(forum_roles.get(forum.pk, set()))
    facilitated = [f for f in forums if "facilitator" in f.my_roles]
    recent_cases = []
    if facilitated:
        recent_cases = list(
            selectors.case_list_for_user(user=request.user, forums=[f.pk for f in facilitated], open_only=True)[
                :RECENT_CASES_ON_HOME
            ]
        )
    context = {
        "roles": roles,
        "forums": forums,
        "facilitated": facilitated,
        "monitored": [f for f in forums if "monitor" in f.my_roles],
        "recent_cases": recent_cases,
        **_reminders_context(request, shown="facilitator" in roles),
    }
    return render(request, "cases/home.html", context)


def _reminders_context(request: HttpRequest, *, shown: bool) -> dict:
    """The facilitator's open reminders (the oldest first), at most REMINDERS_ON_HOME of them."""
    if not shown:
        return {"reminders": [], "reminders_more": 0}
    reminders = list(selectors.reminder_list_for_user(user=request.user)[: REMINDERS_ON_HOME + 1])
    more = len(reminders) > REMINDERS_ON_HOME
    return {"reminders": reminders[:REMINDERS_ON_HOME], "reminders_more": more}


@login_required
@require_POST
def reminder_dismiss(request, reminder_id: int):
    try:
        services.reminder_dismiss(user=request.user, reminder_id=reminder_id)
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        return render(request, "errors/403.html", {"detail": exc.detail}, status=exc.status)
    notice = _("Reminder dismissed.")
    if _wants_fragment(request):
        context = {**_reminders_context(request, shown=True), "notice": notice}
        response = render(request, "cases/_reminders.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.success(request, notice)
    return redirect("home")


def _wants_fragment(request: HttpRequest) -> bool:
    """An HTMX request that swaps part of the page (a history restore needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def _render(request: HttpRequest, full: str, fragment: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, fragment if _wants_fragment(request) else full, context, status=status)
    # The same URL answers a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- The case list -------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request):
    forums = list(selectors.forum_list_for_user(user=request.user))
    form = CaseFilterForm(request.GET, forums=forums)
    form.is_valid()  # Invalid filters are dropped and shown; the valid ones still apply.
    filters = form.cleaned_data
    cases = selectors.case_list_for_user(
        user=request.user,
        forum=filters.get("forum"),
        state=filters.get("state") or None,
        dispute_type=filters.get("dispute_type") or None,
        q=filters.get("q") or None,
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "may_open": any(case_rules.can_manage_forum_cases(request.user, f) for f in forums),
    }
    return _render(request, "cases/case_list.html", "cases/_case_results.html", context)


# --- Opening a case ------------------------------------------------------------------------------


def _facilitated_forums(user):
    return selectors.forum_list_for_opening(user=user)


def _show_refusal_on_form(exc: SulhError, form, formset) -> list[str]:
    """Put a service's field errors next to their fields; return the ones that belong to no field."""
    leftover: list[str] = []
    for name, problems in (exc.fields or {}).items():
        texts = problems if isinstance(problems, list) else [str(problems)]
        if name in form.fields:
            form.add_error(name, texts)
        elif name == "parties" and formset is not None:
            formset.service_errors = texts
        else:
            leftover.extend(str(t) for t in texts)
    return leftover


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    forums = _facilitated_forums(request.user)
    if not forums.exists():
        return render(request, "cases/case_new.html", {"no_forums": True}, status=403)
    status = 200
    error = None
    if request.method == "POST":
        form = CaseOpenForm(request.POST, forums=forums)
        parties = PartyFormSet(request.POST, prefix="parties")
        if form.is_valid() and parties.is_valid():
            rows = [p.cleaned_data for p in parties.forms if p.cleaned_data]
            try:
                case = services.case_open(user=request.user, **form.cleaned_data, parties=rows)
            except SulhError as exc:
                status = exc.status
                error = exc.detail
                leftover = _show_refusal_on_form(exc, form, parties)
                if leftover:
                    error = " ".join([error, *leftover])
            else:
                messages.success(request, _("Case %(reference)s opened.") % {"reference": case.reference})
                return redirect("case-detail", case_id=case.pk)
        else:
            status = 400
            error = _("Some fields need your attention.")
    else:
        only = list(forums[:2])
        form = CaseOpenForm(forums=forums, initial={"forum": only[0].pk} if len(only) == 1 else None)
        parties = PartyFormSet(prefix="parties", initial=INITIAL_PARTIES)
    return render(request, "cases/case_new.html", {"form": form, "parties": parties, "error": error}, status=status)


# --- The case page -------------------------------------------------------------------------------


def _case_or_404(request: HttpRequest, case_id):
    try:
        return selectors.case_get_for_user(user=request.user, case_id=case_id)
    except NotFoundError:
        raise Http404 from None


def _case_context(
    request: HttpRequest,
    case,
    *,
    move_error: dict | None = None,
    move_data: dict | None = None,
    terms: TermFormSet | None = None,
    agreement_error: str | None = None,
    notice: str | None = None,
    ladder_error: dict | None = None,
    ladder_data: dict | None = None,
) -> dict:
    user = request.user
    agreement = selectors.case_agreement(case=case)
    may_manage = bool(case_rules.can_manage_forum_cases(user, case.forum))
    is_open = case.state not in workflows.ENDED
    may_edit_agreement = may_manage and is_open and (agreement is None or agreement.status == Agreement.Status.DRAFT)
    if may_edit_agreement and terms is None:
        initial = term_initial(agreement)
        terms = TermFormSet(prefix="terms", initial=initial)
        # Below a draft's terms, one blank row for another term, so that a browser without JavaScript
        # (no "Add term") can still add one per save. A row left blank is skipped.
        terms.extra = 1 if initial else 0

    moves = selectors.allowed_transitions(case=case, user=user)
    for move in moves:
        move["blocked_messages"] = [str(services.GUARD_MESSAGES.get(code, code)) for code in move["blocked_by"]]
        move["is_truce"] = move["to"] == "truce"
        move["error"] = move_error["message"] if move_error and move_error.get("to") == move["to"] else None
        move["values"] = move_data if move_data and move_data.get("to") == move["to"] else {}
    # A refusal for a move that is not on offer (any more) is shown above the moves.
    shown = any(m["error"] for m in moves)
    events = list(selectors.case_timeline(case=case))
    ladder = _ladder_context(
        case, events, may_move=may_manage and is_open, error=ladder_error or {}, data=ladder_data or {}
    )
    return {
        "case": case,
        "parties": list(case.case_parties.all()),
        "agreement": agreement,
        "terms": terms if may_edit_agreement else None,
        "agreement_error": agreement_error,
        "may_manage": may_manage,
        "is_open": is_open,
        "forward_moves": [m for m in moves if m["kind"] == "forward"],
        "other_moves": [m for m in moves if m["kind"] != "forward"],
        "other_moves_open": any(m["error"] for m in moves if m["kind"] != "forward"),
        "move_error": None if shown or not move_error else move_error["message"],
        "outcome_choices": TransitionForm.base_fields["outcome"].choices,
        "events": events,
        "rung_names": ladder["names"],
        "ladder": ladder,
        "notice": notice,
        # Live dialogue sessions: their rooms are for the forum's members (and invited guests) only.
        "sessions": list(session_selectors.session_list_for_case(user=user, case_id=case.pk)),
        "sessions_open_to_me": bool(case_rules.is_forum_member(user, case.forum)),
    }


def _ladder_context(case, events: list, *, may_move: bool, error: dict, data: dict) -> dict:
    """The case's ladder as the page draws it: the rungs (base first), the current one, the moves on
    offer and their targets, and the history of moves. Which moves are *allowed* stays the service's call;
    this only decides which controls to show."""
    # The forum's rungs, read through the case the selector returned (ordered by level in Rung.Meta).
    rungs = list(case.forum.ladder.rungs.all())
    count = len(rungs)
    current = case.rung.level
    drawn = []
    for index, rung in enumerate(rungs):
        # Rung 1 is the widest; each rung above it narrower, down to 40% at the top.
        width = 100 if count < 2 else round(100 - 60 * index / (count - 1))
        drawn.append({"rung": rung, "width": width, "current": rung.level == current})
    above = [r for r in rungs if r.level > current]
    below = [r for r in rungs if r.level < current]
    # A refusal goes in the form that was sent; one for a form no longer on offer (the case reached the
    # base, ended, or the user only reads it) or for a malformed post is shown above the ladder.
    direction = error.get("direction")
    offered = {"up": may_move and bool(above), "down": may_move and bool(below)}
    in_form = direction if offered.get(direction) else None
    message = error.get("message")
    return {
        "rungs": drawn,
        "names": {r.level: _(r.name) for r in rungs},
        "may_move": may_move,
        "can_skip": case.risk_level == "imminent",
        "up_targets": above,
        "down_targets": list(reversed(below)),
        "up_error": message if in_form == "up" else None,
        "down_error": message if in_form == "down" else None,
        "error": message if error and in_form is None else None,
        "up_values": data if data.get("direction") == "up" else {},
        "down_values": data if data.get("direction") == "down" else {},
        "moves": [e for e in events if e.kind in ("escalated", "de_escalated")],
    }


def _render_case(request: HttpRequest, case, status: int = 200, **context) -> HttpResponse:
    return _render(
        request, "cases/case_detail.html", "cases/_case_main.html", _case_context(request, case, **context), status
    )


@login_required
@require_GET
def case_detail(request, case_id: int):
    return _render_case(request, _case_or_404(request, case_id))


def _after_action(request: HttpRequest, case_id: int, notice: str) -> HttpResponse:
    if _wants_fragment(request):
        return _render_case(request, _case_or_404(request, case_id), notice=notice)
    messages.success(request, notice)
    return redirect("case-detail", case_id=case_id)


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return _("The request could not be understood.")


@login_required
@require_POST
def case_transition(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        move_error = {"to": request.POST.get("to", ""), "message": _first_error(form)}
        return _render_case(request, case, status=400, move_error=move_error, move_data=request.POST.dict())
    data = form.cleaned_data
    try:
        services.case_transition(
            user=request.user,
            case_id=case.pk,
            to=data["to"],
            version=data["version"],
            reason=data["reason"],
            outcome=data["outcome"],
            truce_expires=data["truce_expires"],
        )
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        # The page comes back with the case as it is now (a stale version shows what changed).
        case = _case_or_404(request, case_id)
        move_error = {"to": data["to"], "message": exc.detail, "code": exc.code}
        return _render_case(request, case, status=exc.status, move_error=move_error, move_data=request.POST.dict())
    return _after_action(request, case.pk, _("Moved to %(state)s.") % {"state": workflows.state_label(data["to"])})


@login_required
@require_POST
def case_escalate(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = EscalationForm(request.POST)
    if not form.is_valid():
        direction = request.POST.get("direction", "")
        ladder_error = {"direction": direction, "message": _first_error(form)}
        return _render_case(request, case, status=400, ladder_error=ladder_error, ladder_data=request.POST.dict())
    data = form.cleaned_data
    try:
        moved = services.case_escalate(
            user=request.user,
            case_id=case.pk,
            direction=data["direction"],
            reason=data["reason"],
            version=data["version"],
            to_level=data["to_level"],
            justification=data["justification"],
        )
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        # The page comes back with the case as it is now, the refusal in the form that was sent.
        case = _case_or_404(request, case_id)
        ladder_error = {"direction": data["direction"], "message": exc.detail, "code": exc.code}
        return _render_case(
            request, case, status=exc.status, ladder_error=ladder_error, ladder_data=request.POST.dict()
        )
    values = {"level": moved.rung.level, "name": moved.rung.name}
    if data["direction"] == "up":
        notice = _("Moved up to rung %(level)s (%(name)s).") % values
    else:
        notice = _("Moved down to rung %(level)s (%(name)s).") % values
    return _after_action(request, case.pk, notice)


@login_required
@require_POST
def case_agreement(request, case_id: int):
    case = _case_or_404(request, case_id)
    terms = TermFormSet(request.POST, prefix="terms")
    if not terms.is_valid():
        error = " ".join(str(e) for e in terms.non_form_errors()) or _("Some terms need your attention.")
        return _render_case(request, case, status=400, terms=terms, agreement_error=error)
    deleted = {id(f) for f in terms.deleted_forms}
    submitted = [f for f in terms.forms if f.cleaned_data and id(f) not in deleted]
    try:
        agreement = services.agreement_record(
            user=request.user, case_id=case.pk, terms=[f.as_term() for f in submitted]
        )
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        error = exc.detail
        if exc.code == "prohibited_term":
            # Each refused term gets the practice and the law next to it; what was typed stays.
            marked = False
            for index, problem in ((exc.fields or {}).get("terms") or {}).items():
                try:
                    form = submitted[int(index)]
                except (ValueError, IndexError):
                    continue
                form.add_error("description", problem.get("description") or [exc.detail])
                form.citations = problem.get("citations") or []
                marked = True
            if marked:
                error = _(
                    "Nothing was recorded: a term describes a prohibited practice. It is marked below, with the law."
                )
        return _render_case(request, case, status=exc.status, terms=terms, agreement_error=error)
    notice = _("Agreement recorded (revision %(revision)s).") % {"revision": agreement.revision}
    return _after_action(request, case.pk, notice)


# --- The escalation statistics -------------------------------------------------------------------


def _escalation_report(request: HttpRequest):
    """(form, report) for the statistics page and its CSV. The selector decides who may see what: a
    ForbiddenError becomes the 403 page, a NotFoundError (a forum outside the user's) a 404."""
    forums = list(selectors.escalation_report_forums(user=request.user).order_by("name"))
    form = EscalationReportFilterForm(request.GET, forums=forums)
    form.is_valid()  # Invalid filters are dropped and shown; the valid ones still apply.
    report = selectors.escalation_report(user=request.user, **form.report_filters())
    return form, report


def _report_rows(report: dict) -> list[dict]:
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


def _month_rows(report: dict) -> list[dict]:
    """One row per month with moves, oldest first: the moves up and down in all, each as a bar's height
    relative to the busiest month, and per rung reached, in the order of report["rungs"]."""
    months: dict[str, dict] = {}
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
def escalation_report(request):
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
    return _render(request, "cases/escalation_report.html", "cases/_escalation_report_results.html", context)


# A cell that starts with one of these is a formula to a spreadsheet; rung names are typed by people.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@login_required
@require_GET
def escalation_report_csv(request):
    try:
        form, report = _escalation_report(request)
    except SulhError as exc:
        return _refused_report(request, exc)
    if form.errors:
        # A download cannot show which filter was dropped, so it refuses rather than answer other figures.
        return render(request, "errors/400.html", {"detail": _first_error(form)}, status=400)
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
