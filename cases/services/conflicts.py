"""Conflicts of interest (issue 19, item 4): a forum member's declared tie to a party of a case.

Facilitators and session elders are often related to one side. A forum member (a facilitator or a monitor of the
case's forum) declares their own tie to one of the case's parties — kin, tribe, business, other — or the forum's
facilitators record it for them. Until the tie is resolved, the person neither runs a session of the case
(deliberation.services.session_start) nor moves the case along its workflow (services.transitions): 422
`conflict_unresolved`. It is resolved either by the person's recusal — after which they do neither, ever, on that
case (422 `conflict_recused`) — or by each side's informed acceptance, recorded (who accepted for the side, when)
by someone of the forum other than the person tied.

`conflict_check` is the one rule every door goes through; each write locks the case row and appends its event.
Events carry ids, kinds, sides and the party's pseudonym, never a name or the note.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError

from .. import rules as case_rules
from .. import workflows
from ..models import Case, CaseParty, GuaranteeSide, TieDeclaration
from .common import check_can_manage, event_append, invalid, lock_case

SIDES = tuple(GuaranteeSide.values)


class ConflictUnresolved(DomainRuleError):
    code = "conflict_unresolved"


class ConflictRecused(DomainRuleError):
    code = "conflict_recused"


def conflict_check(*, user: User | AnonymousUser, case_id: int) -> None:
    """Refuse (422) a person with a tie to a party of this case that is not resolved, or from which they recused:
    they may not run the case's sessions nor move the case. One indexed query; nothing when they have no tie."""
    if getattr(user, "pk", None) is None:
        return
    statuses = set(
        TieDeclaration.objects.filter(case_id=case_id, person_id=user.pk)
        .exclude(status=TieDeclaration.Status.ACCEPTED)
        .values_list("status", flat=True)
    )
    if TieDeclaration.Status.RECUSED in statuses:
        raise ConflictRecused(
            _("You recused yourself from this case for a tie to one of its parties: you cannot do this on it.")
        )
    if TieDeclaration.Status.DECLARED in statuses:
        raise ConflictUnresolved(
            _(
                "You declared a tie to a party of this case: until both sides accept you, or you recuse yourself, "
                "you cannot run its sessions or move it."
            )
        )


def _check_open(case: Case) -> None:
    if case.state in workflows.ENDED:
        raise DomainRuleError(_("The case has ended; its declared ties can no longer change."), code="case_not_open")


def may_declare_for(user: User | AnonymousUser, case: Case) -> bool:
    """Declares for others: the forum's facilitators (and administrators); for themselves: any forum member."""
    return bool(case_rules.can_manage_forum_cases(user, case.forum))


def tie_declare(
    *,
    user: User,
    case_id: int | str,
    party_id: int,
    kind: str,
    note: str = "",
    person_id: int | None = None,
) -> TieDeclaration:
    """Declare `person_id`'s (by default the caller's) tie to one of the case's parties."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        person_id = user.pk if person_id is None else person_id
        if person_id != user.pk and not may_declare_for(user, case):
            raise ForbiddenError(_("Only the forum's facilitators declare a tie for someone else."))
        if person_id == user.pk and not (case_rules.is_forum_member(user, case.forum) or may_declare_for(user, case)):
            raise ForbiddenError(_("Only the forum's facilitators and monitors declare ties."))
        _check_open(case)
        person = get_user_model().objects.filter(pk=person_id, is_active=True).first()
        if person is None or not case_rules.is_forum_member(person, case.forum):
            raise invalid("person", _("Only a facilitator or a monitor of the forum declares a tie here."))
        if kind not in TieDeclaration.Kind.values:
            raise invalid("kind", _("Choose the kind of tie: kin, tribe, business or other."))
        roles = CaseParty.objects.filter(case=case, party_id=party_id).select_related("party")
        case_party = roles.first()
        if case_party is None:
            raise invalid("party", _("Not a party of this case."))
        if TieDeclaration.objects.filter(case=case, person=person, party_id=party_id).exists():
            raise ConflictError(_("This tie to this party is already declared."), code="tie_exists")
        first = not TieDeclaration.objects.filter(case=case).exists()
        now = timezone.now()
        tie = TieDeclaration.objects.create(
            case=case,
            person=person,
            party_id=party_id,
            kind=kind,
            note=(note or "").strip(),
            declared_at=now,
            declared_by=user,
        )
        data: dict[str, Any] = {
            "tie": tie.pk,
            "person": person.pk,
            "party": party_id,
            "pseudonym": case_party.party.pseudonym,
            "kind": kind,
            # The summary counts cases with a declared tie: the case's first declaration says it is one.
            "first_on_case": first,
        }
        event_append(case=case, kind="tie_declared", actor=user, at=now, data=data)
    return tie


def _lock_tie(*, user: User, case_id: int | str, tie_id: int | str) -> tuple[Case, TieDeclaration]:
    case = lock_case(user=user, case_id=case_id)
    try:
        tie = TieDeclaration.objects.select_for_update().select_related("person").get(pk=int(tie_id), case=case)
    except (TieDeclaration.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None
    return case, tie


def tie_recuse(*, user: User, case_id: int | str, tie_id: int | str) -> TieDeclaration:
    """The person tied steps aside from the case (their own choice, or recorded by a facilitator of the forum).
    Final: from then on they neither run its sessions nor move it, whatever the sides say."""
    with transaction.atomic():
        case, tie = _lock_tie(user=user, case_id=case_id, tie_id=tie_id)
        if tie.person_id != user.pk:
            check_can_manage(user=user, forum=case.forum)
        _check_open(case)
        if tie.status == TieDeclaration.Status.RECUSED:
            raise ConflictError(_("This person already recused themselves."), code="tie_resolved")
        now = timezone.now()
        tie.status, tie.recused_at, tie.recused_by = TieDeclaration.Status.RECUSED, now, user
        tie.save(update_fields=["status", "recused_at", "recused_by"])
        data = {"tie": tie.pk, "person": tie.person_id, "kind": tie.kind}
        event_append(case=case, kind="tie_recused", actor=user, at=now, data=data)
    return tie


def tie_accept(*, user: User, case_id: int | str, tie_id: int | str, side: str, accepted_by: str) -> TieDeclaration:
    """Record that one side (first_party / second_party), told of the tie, accepts the person all the same:
    `accepted_by` is who spoke for the side. A facilitator of the forum records it, never the person tied. With
    both sides' acceptance the tie is resolved."""
    with transaction.atomic():
        case, tie = _lock_tie(user=user, case_id=case_id, tie_id=tie_id)
        check_can_manage(user=user, forum=case.forum)
        if tie.person_id == user.pk:
            raise ForbiddenError(_("Someone other than the person tied records the sides' acceptance."))
        _check_open(case)
        if tie.status != TieDeclaration.Status.DECLARED:
            raise ConflictError(
                _("This tie is already resolved: %(status)s.") % {"status": tie.get_status_display().lower()},
                code="tie_resolved",
            )
        if side not in SIDES:
            raise invalid("side", _("Choose the side that accepts."))
        accepted_by = (accepted_by or "").strip()
        if not accepted_by:
            raise invalid("accepted_by", _("Say who accepted for the side."))
        if tie.side_accepted(side):
            raise ConflictError(_("This side's acceptance is already recorded."), code="side_accepted")
        now = timezone.now()
        prefix = side.removesuffix("_party")
        setattr(tie, f"{prefix}_accepted_by", accepted_by)
        setattr(tie, f"{prefix}_accepted_at", now)
        setattr(tie, f"{prefix}_recorded_by", user)
        fields = [f"{prefix}_accepted_by", f"{prefix}_accepted_at", f"{prefix}_recorded_by"]
        resolved = all(tie.side_accepted(s) for s in SIDES)
        if resolved:
            tie.status = TieDeclaration.Status.ACCEPTED
            fields.append("status")
        tie.save(update_fields=fields)
        data = {"tie": tie.pk, "person": tie.person_id, "side": side, "resolved": resolved}
        event_append(case=case, kind="tie_accepted", actor=user, at=now, data=data)
    return tie
