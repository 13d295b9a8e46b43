"""The case page's actions. Each posts to its own URL and goes through `_case_action`: without JavaScript it
redirects back to the page (post/redirect/get); with HTMX it answers the page's main section, which HTMX swaps in
place. A refusal is never a 500: the page (or its section) comes back with the message where the action was,
and the status of the refusal (400, 403, 409, 422), which static/js/cases.js lets HTMX swap in too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import SulhError
from config.pages import first_error, refusal_text, wants_fragment

from .. import selectors, services, workflows
from ..forms import (
    ConfirmForm,
    EscalationForm,
    MonitorAssignForm,
    RecurrenceDecisionForm,
    RecurrenceLinkForm,
    RiskFactorsForm,
    SurveyForm,
    TermFormSet,
    TransitionForm,
)
from .pages import case_or_404, render_case


def _after_action(request: HttpRequest, case_id: int, notice: str) -> HttpResponse:
    if wants_fragment(request):
        return render_case(request, case_or_404(request, case_id), notice=notice)
    messages.success(request, notice)
    return redirect("case-detail", case_id=case_id)


def _case_action(
    request: HttpRequest,
    case_id: int,
    *,
    form,
    run: Callable[[Any, dict], str],
    refusal: Callable[[SulhError], dict],
    invalid: Callable[[Any], str] = lambda form: first_error(form),
) -> HttpResponse:
    """Every POST action of the case page, one way: validate `form`; call the service through `run(case, data)`,
    which returns the notice to show; or answer with the page showing the refusal where the action was
    (`refusal(error)` gives the page's context for it) and the refusal's status. A form that does not validate
    is a 400 refusal with code `invalid` and the message `invalid(form)`; a service's 404 is a 404 page."""
    case = case_or_404(request, case_id)
    if not form.is_valid():
        error = SulhError(invalid(form), code="invalid")
        return render_case(request, case, status=error.status, **refusal(error))
    try:
        notice = run(case, form.cleaned_data)
    except SulhError as error:
        if error.status == 404:
            raise Http404 from None
        # The page comes back with the case as it is now (a stale version shows what changed).
        return render_case(request, case_or_404(request, case_id), status=error.status, **refusal(error))
    return _after_action(request, case.pk, notice)


def _in_section(section: str) -> Callable[[SulhError], dict]:
    """A refusal shown in one section of the follow-up (monitor, risk factors, compliance, history)."""
    return lambda error: {"section_error": {"section": section, "message": refusal_text(error)}}


@login_required
@require_POST
def case_transition(request, case_id: int):
    def run(case, data) -> str:
        if not data["confirm_final"] and _finalises(case, data["to"]):
            raise SulhError(
                _(
                    "Nothing changed: tick the box to confirm that the terms were read to the parties. Once final, "
                    "the agreement can no longer be changed."
                ),
                code="confirmation_required",
            )
        services.case_transition(
            user=request.user,
            case_id=case.pk,
            to=data["to"],
            version=data["version"],
            reason=data["reason"],
            outcome=data["outcome"],
            truce_expires=data["truce_expires"],
        )
        return _("Moved to %(state)s.") % {"state": workflows.state_label(data["to"])}

    def refusal(error: SulhError) -> dict:
        move_error = {"to": request.POST.get("to", ""), "message": error.detail, "code": error.code}
        return {"move_error": move_error, "move_data": request.POST.dict()}

    return _case_action(request, case_id, form=TransitionForm(request.POST), run=run, refusal=refusal)


def _finalises(case, to: str) -> bool:
    """Whether moving the case to `to` would make its agreement final (the page asks for a confirmation first)."""
    workflow = workflows.workflow_for(case.kind)
    transition = workflow.transition(case.state, to)
    return transition is not None and transition.kind == "forward" and case.state == workflow.agreement_state


@login_required
@require_POST
def case_escalate(request, case_id: int):
    def run(case, data) -> str:
        moved = services.case_escalate(
            user=request.user,
            case_id=case.pk,
            direction=data["direction"],
            reason=data["reason"],
            version=data["version"],
            to_level=data["to_level"],
            justification=data["justification"],
        )
        values = {"level": moved.rung.level, "name": moved.rung.name}
        if data["direction"] == "up":
            return _("Moved up to rung %(level)s (%(name)s).") % values
        return _("Moved down to rung %(level)s (%(name)s).") % values

    def refusal(error: SulhError) -> dict:
        ladder_error = {"direction": request.POST.get("direction", ""), "message": error.detail, "code": error.code}
        return {"ladder_error": ladder_error, "ladder_data": request.POST.dict()}

    return _case_action(request, case_id, form=EscalationForm(request.POST), run=run, refusal=refusal)


@login_required
@require_POST
def case_agreement(request, case_id: int):
    terms = TermFormSet(request.POST, prefix="terms")
    submitted: list = []

    def run(case, data) -> str:
        deleted = {id(f) for f in terms.deleted_forms}
        submitted.extend(f for f in terms.forms if f.cleaned_data and id(f) not in deleted)
        agreement = services.agreement_record(
            user=request.user, case_id=case.pk, terms=[f.as_term() for f in submitted]
        )
        return _("Agreement recorded (revision %(revision)s).") % {"revision": agreement.revision}

    def refusal(error: SulhError) -> dict:
        message = error.detail
        if error.code == "prohibited_term":
            # Each refused term gets the practice and the law next to it; what was typed stays.
            marked = False
            for index, problem in ((error.fields or {}).get("terms") or {}).items():
                try:
                    form = submitted[int(index)]
                except (ValueError, IndexError):
                    continue
                form.add_error("description", problem.get("description") or [error.detail])
                form.citations = problem.get("citations") or []
                form.may_ask_review = bool(problem.get("may_ask_review"))
                marked = True
            if marked:
                message = _(
                    "Nothing was recorded: a term describes a prohibited practice. It is marked below, with the law."
                )
        return {"terms": terms, "agreement_error": message}

    def invalid(formset) -> str:
        return " ".join(str(e) for e in formset.non_form_errors()) or _("Some terms need your attention.")

    return _case_action(request, case_id, form=terms, run=run, refusal=refusal, invalid=invalid)


# --- Following the agreement: the monitor, conflicts, the feud's history, closing surveys ---------------


@login_required
@require_POST
def case_monitor(request, case_id: int):
    monitors = selectors.forum_monitors(forum=case_or_404(request, case_id).forum)

    def run(case, data) -> str:
        monitor = next((m for m in monitors if m.pk == data["monitor"]), None)
        services.case_monitor_assign(user=request.user, case_id=case.pk, monitor=monitor)
        if monitor is None:
            return _("Every monitor of the forum follows this case.")
        return _("Handed to %(monitor)s.") % {"monitor": monitor.get_full_name() or monitor.get_username()}

    form = MonitorAssignForm(request.POST, monitors=monitors)
    return _case_action(request, case_id, form=form, run=run, refusal=_in_section("monitor"))


@login_required
@require_POST
def case_risk_factors(request, case_id: int):
    def run(case, data) -> str:
        services.case_risk_factors_set(user=request.user, case_id=case.pk, factors=data["factors"])
        return _("The risk factors are saved.")

    form = RiskFactorsForm(request.POST)
    return _case_action(request, case_id, form=form, run=run, refusal=_in_section("risk_factors"))


@login_required
@require_POST
def conflict_review(request, case_id: int, conflict_id: int):
    if not selectors.case_conflicts(case=case_or_404(request, case_id)).filter(pk=conflict_id).exists():
        raise Http404

    def run(case, data) -> str:
        services.compliance_conflict_review(user=request.user, conflict_id=conflict_id)
        return _("Conflict marked as reviewed; both checks stay on record.")

    return _case_action(request, case_id, form=ConfirmForm(request.POST), run=run, refusal=_in_section("compliance"))


@login_required
@require_POST
def recurrence_link(request, case_id: int):
    def run(case, data) -> str:
        link = services.recurrence_link(user=request.user, case_id=case.pk, **data)
        return _("Linked to %(reference)s.") % {"reference": link.earlier.reference}

    form = RecurrenceLinkForm(request.POST)
    return _case_action(request, case_id, form=form, run=run, refusal=_in_section("history"))


@login_required
@require_POST
def recurrence_decide(request, case_id: int, recurrence_id: int):
    form = RecurrenceDecisionForm(request.POST)
    if form.is_valid() and not selectors.case_recurrence_ids(
        case=case_or_404(request, case_id), recurrence_id=recurrence_id
    ):
        raise Http404

    def run(case, data) -> str:
        services.recurrence_decide(user=request.user, recurrence_id=recurrence_id, **data)
        if data["status"] == "confirmed":
            return _("Confirmed: the two cases are one feud.")
        return _("Link rejected.")

    return _case_action(request, case_id, form=form, run=run, refusal=_in_section("history"))


@login_required
@require_POST
def case_survey(request, case_id: int):
    form = SurveyForm(request.POST, parties=selectors.survey_parties(case=case_or_404(request, case_id)))

    def run(case, data) -> str:
        data = dict(data)
        services.survey_record(user=request.user, case_id=case.pk, party_id=data.pop("party"), **data)
        return _("Survey recorded.")

    def refusal(error: SulhError) -> dict:
        if error.code != "invalid":
            form.add_error(None, error.detail)
        return {"survey_form": form}

    return _case_action(request, case_id, form=form, run=run, refusal=refusal)
