"""Moving a case along its forum's workflow: the guards are workflows.Workflow.check's; this supplies the facts."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import DomainRuleError

from .. import ladder_stats, selectors, workflows
from ..models import (
    Agreement,
    Case,
    Reminder,
)
from .common import StaleVersion, TransitionNotAllowed, check_can_manage, event_append, lock_case
from .conflicts import conflict_check
from .settlements import settlement_freeze

GUARD_MESSAGES = {
    workflows.REASON_REQUIRED: gettext_lazy("This move needs a reason."),
    workflows.OFFENCE_NOT_COMPOUNDABLE: gettext_lazy(
        "Only a court may decide this offence: the case can only be referred or withdrawn (CrPC s.345(7); PPC s.311)."
    ),
    workflows.AGREEMENT_MISSING: gettext_lazy("Record an agreement with at least one term first."),
    workflows.COMPLIANCE_OPEN: gettext_lazy(
        "Closing as resolved needs every term's latest compliance check to be met."
    ),
    workflows.SCREENING_PENDING: gettext_lazy(
        "A term of the agreement waits for a legal reviewer: the agreement cannot become final until it is decided."
    ),
    workflows.OUTCOME_REQUIRED: gettext_lazy("Closing needs an outcome: resolved, partly resolved or breakdown."),
    workflows.DEPOSIT_OPEN: gettext_lazy(
        "A deposit is still held: return it or, after a breach, declare it forfeited before closing as resolved."
    ),
}


def _guard_refusal(code: str) -> DomainRuleError:
    return DomainRuleError(str(GUARD_MESSAGES[code]), code=code)


def case_transition(
    *,
    user: User,
    case_id: int | str,
    to: str,
    version: int,
    reason: str = "",
    outcome: str = "",
    truce_expires: date | None = None,
) -> Case:
    """Move a case along its forum's workflow. Raises the contract's codes (409 stale_version, 422 guards)."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
        conflict_check(user=user, case_id=case.pk)  # Not with an unresolved tie to a party (issue 19).
        if version != case.version:
            raise StaleVersion()
        workflow = workflows.workflow_for(case.kind)
        transition = workflow.transition(case.state, to)
        if transition is None:
            raise TransitionNotAllowed(
                _("A case in “%(state)s” cannot move to “%(to)s”.")
                % {"state": workflows.state_label(case.state), "to": workflows.state_label(to)}
            )
        reason = (reason or "").strip()
        agreement = Agreement.objects.filter(case=case).first()
        facts = selectors.CaseMoveFacts(case=case, agreement=agreement, reason=reason, outcome=outcome or "")
        refused = workflow.check(case.state, to, facts)
        if refused:
            raise _guard_refusal(refused[0])

        now = timezone.now()
        source = case.state
        if source == workflow.agreement_state and transition.kind == "forward" and agreement is not None:
            agreement.status = Agreement.Status.FINAL
            agreement.finalised_at = now
            agreement.save(update_fields=["status", "finalised_at"])
            event_append(
                case=case,
                kind="agreement_finalised",
                actor=user,
                at=now,
                data={"agreement": agreement.pk, "revision": agreement.revision},
            )
            # The written settlement is frozen in the same transaction: a final agreement always has its paper.
            settlement_freeze(agreement=agreement, finalised_by=user)
        case.state = to
        case.version += 1
        if to in workflows.ENDED:
            case.closed_at = now
            case.outcome = outcome if to == workflows.CLOSED else to
            ladder_stats.record_end(case=case)
            # An ended case leaves the ladder: nothing is left to consider about it.
            Reminder.objects.filter(case=case, resolved_at__isnull=True).update(resolved_at=now)
        update_fields = ["state", "version", "closed_at", "outcome"]
        if truce_expires and to == "truce":
            case.truce_expires = truce_expires
            update_fields.append("truce_expires")
        case.save(update_fields=update_fields)
        data = {"from": source, "to": to, "kind": transition.kind}
        if reason:
            data["reason"] = reason
        if to in workflows.ENDED:
            data["outcome"] = case.outcome
        if truce_expires and to == "truce":
            data["truce_expires"] = truce_expires.isoformat()
        event_append(case=case, kind="transitioned", actor=user, at=now, data=data)
    return case
