"""The posts of the case page's declared ties (issue 19, item 4: conflicts of interest), through the case page's
one action path (`actions._case_action`): the rules are cases.services.conflicts'."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ForbiddenError

from .. import rules as case_rules
from .. import selectors, services
from ..forms import ConfirmForm, TieAcceptForm, TieForm
from .actions import _case_action, _in_section
from .pages import case_or_404, render_case

_refused = _in_section("ties")


@login_required
@require_POST
def tie_declare(request, case_id: int):
    def run(case, data) -> str:
        services.tie_declare(
            user=request.user, case_id=case.pk, person_id=data["person"], party_id=data["party"],
            kind=data["kind"], note=data["note"],
        )  # fmt: skip
        return _("The tie is declared.")

    case = case_or_404(request, case_id)
    may_manage = case_rules.can_manage_forum_cases(request.user, case.forum)
    if not (may_manage or case_rules.is_forum_member(request.user, case.forum)):
        refusal = ForbiddenError(_("Only the forum's facilitators and monitors declare ties."))
        return render_case(request, case, status=refusal.status, **_refused(refusal))
    people = list(selectors.forum_people(forum=case.forum)) if may_manage else [request.user]
    form = TieForm(request.POST, parties=list(case.case_parties.all()), people=people)
    return _case_action(request, case_id, form=form, run=run, refusal=_refused)


@login_required
@require_POST
def tie_recuse(request, case_id: int, tie_id: int):
    def run(case, data) -> str:
        services.tie_recuse(user=request.user, case_id=case.pk, tie_id=tie_id)
        return _("The recusal is recorded.")

    return _case_action(request, case_id, form=ConfirmForm(request.POST), run=run, refusal=_refused)


@login_required
@require_POST
def tie_accept(request, case_id: int, tie_id: int):
    def run(case, data) -> str:
        services.tie_accept(
            user=request.user, case_id=case.pk, tie_id=tie_id, side=data["side"], accepted_by=data["accepted_by"]
        )
        return _("The side's acceptance is recorded.")

    return _case_action(request, case_id, form=TieAcceptForm(request.POST), run=run, refusal=_refused)
