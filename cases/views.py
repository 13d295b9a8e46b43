"""Server-rendered pages. They call selectors and services; the rules live there.

The case page's actions post to their own URLs. Without JavaScript they redirect back to the page
(post/redirect/get); with HTMX they answer the page's main section, which HTMX swaps in place. A
refusal is never a 500: the page (or its section) comes back with the message where the action was,
and the status of the refusal (400, 403, 409, 422), which static/js/cases.js lets HTMX swap in too.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import NotFoundError, SulhError
from deliberation import selectors as session_selectors

from . import pattern_report, pyramid_report, selectors, services, workflows
from . import rules as case_rules
from .forms import (
    INITIAL_PARTIES,
    CaseFilterForm,
    CaseOpenForm,
    ComplianceCheckForm,
    EscalationForm,
    EscalationReportFilterForm,
    MonitorAssignForm,
    PartyFormSet,
    PatternReportFilterForm,
    RecurrenceDecisionForm,
    RecurrenceLinkForm,
    RiskFactorsForm,
    SurveyForm,
    TermFormSet,
    TransitionForm,
    term_initial,
)
from .models import Agreement, ComplianceCheck, DueItem, RiskFactor, Term

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
        **_monitor_home_context(request, shown="monitor" in roles),
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
    section_error: dict | None = None,
    survey_form: SurveyForm | None = None,
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
        **_follow_up_context(request, case, agreement, may_manage, section_error or {}, survey_form),
        # Live dialogue sessions: their rooms are for the forum's members (and invited guests) only.
        "sessions": list(session_selectors.session_list_for_case(user=user, case_id=case.pk)),
        "sessions_open_to_me": bool(case_rules.is_forum_member(user, case.forum)),
    }


def _follow_up_context(request, case, agreement, may_manage: bool, error: dict, survey_form) -> dict:
    """What the page shows about following the agreement: compliance per term with instalments and conflicts,
    the monitor, the feud's history and the closing surveys. Which actions are allowed stays the services'
    call; this decides which controls to show."""
    user = request.user
    follows = bool(case_rules.can_log_compliance(user, case.forum))
    workflow = workflows.workflow_for(case.kind)
    at_closing = case.state in workflows.ENDED or case.state == workflow.states[-2]
    context = {
        "follows": follows,
        "section_error": error,
        "compliance": selectors.case_compliance(case=case, agreement=agreement) if follows else [],
        "conflicts": list(selectors.case_conflicts(case=case, open_only=True)) if follows else [],
        "history": selectors.case_recurrences(case=case, user=user),
        "link_form": RecurrenceLinkForm() if may_manage else None,
        "monitor_form": None,
        "surveys": list(selectors.case_surveys(case=case)) if follows else [],
        "survey_form": None,
    }
    tagged = sorted(tag.factor for tag in case.risk_factors.all())
    context["risk_factors"] = [(factor, RiskFactor(factor).label) for factor in tagged]
    context["risk_form"] = None
    if may_manage and case.state not in workflows.ENDED:
        monitors = selectors.forum_monitors(forum=case.forum)
        context["monitor_form"] = MonitorAssignForm(monitors=monitors, initial={"monitor": case.monitor_id})
        context["risk_form"] = RiskFactorsForm(initial={"factors": tagged})
    if follows and at_closing:
        parties = selectors.survey_parties(case=case)
        if survey_form is not None:
            context["survey_form"] = survey_form
        elif parties:
            context["survey_form"] = SurveyForm(parties=parties)
    return context


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


def _refusal_text(exc: SulhError) -> str:
    """The refusal and what it says about each field, as one sentence a person can act on."""
    parts = [exc.detail]
    for problems in (exc.fields or {}).values():
        for problem in problems if isinstance(problems, list) else [problems]:
            if isinstance(problem, str | Promise) and str(problem) not in parts:
                parts.append(str(problem))
    return " ".join(parts)


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


# --- Following the agreement: the monitor, conflicts, the feud's history, closing surveys ---------------


def _refused(request: HttpRequest, case_id: int, exc: SulhError, section: str) -> HttpResponse:
    """The case page (or its main section) with the refusal shown in `section`, and the refusal's status."""
    if exc.status == 404:
        raise Http404 from None
    case = _case_or_404(request, case_id)
    message = _refusal_text(exc)
    return _render_case(request, case, status=exc.status, section_error={"section": section, "message": message})


@login_required
@require_POST
def case_monitor(request, case_id: int):
    case = _case_or_404(request, case_id)
    monitors = selectors.forum_monitors(forum=case.forum)
    form = MonitorAssignForm(request.POST, monitors=monitors)
    if not form.is_valid():
        return _refused(request, case.pk, SulhError(_first_error(form), code="invalid"), "monitor")
    monitor = next((m for m in monitors if m.pk == form.cleaned_data["monitor"]), None)
    try:
        services.case_monitor_assign(user=request.user, case_id=case.pk, monitor=monitor)
    except SulhError as exc:
        return _refused(request, case.pk, exc, "monitor")
    if monitor is None:
        notice = _("Every monitor of the forum follows this case.")
    else:
        notice = _("Handed to %(monitor)s.") % {"monitor": monitor.get_full_name() or monitor.get_username()}
    return _after_action(request, case.pk, notice)


@login_required
@require_POST
def case_risk_factors(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = RiskFactorsForm(request.POST)
    if not form.is_valid():
        return _refused(request, case.pk, SulhError(_first_error(form), code="invalid"), "risk_factors")
    try:
        services.case_risk_factors_set(user=request.user, case_id=case.pk, factors=form.cleaned_data["factors"])
    except SulhError as exc:
        return _refused(request, case.pk, exc, "risk_factors")
    return _after_action(request, case.pk, _("The risk factors are saved."))


@login_required
@require_POST
def conflict_review(request, case_id: int, conflict_id: int):
    case = _case_or_404(request, case_id)
    if not selectors.case_conflicts(case=case).filter(pk=conflict_id).exists():
        raise Http404
    try:
        services.compliance_conflict_review(user=request.user, conflict_id=conflict_id)
    except SulhError as exc:
        return _refused(request, case.pk, exc, "compliance")
    return _after_action(request, case.pk, _("Conflict marked as reviewed; both checks stay on record."))


@login_required
@require_POST
def recurrence_link(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = RecurrenceLinkForm(request.POST)
    if not form.is_valid():
        return _refused(request, case.pk, SulhError(_first_error(form), code="invalid"), "history")
    try:
        link = services.recurrence_link(user=request.user, case_id=case.pk, **form.cleaned_data)
    except SulhError as exc:
        return _refused(request, case.pk, exc, "history")
    return _after_action(request, case.pk, _("Linked to %(reference)s.") % {"reference": link.earlier.reference})


@login_required
@require_POST
def recurrence_decide(request, case_id: int, recurrence_id: int):
    case = _case_or_404(request, case_id)
    form = RecurrenceDecisionForm(request.POST)
    if not form.is_valid():
        return _refused(request, case.pk, SulhError(_first_error(form), code="invalid"), "history")
    if not selectors.case_recurrence_ids(case=case, recurrence_id=recurrence_id):
        raise Http404
    try:
        services.recurrence_decide(user=request.user, recurrence_id=recurrence_id, **form.cleaned_data)
    except SulhError as exc:
        return _refused(request, case.pk, exc, "history")
    if form.cleaned_data["status"] == "confirmed":
        return _after_action(request, case.pk, _("Confirmed: the two cases are one feud."))
    return _after_action(request, case.pk, _("Link rejected."))


@login_required
@require_POST
def case_survey(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = SurveyForm(request.POST, parties=selectors.survey_parties(case=case))
    if not form.is_valid():
        return _render_case(request, case, status=400, survey_form=form)
    data = form.cleaned_data
    try:
        services.survey_record(user=request.user, case_id=case.pk, party_id=data.pop("party"), **data)
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        form.add_error(None, exc.detail)
        return _render_case(request, _case_or_404(request, case_id), status=exc.status, survey_form=form)
    return _after_action(request, case.pk, _("Survey recorded."))


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


# --- The monitor's "Checks due" page -------------------------------------------------------------
# Field monitors record compliance checks from villages without signal. The page works without JavaScript
# (each term's form posts to monitor_check and comes back, post/redirect/get); with it, static/js/monitor.js
# keeps each check in an IndexedDB outbox and uploads it to the API when it can, and a service worker
# (monitor_service_worker) keeps the page itself for when the phone is offline.

# What the page needs offline, fetched by the service worker when it installs (fonts are added by the page
# once it knows which ones the reader's language loaded).
MONITOR_PRECACHE = ("css/sulh.css", "vendor/htmx/htmx.min.js", "js/monitor.js")
# The Workbox modules the service worker uses, vendored from npm into static/vendor/workbox/.
WORKBOX_MODULES = ("workbox-core", "workbox-routing", "workbox-strategies", "workbox-expiration")


def monitor_strings() -> dict[str, object]:
    """What static/js/monitor.js writes on the page, translated here. `%(name)s` placeholders are filled in
    by the script."""
    return {
        "online": _("Online"),
        "offline": _("Offline: the checks you record are kept on this phone and uploaded when the connection returns."),
        "unreachable": _("The server cannot be reached: the checks you record are kept on this phone."),
        "waiting": _("Waiting to upload (%(count)s)"),
        "saved": _("Saved on this phone. It will be uploaded as soon as the server can be reached."),
        "stored": _("Stored"),
        "refused": _("Refused: %(detail)s"),
        "refused_unknown": _("The server refused this check."),
        "login": _("Your login has expired: log in again to upload the waiting checks."),
        "discard": _("Discard"),
        "observed": _("seen %(time)s"),
        "paid": _("paid %(amount)s"),
        "statuses": {value: str(label) for value, label in ComplianceCheck.Status.choices},
    }


def _monitor_context(request: HttpRequest, *, refused: dict | None = None) -> dict:
    today = timezone.localdate()
    cases = selectors.monitor_cases_for_user(user=request.user, today=today)
    for entry in cases:
        for row in entry["terms"]:
            # Made at render: the form sent twice (a double tap, a browser's retry) records one check.
            row["key"] = uuid.uuid4()
            row["is_compensation"] = row["term"].kind == Term.Kind.COMPENSATION
            row["latest_label"] = ComplianceCheck.Status(row["latest"]).label if row["latest"] else ""
            if refused and refused.get("term") == row["term"].pk:
                row["refused"] = refused
    items = list(selectors.due_items_for_user(user=request.user, today=today))
    instalments = [item for item in items if item.kind == DueItem.Kind.INSTALMENT]
    return {
        "today": today,
        "rendered_at": timezone.now(),
        "cases": cases,
        "overdue_instalments": [item for item in instalments if item.due_on < today],
        "due_this_week": [
            item
            for item in items
            if item.kind == DueItem.Kind.CHECK or (item.kind == DueItem.Kind.INSTALMENT and item.due_on >= today)
        ],
        "truces": [item for item in items if item.kind == DueItem.Kind.TRUCE],
        "due_count": len(items),
        "statuses": ComplianceCheck.Status.choices,
        "refused": refused,
        "refused_elsewhere": bool(refused) and not any(row.get("refused") for entry in cases for row in entry["terms"]),
        "monitor_strings": monitor_strings(),
    }


def _monitor_refused_page(request: HttpRequest) -> HttpResponse:
    detail = _("This page is for the forums' monitors and facilitators.")
    return render(request, "errors/403.html", {"detail": detail}, status=403)


@login_required
@require_GET
@never_cache
def monitor_due(request):
    """The checks due this week and every term of the agreements the user follows, each with a form."""
    if not selectors.monitor_page_allowed(user=request.user):
        return _monitor_refused_page(request)
    return render(request, "cases/monitor.html", _monitor_context(request))


@login_required
@require_POST
def monitor_check(request):
    """One term's check from the page without JavaScript; the page with JavaScript uses the API instead."""
    if not selectors.monitor_page_allowed(user=request.user):
        return _monitor_refused_page(request)
    form = ComplianceCheckForm(request.POST)
    if not form.is_valid():
        refused = {
            "term": form.cleaned_data.get("term"),
            "message": _first_error(form),
            "values": request.POST.dict(),
        }
        return render(request, "cases/monitor.html", _monitor_context(request, refused=refused), status=400)
    data = form.cleaned_data
    try:
        check, created = services.compliance_record(
            user=request.user,
            case_id=data["case"],
            term_id=data["term"],
            status=data["status"],
            idempotency_key=data["idempotency_key"],
            notes=data["notes"],
            paid=data["paid"],
        )
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        refused = {"term": data["term"], "message": _refusal_text(exc), "values": request.POST.dict()}
        return render(request, "cases/monitor.html", _monitor_context(request, refused=refused), status=exc.status)
    if created:
        messages.success(
            request,
            _("Check recorded: %(reference)s, %(term)s — %(status)s.")
            % {
                "reference": check.case.reference,
                "term": check.term.get_kind_display(),
                "status": check.get_status_display(),
            },
        )
    else:
        messages.info(request, _("This check was already recorded; nothing was added."))
    return redirect(reverse("monitor-due") + f"#term-{check.term_id}")


@require_GET
def monitor_service_worker(request):
    """The service worker of the "Checks due" page, written with the static files' URLs as the storage names
    them (hashed in production), so that it precaches and imports Workbox from this server, never a CDN."""
    precache = [static(path) for path in MONITOR_PRECACHE]
    modules = {name: static(f"vendor/workbox/{name}.prod.js") for name in WORKBOX_MODULES}
    # The caches are named after what they hold: a change to any file (its hashed name in production, its
    # size and time in development) starts fresh caches, and the old ones are dropped.
    fingerprint = hashlib.sha256()
    for path in (*MONITOR_PRECACHE, *(f"vendor/workbox/{name}.prod.js" for name in WORKBOX_MODULES)):
        fingerprint.update(static(path).encode())
        found = finders.find(path)
        if found:
            stat = os.stat(found)
            fingerprint.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    config = {
        "version": fingerprint.hexdigest()[:12],
        "page": reverse("monitor-due"),
        "dueApi": reverse("api-monitor-due"),
        "staticPrefix": settings.STATIC_URL,
        "precache": precache,
        "workbox": static("vendor/workbox/workbox-sw.js"),
        "modules": modules,
    }
    script = render_to_string("cases/monitor_sw.js", {"config": json.dumps(config)})
    response = HttpResponse(script, content_type="application/javascript; charset=utf-8")
    # The script sits under /monitor/ already; the header says so explicitly for the registration's scope.
    response["Service-Worker-Allowed"] = reverse("monitor-due")
    # Browsers check for a new worker on navigations; a cached copy of the script would delay every fix.
    add_never_cache_headers(response)
    return response


def _monitor_home_context(request: HttpRequest, *, shown: bool) -> dict:
    """The home page's count of what is due for the monitor this week."""
    if not shown:
        return {}
    return {"due_count": selectors.due_items_for_user(user=request.user).count()}


# --- The regulator's pattern report --------------------------------------------------------------
# Charts a person would rather look at than read: the week's early warnings, trend lines per indicator
# (Chart.js, vendored in static/vendor/chartjs/, drawn by static/js/patterns.js) and the pyramid's shape
# per district, each with its figures in a table behind a <details> (what the printed report shows). Every
# figure comes from cases.pattern_report or cases.pyramid_report, which hide the small counts; the page
# computes none of its own, so its tables hold the API's cells and nothing a regulator could not download.


def _pattern_charts() -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, title, indicators) of each trend chart, in the order of the page."""
    return [
        ("cases", _("Cases opened, closed and resolved"), ("opened", "closed", "resolved")),
        ("escalations", _("Moves up and down the ladder"), ("escalations_up", "escalations_down")),
        ("harms", _("Breaches, recurrences and prohibited terms"), ("breaches", "recurrences", "prohibited_blocked")),
        ("compliance", _("Compliance with agreements"), ("compliance_rate",)),
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


def _figure(cell: dict | None, name: str):
    """A cell's figure as charted: a count (0 for a month with no cell: nothing happened), the compliance rate
    in percent, None where it is hidden (a gap in the line) or there were no checks."""
    if cell is None:
        return None if name == "compliance_rate" else 0
    value = cell[name]
    if name == "compliance_rate" and value is not None:
        return round(100 * value, 1)
    return value


def _trend_context(report: dict) -> dict:
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


def _versus(change, average, weeks: int) -> str:
    if change is None:
        return _("none in the %(weeks)s weeks before") % {"weeks": weeks}
    return _("%(change)s%% above the %(weeks)s-week average of %(average)s") % {
        "change": formats.number_format(round(100 * change)),
        "weeks": weeks,
        "average": formats.number_format(average, 1),
    }


def _warning_context(warnings: dict) -> dict:
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
def pattern_report_page(request):
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
        return render(request, "cases/pattern_report.html", context, status=400)
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
        "json_url": f"{reverse('api-report-patterns')}?{query}",
        "csv_url": f"{reverse('api-report-patterns-csv')}?{query}",
    }
    return render(request, "cases/pattern_report.html", context)
