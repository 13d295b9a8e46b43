"""Guarantees (issue 19, item 2): guarantors (kafil, zamin) and deposits (machalgha / nagha with a jirga, the atwa
at a sulha's truce) on a case.

The forum's facilitators record them while the case is open. After a breach is on the timeline (a monitor's
`breached` compliance check, services.monitoring) a facilitator may call a guarantor or declare a deposit
forfeited, with a reason; a deposit is returned at the end (on or after closing too: a withdrawn case's deposit
still goes back). A case cannot close as resolved while a deposit is held (workflows.DEPOSIT_OPEN).

Each write locks the case row and appends its event; events carry ids, sides, kinds and amounts, never a name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ConflictError, DomainRuleError, NotFoundError

from .. import workflows
from ..models import Case, CaseEvent, CaseParty, Deposit, GuaranteeSide, Guarantor
from .common import check_can_manage, event_append, invalid, lock_case

BREACH_EVENT = "breach_recorded"


def _check_open(case: Case) -> None:
    if case.state in workflows.ENDED:
        raise DomainRuleError(_("The case has ended; its guarantees can no longer change."), code="case_not_open")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainRuleError(_("Say why: what was broken, and by whom."), code="reason_required")
    return reason


def _check_breach(case: Case) -> None:
    """Guarantees are called in only after a breach is on the record, never on a facilitator's word alone."""
    if not CaseEvent.objects.filter(case=case, kind=BREACH_EVENT).exists():
        raise DomainRuleError(
            _("No breach is recorded on this case: a guarantee is called in only after a recorded breach."),
            code="breach_not_recorded",
        )


def guarantor_add(
    *,
    user: User,
    case_id: int | str,
    stands_for: str,
    guarantees: str,
    party_id: int | None = None,
    name: str = "",
) -> Guarantor:
    """A guarantor for one side: one of the case's parties (party_id) or a person named here (name)."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
        _check_open(case)
        name = (name or "").strip()
        guarantees = (guarantees or "").strip()
        if stands_for not in GuaranteeSide.values:
            raise invalid("stands_for", _("Choose the side the guarantor stands for."))
        if not guarantees:
            raise invalid("guarantees", _("Say what the guarantor answers for."))
        if (party_id is None) == (not name):
            raise invalid("name", _("Give either one of the case's parties or the guarantor's name, not both."))
        if party_id is not None and not CaseParty.objects.filter(case=case, party_id=party_id).exists():
            raise invalid("party", _("Not a party of this case."))
        now = timezone.now()
        guarantor = Guarantor.objects.create(
            case=case,
            party_id=party_id,
            name=name,
            stands_for=stands_for,
            guarantees=guarantees,
            recorded_by=user,
            recorded_at=now,
        )
        data: dict[str, Any] = {"guarantor": guarantor.pk, "stands_for": stands_for, "party": party_id}
        event_append(case=case, kind="guarantor_added", actor=user, at=now, data=data)
    return guarantor


def deposit_add(
    *,
    user: User,
    case_id: int | str,
    kind: str,
    held_by: str,
    deposited_by: str,
    received_at: date,
    amount: Decimal | None = None,
    currency: str = "",
    description: str = "",
) -> Deposit:
    """Money or goods lodged with the forum by one side. Money needs an amount and a currency."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
        _check_open(case)
        held_by = (held_by or "").strip()
        description = (description or "").strip()
        currency = (currency or "").strip().upper()
        if kind not in Deposit.Kind.values:
            raise invalid("kind", _("Choose money or goods."))
        if deposited_by not in GuaranteeSide.values:
            raise invalid("deposited_by", _("Choose the side that lodged the deposit."))
        if not held_by:
            raise invalid("held_by", _("Say who holds the deposit."))
        if amount is not None and amount <= 0:
            raise invalid("amount", _("An amount is more than zero."))
        if kind == Deposit.Kind.MONEY and (amount is None or not currency):
            raise invalid("amount", _("A deposit of money needs an amount and a currency."))
        if kind == Deposit.Kind.GOODS and not description:
            raise invalid("description", _("Describe the goods."))
        if received_at > timezone.localdate():
            raise invalid("received_at", _("A deposit cannot be received in the future."))
        now = timezone.now()
        deposit = Deposit.objects.create(
            case=case,
            kind=kind,
            description=description,
            amount=amount,
            currency=currency if amount is not None else "",
            held_by=held_by,
            deposited_by=deposited_by,
            received_at=received_at,
            recorded_by=user,
            recorded_at=now,
        )
        event_append(case=case, kind="deposit_received", actor=user, at=now, data=_deposit_data(deposit))
    return deposit


def _deposit_data(deposit: Deposit) -> dict[str, Any]:
    return {
        "deposit": deposit.pk,
        "kind": deposit.kind,
        "amount": None if deposit.amount is None else str(deposit.amount),
        "currency": deposit.currency,
        "deposited_by": deposit.deposited_by,
        "received_at": deposit.received_at.isoformat(),
    }


def _lock_deposit(*, user: User, deposit_id: int | str) -> tuple[Case, Deposit]:
    """The deposit's case locked (lock_case), then the deposit; NotFoundError outside the user's forums."""
    try:
        case_id = Deposit.objects.values_list("case_id", flat=True).get(pk=int(deposit_id))
    except (Deposit.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None
    case = lock_case(user=user, case_id=case_id)
    deposit = Deposit.objects.select_for_update().get(pk=int(deposit_id))
    return case, deposit


def _check_held(deposit: Deposit) -> None:
    if deposit.status != Deposit.Status.HELD:
        raise ConflictError(
            _("This deposit was already %(status)s.") % {"status": deposit.get_status_display().lower()},
            code="deposit_settled",
        )


def deposit_forfeit(*, user: User, deposit_id: int | str, reason: str) -> Deposit:
    """Declare a held deposit forfeited by the side that lodged it: only after a recorded breach, with a reason."""
    with transaction.atomic():
        case, deposit = _lock_deposit(user=user, deposit_id=deposit_id)
        check_can_manage(user=user, forum=case.forum)
        _check_open(case)
        _check_held(deposit)
        reason = _reason(reason)
        _check_breach(case)
        now = timezone.now()
        deposit.status, deposit.settled_at, deposit.reason = Deposit.Status.FORFEITED, now, reason
        deposit.save(update_fields=["status", "settled_at", "reason"])
        data = {**_deposit_data(deposit), "reason": reason}
        event_append(case=case, kind="deposit_forfeited", actor=user, at=now, data=data)
    return deposit


def deposit_return(*, user: User, deposit_id: int | str, reason: str = "") -> Deposit:
    """Record that a held deposit went back to the side that lodged it: at the end of the case, before closing or
    after it (a withdrawn or referred case's deposit goes back too)."""
    with transaction.atomic():
        case, deposit = _lock_deposit(user=user, deposit_id=deposit_id)
        check_can_manage(user=user, forum=case.forum)
        _check_held(deposit)
        now = timezone.now()
        deposit.status, deposit.settled_at, deposit.reason = Deposit.Status.RETURNED, now, (reason or "").strip()
        deposit.save(update_fields=["status", "settled_at", "reason"])
        data = _deposit_data(deposit)
        if deposit.reason:
            data["reason"] = deposit.reason
        event_append(case=case, kind="deposit_returned", actor=user, at=now, data=data)
    return deposit


def guarantor_call(*, user: User, guarantor_id: int | str, reason: str) -> Guarantor:
    """Call an active guarantor to answer for their side: only after a recorded breach, with a reason."""
    with transaction.atomic():
        try:
            case_id = Guarantor.objects.values_list("case_id", flat=True).get(pk=int(guarantor_id))
        except (Guarantor.DoesNotExist, TypeError, ValueError):
            raise NotFoundError() from None
        case = lock_case(user=user, case_id=case_id)
        guarantor = Guarantor.objects.select_for_update().get(pk=int(guarantor_id))
        check_can_manage(user=user, forum=case.forum)
        _check_open(case)
        if guarantor.status != Guarantor.Status.ACTIVE:
            raise ConflictError(_("This guarantor is no longer active."), code="guarantor_not_active")
        reason = _reason(reason)
        _check_breach(case)
        now = timezone.now()
        guarantor.status, guarantor.called_at, guarantor.reason = Guarantor.Status.CALLED, now, reason
        guarantor.save(update_fields=["status", "called_at", "reason"])
        data = {"guarantor": guarantor.pk, "stands_for": guarantor.stands_for, "reason": reason}
        event_append(case=case, kind="guarantor_called", actor=user, at=now, data=data)
    return guarantor
