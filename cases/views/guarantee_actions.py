"""The posts of the case page's guarantees section (issue 19, item 2), through the case page's one action path
(`actions._case_action`): the rules are cases.services.guarantees'."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import DepositForm, GuaranteeReasonForm, GuarantorForm
from .actions import _case_action, _in_section
from .pages import case_or_404

_refused = _in_section("guarantees")


@login_required
@require_POST
def guarantor_add(request, case_id: int):
    def run(case, data) -> str:
        services.guarantor_add(
            user=request.user,
            case_id=case.pk,
            stands_for=data["stands_for"],
            guarantees=data["guarantees"],
            party_id=data["party"],
            name=data["name"],
        )
        return _("The guarantor is recorded.")

    case = case_or_404(request, case_id)
    form = GuarantorForm(request.POST, parties=list(case.case_parties.all()))
    return _case_action(request, case_id, form=form, run=run, refusal=_refused)


@login_required
@require_POST
def deposit_add(request, case_id: int):
    def run(case, data) -> str:
        services.deposit_add(
            user=request.user,
            case_id=case.pk,
            kind=data["kind"],
            amount=data["amount"],
            currency=data["currency"],
            description=data["description"],
            held_by=data["held_by"],
            deposited_by=data["deposited_by"],
            received_at=data["received_at"],
        )
        return _("The deposit is recorded.")

    return _case_action(request, case_id, form=DepositForm(request.POST), run=run, refusal=_refused)


def _deposit_of(request: HttpRequest, case_id: int, deposit_id: int) -> None:
    """404 unless the deposit belongs to this case, which the user may see."""
    if not selectors.case_deposits(case=case_or_404(request, case_id)).filter(pk=deposit_id).exists():
        raise Http404


@login_required
@require_POST
def deposit_forfeit(request, case_id: int, deposit_id: int):
    _deposit_of(request, case_id, deposit_id)

    def run(case, data) -> str:
        services.deposit_forfeit(user=request.user, deposit_id=deposit_id, reason=data["reason"])
        return _("The deposit is declared forfeited.")

    return _case_action(request, case_id, form=GuaranteeReasonForm(request.POST), run=run, refusal=_refused)


@login_required
@require_POST
def deposit_return(request, case_id: int, deposit_id: int):
    _deposit_of(request, case_id, deposit_id)

    def run(case, data) -> str:
        services.deposit_return(user=request.user, deposit_id=deposit_id, reason=data["reason"])
        return _("The deposit is recorded as returned.")

    return _case_action(request, case_id, form=GuaranteeReasonForm(request.POST), run=run, refusal=_refused)


@login_required
@require_POST
def guarantor_call(request, case_id: int, guarantor_id: int):
    if not selectors.case_guarantors(case=case_or_404(request, case_id)).filter(pk=guarantor_id).exists():
        raise Http404

    def run(case, data) -> str:
        services.guarantor_call(user=request.user, guarantor_id=guarantor_id, reason=data["reason"])
        return _("The guarantor is called.")

    return _case_action(request, case_id, form=GuaranteeReasonForm(request.POST), run=run, refusal=_refused)
