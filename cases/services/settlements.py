"""The written settlement: freezing a final agreement into the document the forum prints, and recording that it
was read aloud before witnesses.

The frozen content is everything the printed faisla, sulhnama or compromise deed shows, as it was when the
agreement became final; its SHA-256 (of cases.settlements.content_canonical) lets the public verify page tell
whether the stored settlement is unchanged. A trigger refuses any later change to it (cases.models.Settlement)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainRuleError, ForbiddenError, SulhError

from .. import rules as case_rules
from .. import settlements as docs
from ..models import Agreement, Case, CaseParty, Deposit, Guarantor, Settlement, SettlementAttestation, Term
from .common import event_append, lock_case

# Whom a settlement may be read to, and who witnessed it: bounded so that a form cannot fill the table.
MAX_WITNESSES = 12
MAX_NAME = 200
MAX_READ_TO = 300
SPOKEN_LANGUAGES = docs.SPOKEN_LANGUAGES

# The order the printed document lists the people in.
_ROLE_ORDER: list[str] = [
    CaseParty.Role.FIRST_PARTY.value,
    CaseParty.Role.SECOND_PARTY.value,
    CaseParty.Role.VICTIM.value,
    CaseParty.Role.REPRESENTATIVE.value,
    CaseParty.Role.GUARANTOR.value,
    CaseParty.Role.WITNESS.value,
]


class SettlementNotFinal(DomainRuleError):
    code = "settlement_not_final"
    default_detail = "The settlement is written once the agreement is final."


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def settlement_content(*, agreement: Agreement, finalised_by: User | None = None) -> dict[str, Any]:
    """What the printed settlement shows, as plain JSON values (strings, integers, lists, objects)."""
    case = Case.objects.select_related("forum__region__parent").get(pk=agreement.case_id)
    forum = case.forum
    region = forum.region
    roles = CaseParty.objects.filter(case=case).select_related("party").order_by("id")  # The order they were added in.
    ranked = sorted(roles, key=lambda cp: (_ROLE_ORDER.index(cp.role) if cp.role in _ROLE_ORDER else 99, cp.pk))
    parties = [
        {"name": cp.party.name, "kind": cp.party.kind, "pseudonym": cp.party.pseudonym, "role": cp.role}
        for cp in ranked
    ]
    terms = []
    for term in Term.objects.filter(agreement=agreement).order_by("position").prefetch_related("instalments"):
        terms.append(
            {
                "position": term.position,
                "kind": term.kind,
                "description": term.description,
                "amount": _money(term.amount),
                "currency": term.currency,
                "due": _when(term.due),
                "instalments": [
                    {"number": i.number, "due_on": _when(i.due_on), "amount": _money(i.amount)}
                    for i in term.instalments.order_by("number")
                ],
            }
        )
    return {
        "version": docs.CONTENT_VERSION,
        "document": docs.document_kind(forum.kind),
        "forum": {
            "id": forum.pk,
            "name": forum.name,
            "kind": forum.kind,
            "country": forum.country,
            # The district (or the province, for a forum that serves a whole province): never a finer place.
            "district": region.name,
            "province": region.parent.name if region.parent is not None else "",
        },
        "case": {
            "id": case.pk,
            "reference": case.reference,
            "title": case.title,
            "dispute_type": case.dispute_type,
            "offence_class": case.offence_class,
            "fir_number": case.fir_number,
            "referral_source": case.referral_source,
            "opened_on": _when(case.opened_at.date()),
        },
        "agreement": {
            "id": agreement.pk,
            "revision": agreement.revision,
            "recorded_at": _when(agreement.recorded_at),
            "finalised_at": _when(agreement.finalised_at),
            "finalised_by": (finalised_by.get_full_name() or finalised_by.get_username()) if finalised_by else "",
        },
        "parties": parties,
        # Guarantors named as parties, then those of the guarantees ledger (cases.services.guarantees) and the
        # deposits held, as they stand when the agreement becomes final.
        "guarantors": [p for p in parties if p["role"] == CaseParty.Role.GUARANTOR]
        + [
            {
                "name": g.party.name if g.party is not None else g.name,
                "stands_for": g.stands_for,
                "guarantees": g.guarantees,
            }
            for g in Guarantor.objects.filter(case=case).select_related("party").order_by("pk")
        ],
        "deposits": [
            {
                "kind": d.kind,
                "description": d.description,
                "amount": _money(d.amount),
                "currency": d.currency,
                "held_by": d.held_by,
                "deposited_by": d.deposited_by,
                "received_on": _when(d.received_at),
            }
            for d in Deposit.objects.filter(case=case).order_by("pk")
        ],
        "terms": terms,
    }


def settlement_freeze(*, agreement: Agreement, finalised_by: User | None = None) -> Settlement:
    """Freeze the final agreement into its written settlement; the existing one if it was frozen before (a jirga's
    re-hearing finalises the same agreement again, and it cannot have changed since: a final agreement is locked).

    The caller must hold the case's row lock (lock_case) in the current transaction."""
    existing = Settlement.objects.filter(agreement=agreement).first()
    if existing is not None:
        return existing
    content = settlement_content(agreement=agreement, finalised_by=finalised_by)
    digest = docs.content_hash(content)
    now = timezone.now()
    for attempt in range(5):
        try:
            # A savepoint: a code already taken (one chance in 10^15) is retried with another, not a failed move.
            with transaction.atomic():
                return Settlement.objects.create(
                    agreement=agreement, code=docs.code_new(), content=content, sha256=digest, created_at=now
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def settlement_ensure(*, agreement: Agreement) -> Settlement | None:
    """The agreement's settlement, frozen now if the agreement is final and has none (agreements made final before
    settlements existed, or written in bulk by the generator); None while it is a draft. Frozen with the case row
    locked, so two first readers make one settlement."""
    if agreement.status != Agreement.Status.FINAL:
        return None
    existing = Settlement.objects.filter(agreement=agreement).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        Case.objects.select_for_update(of=("self",)).filter(pk=agreement.case_id).first()
        agreement = Agreement.objects.get(pk=agreement.pk)
        return settlement_freeze(agreement=agreement)


def _clean_text(value: str, *, field: str, limit: int, problems: dict[str, list[str]]) -> str:
    text = " ".join((value or "").split())
    if not text:
        problems.setdefault(field, []).append(_("This field is required."))
    elif len(text) > limit:
        problems.setdefault(field, []).append(_("At most %(limit)s characters.") % {"limit": limit})
    elif "\x00" in text:
        problems.setdefault(field, []).append(_("Null characters are not allowed."))
    return text


def settlement_attest(
    *,
    user: User | AnonymousUser,
    case_id: int | str,
    read_to: str,
    language: str,
    witnesses: list[str],
    read_on: date,
) -> SettlementAttestation:
    """Record that the settlement was read aloud to `read_to`, in `language`, before `witnesses`, on `read_on`.

    Only the forum's facilitators, who read it (not administrators, who were not there); only once the agreement is
    final. Appends `settlement_attested` to the timeline, without the names (they stay on the attestation)."""
    problems: dict[str, list[str]] = {}
    read_to = _clean_text(read_to, field="read_to", limit=MAX_READ_TO, problems=problems)
    names = [" ".join(w.split()) for w in witnesses if w and w.strip()]
    if not names:
        problems.setdefault("witnesses", []).append(_("Name at least one witness."))
    elif len(names) > MAX_WITNESSES:
        problems.setdefault("witnesses", []).append(_("At most %(count)s witnesses.") % {"count": MAX_WITNESSES})
    for name in names:
        _clean_text(name, field="witnesses", limit=MAX_NAME, problems=problems)
    if language not in SPOKEN_LANGUAGES:
        problems.setdefault("language", []).append(_("Choose a language from the list."))
    if read_on > timezone.localdate():
        problems.setdefault("read_on", []).append(_("The date cannot be in the future."))

    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        if not case_rules.is_forum_facilitator(user, case.forum):
            raise ForbiddenError(_("Only the forum's facilitators may record that the settlement was read aloud."))
        agreement = Agreement.objects.filter(case=case).first()
        if agreement is None or agreement.status != Agreement.Status.FINAL:
            raise SettlementNotFinal(_("The settlement is written once the agreement is final."))
        if agreement.finalised_at is not None and read_on < timezone.localdate(agreement.finalised_at):
            problems.setdefault("read_on", []).append(_("The settlement was read after the agreement became final."))
        if problems:
            raise SulhError(_("Some fields need attention."), code="invalid", fields=problems)
        settlement = settlement_freeze(agreement=agreement)
        now = timezone.now()
        assert isinstance(user, User)  # A facilitator is a signed-in user.
        attestation = SettlementAttestation.objects.create(
            settlement=settlement,
            read_to=read_to,
            language=language,
            witnesses=names,
            read_on=read_on,
            recorded_by=user,
            recorded_at=now,
        )
        # Only the status moves; the trigger refuses any change to the frozen columns.
        Settlement.objects.filter(pk=settlement.pk).update(status=Settlement.Status.ATTESTED)
        event_append(
            case=case,
            kind="settlement_attested",
            actor=user,
            at=now,
            data={
                "settlement": settlement.pk,
                "attestation": attestation.pk,
                "language": language,
                "witnesses": len(names),
                "read_on": read_on.isoformat(),
            },
        )
    return attestation
