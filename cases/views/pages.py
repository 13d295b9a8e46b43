"""The facilitators' pages: home, the case list, opening a case and the case page (with what it shows of
the agreement's follow-up and the ladder). They call selectors; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import rules as audit_rules
from audit import selectors as audit_selectors
from audit import services as audit
from config.errors import NotFoundError, SulhError
from config.pages import render_page, wants_fragment

from .. import rules as case_rules
from .. import selectors, services, workflows
from .. import settlements as settlement_docs
from ..forms import (
    INITIAL_PARTIES,
    AttestationForm,
    BaseTermFormSet,
    CaseFilterForm,
    CaseOpenForm,
    MonitorAssignForm,
    PartyFormSet,
    RecurrenceLinkForm,
    RiskFactorsForm,
    SurveyForm,
    TermFormSet,
    TransitionForm,
    term_initial,
)
from ..models import Agreement, RiskFactor, Settlement
from .guarantees import guarantees_context
from .ties import ties_context

CASES_PER_PAGE = 50
RECENT_CASES_ON_HOME = 5
REMINDERS_ON_HOME = 20


@login_required
def home(request):
    """One home page; what it shows depends on the roles the user holds."""
    roles = selectors.user_roles(user=request.user)
    forum_roles = selectors.membership_roles_for_user(user=request.user)
    forums = list(selectors.forum_list_for_user(user=request.user))
    my_roles = {forum.pk: forum_roles.get(forum.pk, set()) for forum in forums}
    facilitated = [f for f in forums if "facilitator" in my_roles[f.pk]]
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
        "monitored": [f for f in forums if "monitor" in my_roles[f.pk]],
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
    if wants_fragment(request):
        context = {**_reminders_context(request, shown=True), "notice": notice}
        response = render(request, "cases/_reminders.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.success(request, notice)
    return redirect("home")


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
    # One read of the list, not one per case listed (audit: lists are recorded whole).
    audit.read_record(user=request.user, kind=audit.Kind.CASE_LIST, request=request, door=audit.Door.PAGE)
    context = {
        "form": form,
        "page": page,
        "may_open": any(case_rules.can_manage_forum_cases(request.user, f) for f in forums),
    }
    return render_page(request, "cases/case_list.html", "cases/_case_results.html", context)


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


def case_or_404(request: HttpRequest, case_id):
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
    terms: BaseTermFormSet | None = None,
    agreement_error: str | None = None,
    notice: str | None = None,
    ladder_error: dict | None = None,
    ladder_data: dict | None = None,
    section_error: dict | None = None,
    survey_form: SurveyForm | None = None,
    settlement_form: AttestationForm | None = None,
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
    workflow = workflows.workflow_for(case.kind)
    for move in moves:
        # The move that makes the agreement final asks for a confirmation first (actions.case_transition checks it).
        move["finalises"] = move["kind"] == "forward" and case.state == workflow.agreement_state
        move["term_count"] = len(agreement.terms.all()) if move["finalises"] and agreement is not None else 0
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
    outcome = TransitionForm.base_fields["outcome"]
    assert isinstance(outcome, forms.ChoiceField)  # TransitionForm declares it so.
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
        "outcome_choices": outcome.choices,
        "events": events,
        "rung_names": ladder["names"],
        "ladder": ladder,
        "notice": notice,
        # Who looked at the case: its forum's facilitators and administrators see it, monitors do not.
        "case_reads": audit_selectors.case_reads(case_id=case.pk) if may_manage else None,
        "case_reads_full": may_manage and bool(audit_rules.can_read_audit(user)),
        **_follow_up_context(request, case, agreement, may_manage, section_error or {}, survey_form),
        **_settlement_context(request, case, agreement, settlement_form),
        **guarantees_context(request, case),
        **ties_context(request, case),
    }


def _settlement_context(request, case, agreement, form: AttestationForm | None) -> dict:
    """The written settlement of a final agreement: its code, its attestations, the link to print it and, for the
    forum's facilitators, the form to record that it was read aloud (cases.services.settlement_attest)."""
    if agreement is None or agreement.status != Agreement.Status.FINAL:
        return {"settlement_final": False, "settlement": None, "attest_form": None}
    settlement = Settlement.objects.filter(agreement=agreement).prefetch_related("attestations").first()
    if case_rules.is_forum_facilitator(request.user, case.forum):
        if form is None:
            language = settlement_docs.print_language(forum_kind=case.kind, country=case.forum.country)
            form = AttestationForm(initial={"language": language})
    else:
        form = None
    return {
        "settlement_final": True,
        "settlement": settlement,
        "settlement_code": settlement_docs.code_display(settlement.code) if settlement else "",
        "attest_form": form,
    }


def _follow_up_context(request, case, agreement, may_manage: bool, error: dict, survey_form) -> dict:
    """What the page shows about following the agreement: compliance per term with instalments and conflicts,
    the monitor, the feud's history and the closing surveys. Which actions are allowed stays the services'
    call; this decides which controls to show."""
    user = request.user
    follows = bool(case_rules.can_read_compliance(user, case.forum))
    workflow = workflows.workflow_for(case.kind)
    at_closing = case.state in workflows.ENDED or case.state == workflow.states[-2]
    context = {
        "follows": follows,
        "may_review_conflicts": bool(case_rules.can_review_conflicts(user, case.forum)),
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
    offered: dict[str | None, bool] = {"up": may_move and bool(above), "down": may_move and bool(below)}
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


def render_case(request: HttpRequest, case, status: int = 200, **context) -> HttpResponse:
    return render_page(
        request, "cases/case_detail.html", "cases/_case_main.html", _case_context(request, case, **context), status
    )


@login_required
@require_GET
def case_detail(request, case_id: int):
    case = case_or_404(request, case_id)
    # The page shows the case with its parties' names, its timeline and its agreement: one read of kind `case`.
    audit.read_record(
        user=request.user,
        kind=audit.Kind.CASE,
        case_id=case.pk,
        object_id=case.pk,
        request=request,
        door=audit.Door.PAGE,
    )
    return render_case(request, case)


def _monitor_home_context(request: HttpRequest, *, shown: bool) -> dict:
    """The home page's count of what is due for the monitor this week."""
    if not shown:
        return {}
    return {"due_count": selectors.due_items_for_user(user=request.user).count()}
