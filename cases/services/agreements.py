"""Agreements and their terms: drafts, instalments, screening against the prohibited practices, finalising."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainRuleError, SulhError

from .. import guardrails, workflows
from ..models import (
    Agreement,
    Case,
    CaseEvent,
    Instalment,
    Term,
)
from .common import AgreementFinal, ProhibitedTermError, check_can_manage, event_append, lock_case


def _term_payload(term: dict) -> dict:
    payload = {"kind": term["kind"], "description": term["description"]}
    if term.get("amount") is not None:
        payload["amount"] = str(term["amount"])
    if term.get("currency"):
        payload["currency"] = term["currency"]
    if term.get("due"):
        payload["due"] = term["due"].isoformat()
    if term.get("instalments"):
        payload["instalments"] = [
            {"due": part["due"].isoformat(), "amount": str(part["amount"])} for part in term["instalments"]
        ]
    return payload


def _check_instalments(*, index: int, term: dict) -> None:
    """An instalment schedule belongs to a compensation term: positive amounts, due dates in order, adding up
    to the term's amount when it has one."""
    parts = term.get("instalments") or []
    if not parts:
        return
    problem = None
    if term["kind"] != Term.Kind.COMPENSATION:
        problem = _("Only a compensation term is paid in instalments.")
    elif any(part["amount"] is None or part["amount"] <= 0 for part in parts):
        problem = _("Each instalment needs an amount above zero.")
    elif any(later["due"] <= earlier["due"] for earlier, later in zip(parts, parts[1:], strict=False)):
        problem = _("Instalments fall due one after another: each due date after the one before.")
    elif term.get("amount") is not None and sum(part["amount"] for part in parts) != term["amount"]:
        problem = _("The instalments add up to %(sum)s, not the term's amount of %(amount)s.") % {
            "sum": sum(part["amount"] for part in parts),
            "amount": term["amount"],
        }
    if problem:
        raise SulhError(problem, code="invalid", fields={"terms": {str(index): {"instalments": [problem]}}})


def _blocked_term(*, case: Case, user, index: int, term_kind: str, hit, source: dict | None = None):
    """Put a refused term on the timeline (the caller holds the case lock) and return the error to raise
    once that is committed."""
    event_append(
        case=case,
        kind="prohibited_term_blocked",
        actor=user,
        data={
            "term_index": index,
            "term_kind": term_kind,
            "practice": hit.practice_code,
            "practice_name": hit.practice_name,
            "citations": list(hit.citations),
            **(source or {}),
        },
    )
    return ProhibitedTermError(
        _("Term %(number)s describes a prohibited practice (%(practice)s): %(law)s.")
        % {"number": index + 1, "practice": hit.practice_name, "law": "; ".join(hit.citations)},
        fields={
            "terms": {
                str(index): {
                    "description": [_("Prohibited: %(practice)s.") % {"practice": hit.practice_name}],
                    "practice": hit.practice_code,
                    "citations": list(hit.citations),
                }
            }
        },
    )


def _lock_draft(*, user, case_id) -> tuple[Case, Agreement | None]:
    """The case, locked, and its agreement, when the caller may change the draft: a facilitator of the
    forum, the case open, the agreement not final."""
    case = lock_case(user=user, case_id=case_id)
    check_can_manage(user=user, forum=case.forum)
    if case.state in workflows.ENDED:
        raise DomainRuleError(_("The case has ended; its agreement can no longer change."), code="case_not_open")
    agreement = Agreement.objects.filter(case=case).first()
    if agreement is not None and agreement.status == Agreement.Status.FINAL:
        raise AgreementFinal()
    return case, agreement


def term_check(*, user, case_id, term_kind: str, description: str, source: dict) -> None:
    """Refuse a term proposed elsewhere (a proposal in a live session) as agreement_record would: the attempt
    goes on the case's timeline with `source` (e.g. {"session": id}), then ProhibitedTermError. The draft
    must still be open to change (AgreementFinal, case_not_open otherwise)."""
    blocked = None
    with transaction.atomic():
        case, _agreement = _lock_draft(user=user, case_id=case_id)
        hit = guardrails.find_prohibition(description)
        if hit is not None:
            blocked = _blocked_term(case=case, user=user, index=0, term_kind=term_kind, hit=hit, source=source)
    if blocked is not None:
        raise blocked


def agreement_term_add(*, user, case_id, term: dict) -> tuple[Agreement, int]:
    """Add one term to the end of the case's draft agreement (creating it if needed): (agreement, position).
    The same checks as agreement_record, whose refusal of a prohibited term is raised here unrecorded: the
    caller's transaction rolls back, so callers check with term_check first."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        current = Agreement.objects.filter(case=case).first()
        existing = (
            []
            if current is None
            else [
                {"kind": t.kind, "description": t.description, "amount": t.amount, "currency": t.currency, "due": t.due}
                for t in current.terms.order_by("position")
            ]
        )
        agreement = agreement_record(user=user, case_id=case.pk, terms=[*existing, term])
    return agreement, len(existing) + 1


def timeline_record(*, case_id, kind: str, actor, data: dict) -> CaseEvent:
    """Append to a case's timeline for another app (a session started or ended, a proposal decided). The
    caller has checked who may do it."""
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
        return event_append(case=case, kind=kind, actor=actor, data=data)


def agreement_record(*, user, case_id, terms: list[dict]) -> Agreement:
    """Record (or replace) the case's draft agreement, refusing any term that describes a prohibited practice.

    A refused attempt stays on the timeline as `prohibited_term_blocked`, so it is committed before the
    refusal is raised.
    """
    blocked: ProhibitedTermError | None = None
    for index, term in enumerate(terms):
        _check_instalments(index=index, term=term)
    with transaction.atomic():
        case, agreement = _lock_draft(user=user, case_id=case_id)
        for index, term in enumerate(terms):
            hit = guardrails.find_prohibition(term["description"])
            if hit is not None:
                blocked = _blocked_term(case=case, user=user, index=index, term_kind=term["kind"], hit=hit)
                break
        if blocked is None:
            now = timezone.now()
            if agreement is None:
                agreement = Agreement.objects.create(case=case, recorded_at=now)
            else:
                agreement.terms.all().delete()
                agreement.revision += 1
                agreement.recorded_at = now
                agreement.save(update_fields=["revision", "recorded_at"])
            created = Term.objects.bulk_create(
                Term(
                    agreement=agreement,
                    position=position,
                    kind=term["kind"],
                    description=term["description"],
                    amount=term.get("amount"),
                    currency=term.get("currency") or "",
                    due=term.get("due"),
                )
                for position, term in enumerate(terms, start=1)
            )
            Instalment.objects.bulk_create(
                Instalment(term=row, number=number, due_on=part["due"], amount=part["amount"])
                for row, term in zip(created, terms, strict=True)
                for number, part in enumerate(term.get("instalments") or (), start=1)
            )
            event_append(
                case=case,
                kind="agreement_recorded",
                actor=user,
                at=now,
                data={
                    "agreement": agreement.pk,
                    "revision": agreement.revision,
                    "terms": [_term_payload(t) for t in terms],
                },
            )
    if blocked is not None:
        raise blocked
    return agreement
