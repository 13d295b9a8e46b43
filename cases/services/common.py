"""What every case service shares: the domain errors, the access checks, the case row lock and the timeline's append.

Every state change is one call under atomic() with the case row locked and its version checked, appending its
event in the same transaction (STYLE.md rule 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from .. import rules as case_rules
from ..models import (
    Case,
    CaseEvent,
    Forum,
)


class StaleVersion(ConflictError):
    code = "stale_version"
    default_detail = gettext_lazy("The case changed since you loaded it. Reload it and try again.")


class TransitionNotAllowed(DomainRuleError):
    code = "transition_not_allowed"


class ProhibitedTermError(DomainRuleError):
    code = "prohibited_term"


class AgreementFinal(ConflictError):
    code = "agreement_final"
    default_detail = gettext_lazy("The agreement is final and can no longer be replaced.")


def invalid(field: str, message: str) -> SulhError:
    """A 400 `invalid` naming the one field that is wrong, in the contract's error shape."""
    return SulhError(message, code="invalid", fields={field: [message]})


def check_can_see(*, user: User | AnonymousUser, forum: Forum) -> None:
    if not case_rules.can_view_forum(user, forum):
        raise NotFoundError()


def check_can_manage(*, user: User | AnonymousUser, forum: Forum) -> None:
    check_can_see(user=user, forum=forum)
    if not case_rules.can_manage_forum_cases(user, forum):
        raise ForbiddenError(_("Only the forum's facilitators may do this."))


def lock_case(*, user: User | AnonymousUser, case_id: int | str) -> Case:
    """The case row, locked until the transaction ends; NotFoundError outside the user's forums."""
    try:
        # OF self: lock the case row only, not the joined forum and rung rows every other case shares.
        case = Case.objects.select_for_update(of=("self",)).select_related("forum", "rung").get(pk=int(case_id))
    except (Case.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None
    check_can_see(user=user, forum=case.forum)
    return case


def event_append(
    *, case: Case, kind: str, actor: User | None = None, data: dict[str, Any] | None = None, at: datetime | None = None
) -> CaseEvent:
    """Append to the case's timeline. The caller must hold the case row lock (see lock_case)."""
    case.last_seq += 1
    Case.objects.filter(pk=case.pk).update(last_seq=case.last_seq)
    return CaseEvent.objects.create(
        case=case, seq=case.last_seq, kind=kind, actor=actor, at=at or timezone.now(), data=data or {}
    )


class AgreementNotFinal(DomainRuleError):
    code = "agreement_not_final"
    default_detail = gettext_lazy("Compliance is checked once the agreement is final.")
