"""Agreements and their terms: drafts, instalments, screening against the prohibited practices, finalising."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Required, TypedDict

from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from .. import rules as case_rules
from .. import screening, workflows
from ..instalments import InstalmentPart
from ..models import (
    REVIEW_REASON_LENGTH,
    Agreement,
    Case,
    CaseEvent,
    Instalment,
    ScreeningExample,
    Term,
)
from ..screening.law import Law, law_for
from .common import AgreementFinal, ProhibitedTermError, check_can_manage, check_can_see, event_append, lock_case


class TermInput(TypedDict, total=False):
    """A term as agreement_record takes it: the API's TermInputSerializer, the page's TermForm.as_term."""

    kind: Required[str]
    description: Required[str]
    amount: Decimal | int | None
    currency: str | None
    due: date | None
    instalments: list[InstalmentPart]
    # If the screening refuses the term, hold it for a legal reviewer instead: the facilitator believes it lawful.
    # A term a reviewer has already found prohibited (the same text) stays refused.
    ask_review: bool
    # Why, in the facilitator's words, for the reviewer (at most REVIEW_REASON_LENGTH characters); kept only with a
    # term that ask_review held.
    ask_review_reason: str


def _term_payload(term: TermInput) -> dict[str, Any]:
    payload: dict[str, Any] = {"kind": term["kind"], "description": term["description"]}
    if term.get("amount") is not None:
        payload["amount"] = str(term["amount"])
    if term.get("currency"):
        payload["currency"] = term["currency"]
    if due := term.get("due"):
        payload["due"] = due.isoformat()
    if term.get("instalments"):
        payload["instalments"] = [
            {"due": part["due"].isoformat(), "amount": str(part["amount"])} for part in term["instalments"]
        ]
    return payload


def review_reason(value: Any) -> str:
    """The facilitator's reason for asking a reviewer, checked: a text of at most REVIEW_REASON_LENGTH characters
    (None and "" are no reason). SulhError `invalid` otherwise, for the caller to place."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > REVIEW_REASON_LENGTH:
        raise SulhError(
            _("ask_review_reason is a text of at most %(count)s characters.") % {"count": REVIEW_REASON_LENGTH},
            code="invalid",
        )
    return value.strip()


def _term_reason(*, index: int, term: TermInput) -> str:
    """review_reason of the agreement's term `index`, its refusal placed on the term."""
    try:
        return review_reason(term.get("ask_review_reason"))
    except SulhError as error:
        raise SulhError(
            error.detail, code="invalid", fields={"terms": {str(index): {"ask_review_reason": [error.detail]}}}
        ) from None


def _screen(description: str, *, ask_review: bool) -> tuple[screening.Screening, bool, bool]:
    """The screening's verdict on a term's words, with the facilitator's request: (verdict, whether a refusal may be
    sent to a legal reviewer — the engine's refusals only: a reviewer's own "prohibited" for the same text is not
    asked again —, whether it was). A refusal sent to a reviewer is held (`review`), with its practice and why."""
    verdict = screening.screen(description)
    may_ask_review = verdict.refused and verdict.decided_by_example is None
    if may_ask_review and ask_review:
        return dataclasses.replace(verdict, verdict=screening.REVIEW), True, True
    return verdict, may_ask_review, False


def _check_instalments(*, index: int, term: TermInput) -> None:
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


def _record_block(
    *,
    case: Case,
    user: User,
    index: int,
    term_kind: str,
    practice: str | None,
    at: datetime | None = None,
    **data: Any,
) -> Law:
    """Put a refused term on the timeline as `prohibited_term_blocked` (the caller holds the case lock): by the
    screening, or by a legal reviewer. Returns the practice's law, in the forum's country and the reader's
    language."""
    law = law_for(practice or "", country=case.forum.country)
    event_append(
        case=case,
        kind="prohibited_term_blocked",
        actor=user,
        at=at,
        data={
            "term_index": index, "term_kind": term_kind, "practice": practice, "practice_name": law.name,
            "citations": law.citations, **data,
        },
    )  # fmt: skip
    return law


def _blocked_term(
    *,
    case: Case,
    user: User,
    index: int,
    term_kind: str,
    practice: str | None,
    detail: str,
    source: dict[str, Any] | None = None,
    label: str | None = None,
    may_ask_review: bool = False,
) -> ProhibitedTermError:
    """Record a term the screening refused (_record_block) and return the error to raise once that is committed.
    `label` names the term in the refusal ("Term 2", or a proposal's own words); `may_ask_review` says the term
    may be sent again with `ask_review` (no legal reviewer has found the same text prohibited)."""
    law = _record_block(
        case=case, user=user, index=index, term_kind=term_kind, practice=practice, detail=detail, **(source or {})
    )
    label = label or _("Term %(number)s") % {"number": index + 1}
    problem: dict[str, Any] = {
        "description": [_("Prohibited: %(practice)s.") % {"practice": law.name}],
        "practice": practice,
        "citations": law.citations,
    }
    if may_ask_review:
        problem["may_ask_review"] = True
    return ProhibitedTermError(
        _("%(term)s describes a prohibited practice (%(practice)s). The law: %(law)s.")
        % {"term": label, "practice": law.name, "law": law.sentence()},
        fields={"terms": {str(index): problem}},
    )


def _lock_draft(*, user: User, case_id: int | str) -> tuple[Case, Agreement | None]:
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


def term_check(
    *,
    user: User,
    case_id: int | str,
    term_kind: str,
    description: str,
    source: dict[str, Any],
    ask_review: bool = False,
) -> tuple[screening.Screening, bool]:
    """Screen a term proposed elsewhere (a proposal in a live session) as agreement_record would: a blocked
    term's attempt goes on the case's timeline with `source` (e.g. {"session": id}), then ProhibitedTermError
    naming the proposal by its own words (and saying whether it may be sent again with `ask_review`); a term held
    for review, or one that passes, comes back with its verdict. With `ask_review`, a term the engine refuses is
    held for a legal reviewer instead, as agreement_record holds it. Returns (verdict, whether it was refused and
    held). The draft must still be open to change (AgreementFinal, case_not_open otherwise)."""
    blocked = None
    with transaction.atomic():
        try:
            case, _agreement = _lock_draft(user=user, case_id=case_id)
        except AgreementFinal:
            # Said in the room where the proposal was made: what happened, and what can still be done.
            raise AgreementFinal(
                _(
                    "The agreement of this case is already final, so a proposal can no longer add a term to it. "
                    "Say it in the session instead: it stays in the transcript."
                )
            ) from None
        verdict, may_ask_review, held_on_request = _screen(description, ask_review=ask_review)
        if held_on_request:
            return verdict, True
        if verdict.refused:
            label = _("The proposal “%(text)s”") % {"text": _shortened(description)}
            blocked = _blocked_term(
                case=case, user=user, index=0, term_kind=term_kind, practice=verdict.practice, detail=verdict.detail,
                source=source, label=label, may_ask_review=may_ask_review,
            )  # fmt: skip
    if blocked is not None:
        raise blocked
    return verdict, False


def _shortened(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def agreement_term_add(*, user: User, case_id: int | str, term: TermInput) -> tuple[Agreement, int]:
    """Add one term to the end of the case's draft agreement (creating it if needed): (agreement, position).
    The same checks as agreement_record, whose refusal of a prohibited term is raised here unrecorded: the
    caller's transaction rolls back, so callers check with term_check first."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        current = Agreement.objects.filter(case=case).first()
        existing: list[TermInput] = (
            []
            if current is None
            else [
                {
                    "kind": t.kind,
                    "description": t.description,
                    "amount": t.amount,
                    "currency": t.currency,
                    "due": t.due,
                    # The schedule goes with its term: without it the re-recorded draft would lose its instalments.
                    "instalments": [{"due": i.due_on, "amount": i.amount} for i in t.instalments.order_by("number")],
                    "ask_review": t.refused_and_held,
                    "ask_review_reason": t.review_reason if t.refused_and_held else "",
                }
                for t in current.terms.order_by("position")
            ]  # fmt: skip
        )
        agreement = agreement_record(user=user, case_id=case.pk, terms=[*existing, term])
    return agreement, len(existing) + 1


def timeline_record(*, case_id: int, kind: str, actor: User | None, data: dict[str, Any]) -> CaseEvent:
    """Append to a case's timeline for another app (a session started or ended, a proposal decided). The
    caller has checked who may do it."""
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
        return event_append(case=case, kind=kind, actor=actor, data=data)


def agreement_record(*, user: User, case_id: int | str, terms: list[TermInput]) -> Agreement:
    """Record (or replace) the case's draft agreement, refusing any term that describes a prohibited practice.

    A refused attempt stays on the timeline as `prohibited_term_blocked`, so it is committed before the
    refusal is raised.
    """
    blocked: ProhibitedTermError | None = None
    reasons: list[str] = []
    for index, term in enumerate(terms):
        _check_instalments(index=index, term=term)
        reasons.append(_term_reason(index=index, term=term))
    with transaction.atomic():
        case, agreement = _lock_draft(user=user, case_id=case_id)
        verdicts: list[screening.Screening] = []
        refused: set[int] = set()  # Positions of the refused terms the facilitator sent to a legal reviewer.
        for index, term in enumerate(terms):
            verdict, may_ask_review, held_on_request = _screen(
                term["description"], ask_review=bool(term.get("ask_review"))
            )
            if held_on_request:
                refused.add(index + 1)
            if verdict.refused:
                blocked = _blocked_term(
                    case=case, user=user, index=index, term_kind=term["kind"], practice=verdict.practice,
                    detail=verdict.detail, may_ask_review=may_ask_review,
                )  # fmt: skip
                break
            verdicts.append(verdict)
        if blocked is None:
            now = timezone.now()
            if agreement is None:
                agreement = Agreement.objects.create(case=case, recorded_at=now)
            else:
                agreement.terms.all().delete()
                agreement.revision += 1
                agreement.recorded_at = now
                agreement.save(update_fields=["revision", "recorded_at"])
            examples = ScreeningExample.objects.in_bulk(
                [v.decided_by_example for v in verdicts if v.decided_by_example is not None]
            )
            created = Term.objects.bulk_create(
                Term(
                    agreement=agreement,
                    position=position,
                    kind=term["kind"],
                    description=term["description"],
                    amount=term.get("amount"),
                    currency=term.get("currency") or "",
                    due=term.get("due"),
                    screening_refused=position in refused,
                    review_reason=reasons[position - 1] if position in refused else "",
                    **_screening_fields(verdict, examples.get(verdict.decided_by_example or 0)),
                )
                for position, (term, verdict) in enumerate(zip(terms, verdicts, strict=True), start=1)
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
                    **_held_for_review(verdicts),
                    **({"refused_then_held": sorted(refused)} if refused else {}),
                },
            )
    if blocked is not None:
        raise blocked
    assert agreement is not None  # Created or replaced above whenever no term was blocked.
    return agreement


def _held_for_review(verdicts: list[screening.Screening]) -> dict[str, Any]:
    """For the timeline: which terms (by number) the screening held for a legal reviewer, if any."""
    held = [number for number, v in enumerate(verdicts, start=1) if v.verdict == screening.REVIEW]
    return {"held_for_review": held} if held else {}


def _screening_fields(verdict: screening.Screening, example: ScreeningExample | None) -> dict[str, Any]:
    """A stored term's screening columns: held for review with the practice and why, or passed; a term a
    reviewer already found lawful (the same text) carries that decision."""
    fields: dict[str, Any] = {
        "screening_verdict": verdict.verdict,
        "screening_practice": verdict.practice or "",
        "screening_detail": verdict.detail,
    }
    if example is not None and not example.prohibited:
        fields.update(
            reviewed_decision="lawful", reviewed_by_id=example.decided_by_id, reviewed_at=example.decided_at,
            review_note=example.note,
        )  # fmt: skip
    return fields


# --- Legal review of held terms -----------------------------------------------------------------------------


class NotUnderReview(ConflictError):
    code = "not_under_review"
    default_detail = gettext_lazy("This term is not waiting for a legal review.")


#: Sent once a legal reviewer's decision is committed, with `case_id`, `position` (the term's place in the draft when
#: it was decided), `decision` and `practice`: live sessions of the case tell their room (deliberation/receivers.py).
screening_decided = Signal()


def _announce_decision(*, case_id: int, position: int, decision: str, practice: str | None) -> None:
    transaction.on_commit(
        lambda: screening_decided.send(
            sender=Term, case_id=case_id, position=position, decision=decision, practice=practice
        )
    )


def term_screening_decide(*, user: User, term_id: int, decision: str, note: str = "") -> Term | None:
    """A legal reviewer's decision on a term held for review (administrators, and the forum's legal reviewers):
    `lawful` keeps it, passed, with the decision; `prohibited` takes it out of the draft as a block would have
    (`prohibited_term_blocked` with the reviewer) and returns None. Either is a `screening_reviewed` event and a
    labelled example for the screening. 409 not_under_review for a term not waiting; 404 outside the forums the
    user may see; 403 for those who may see but not review."""
    if decision not in ("lawful", "prohibited"):
        raise SulhError(_("Decide “lawful” or “prohibited”."), code="invalid", fields={"decision": [_("Unknown.")]})
    note = (note or "").strip()
    with transaction.atomic():
        found = Term.objects.filter(pk=term_id).values_list("agreement__case_id", flat=True).first()
        if found is None:
            raise NotFoundError()
        # The case row lock first, as every change to a case's agreement takes it, then the term's.
        case = lock_case(user=user, case_id=found)
        check_can_see(user=user, forum=case.forum)
        if not case_rules.can_review_screening(user, case.forum):
            raise ForbiddenError(_("Only a legal reviewer of the forum, or an administrator, decides held terms."))
        term = Term.objects.select_for_update().select_related("agreement").filter(pk=term_id).first()
        if (
            term is None
            or term.screening_verdict != Term.Screening.REVIEW
            or term.agreement.status != Agreement.Status.DRAFT
        ):
            raise NotUnderReview()
        now = timezone.now()
        ScreeningExample.objects.create(
            text=term.description, text_key=screening.text_key(term.description), prohibited=decision == "prohibited",
            practice=term.screening_practice, source=ScreeningExample.Source.REVIEW, forum=case.forum,
            decided_by=user, decided_at=now, note=note,
        )  # fmt: skip
        event_append(
            case=case,
            kind="screening_reviewed",
            actor=user,
            at=now,
            data={
                "term": term.pk, "position": term.position, "decision": decision,
                "practice": term.screening_practice or None, **({"note": note} if note else {}),
            },
        )  # fmt: skip
        _announce_decision(
            case_id=case.pk, position=term.position, decision=decision, practice=term.screening_practice or None
        )
        if decision == "lawful":
            term.screening_verdict = Term.Screening.PASS
            term.reviewed_decision = "lawful"
            term.reviewed_by = user
            term.reviewed_at = now
            term.review_note = note
            term.save(
                update_fields=["screening_verdict", "reviewed_decision", "reviewed_by", "reviewed_at", "review_note"]
            )
            return term
        _record_block(
            case=case, user=user, index=term.position - 1, term_kind=term.kind,
            practice=term.screening_practice or None, at=now, reviewed=True,
        )  # fmt: skip
        agreement = term.agreement
        position = term.position
        term.delete()
        # The draft's terms stay numbered 1, 2, 3 …: the ones after the removed term move up one, in order.
        for later_id, later_position in (
            Term.objects.filter(agreement=agreement, position__gt=position)
            .order_by("position")
            .values_list("id", "position")
        ):
            Term.objects.filter(pk=later_id).update(position=later_position - 1)
        agreement.revision += 1
        agreement.recorded_at = now
        agreement.save(update_fields=["revision", "recorded_at"])
    return None
