"""The case page's guarantees section (issue 19, item 2): what it shows (its posts are in guarantee_actions.py).
The rules — who, when, only after a breach — are cases.services.guarantees'; this only decides which controls to
show."""

from __future__ import annotations

from django.http import HttpRequest

from .. import rules as case_rules
from .. import selectors, workflows
from ..forms import DepositForm, GuarantorForm
from ..models import Case


def guarantees_context(request: HttpRequest, case: Case) -> dict:
    """What the section shows: every guarantor and deposit of the case to whoever reads it; the forms to the
    forum's facilitators while the case is open (returning a deposit stays possible after the end)."""
    may_manage = bool(case_rules.can_manage_forum_cases(request.user, case.forum))
    is_open = case.state not in workflows.ENDED
    return {
        "g_guarantors": list(selectors.case_guarantors(case=case)),
        "g_deposits": list(selectors.case_deposits(case=case)),
        "g_manage": may_manage,
        "g_open": is_open,
        "g_breached": may_manage and selectors.case_has_breach(case=case),
        "g_guarantor_form": GuarantorForm(parties=list(case.case_parties.all())) if may_manage and is_open else None,
        "g_deposit_form": DepositForm() if may_manage and is_open else None,
    }
