"""Writes. Every change to forums, memberships and roles goes through here, whichever door asked."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from . import guardrails, ladder_stats, selectors, workflows
from . import rules as case_rules
from .ladders import DEFAULT_LADDER_NAME, DEFAULT_RUNGS
from .models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    CaseRiskFactor,
    ComplianceCheck,
    ComplianceConflict,
    DueItem,
    Forum,
    Instalment,
    Ladder,
    Membership,
    Party,
    Recurrence,
    ReferenceCounter,
    Region,
    Reminder,
    RiskFactor,
    Rung,
    Survey,
    Term,
)


@transaction.atomic
def ladder_default() -> Ladder:
    """The six-rung default ladder every forum starts with."""
    ladder, created = Ladder.objects.get_or_create(name=DEFAULT_LADDER_NAME)
    if created:
        Rung.objects.bulk_create(
            Rung(ladder=ladder, level=level, code=code, name=name, description=description)
            for level, code, name, description in DEFAULT_RUNGS
        )
    return ladder


def region_ensure(*, code: str, name: str, parent: Region | None = None) -> Region:
    kind = Region.Kind.DISTRICT if parent else Region.Kind.PROVINCE
    region, _created = Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": parent})
    return region


def forum_ensure(*, name: str, kind: str, region: Region, ladder: Ladder | None = None) -> Forum:
    forum, _created = Forum.objects.get_or_create(
        name=name, defaults={"kind": kind, "region": region, "ladder": ladder or ladder_default()}
    )
    return forum


def membership_grant(*, user, forum: Forum, role: str) -> Membership:
    membership, _created = Membership.objects.get_or_create(user=user, forum=forum, role=role)
    return membership


# --- Cases ----------------------------------------------------------------------------------------
# Every state change is one call under atomic() with the case row locked and its version checked,
# appending its event in the same transaction (STYLE.md rule 2).

REFERENCE_PREFIX = {"sulha": "SUL", "jirga": "JIR", "muslahathi": "MUS"}


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


GUARD_MESSAGES = {
    workflows.REASON_REQUIRED: gettext_lazy("This move needs a reason."),
    workflows.OFFENCE_NOT_COMPOUNDABLE: gettext_lazy(
        "Only a court may decide this offence: the case can only be referred or withdrawn (CrPC s.345(7); PPC s.311)."
    ),
    workflows.AGREEMENT_MISSING: gettext_lazy("Record an agreement with at least one term first."),
    workflows.COMPLIANCE_OPEN: gettext_lazy(
        "Closing as resolved needs every term's latest compliance check to be met."
    ),
    workflows.OUTCOME_REQUIRED: gettext_lazy("Closing needs an outcome: resolved, partly resolved or breakdown."),
}


def _check_can_see(*, user, forum: Forum) -> None:
    if not case_rules.can_view_forum(user, forum):
        raise NotFoundError()


def _check_can_manage(*, user, forum: Forum) -> None:
    _check_can_see(user=user, forum=forum)
    if not case_rules.can_manage_forum_cases(user, forum):
        raise ForbiddenError(_("Only the forum's facilitators may do this."))


def _lock_case(*, user, case_id) -> Case:
    """The case row, locked until the transaction ends; NotFoundError outside the user's forums."""
    try:
        # OF self: lock the case row only, not the joined forum and rung rows every other case shares.
        case = Case.objects.select_for_update(of=("self",)).select_related("forum", "rung").get(pk=int(case_id))
    except (Case.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None
    _check_can_see(user=user, forum=case.forum)
    return case


def event_append(*, case: Case, kind: str, actor=None, data: dict | None = None, at=None) -> CaseEvent:
    """Append to the case's timeline. The caller must hold the case row lock (see _lock_case)."""
    case.last_seq += 1
    Case.objects.filter(pk=case.pk).update(last_seq=case.last_seq)
    return CaseEvent.objects.create(
        case=case, seq=case.last_seq, kind=kind, actor=actor, at=at or timezone.now(), data=data or {}
    )


def _next_reference(*, kind: str, year: int) -> str:
    prefix = REFERENCE_PREFIX[kind]
    counter, _created = ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
    # Locking the counter row makes concurrent openings take consecutive numbers, never the same one.
    counter = ReferenceCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{prefix}-{year}-{counter.last_number:05d}"


def _pseudonym() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "P-" + "".join(secrets.choice(alphabet) for _ in range(8))


@transaction.atomic
def case_open(
    *,
    user,
    forum: Forum,
    title: str,
    dispute_type: str,
    risk_level: str,
    offence_class: str,
    parties: list[dict],
    summary: str = "",
    referral_source: str = "",
    fir_number: str = "",
) -> Case:
    """Open a case in `intake` at the base of the forum's ladder. `parties`: [{"name", "kind", "role"}], or
    [{"party": id, "role"}] for a party already on the forum's records (a family back with a new dispute).
    An earlier case between the same parties within 24 months is linked as a recurrence."""
    _check_can_manage(user=user, forum=forum)
    known = _known_parties(forum=forum, parties=parties)
    roles = {p["role"] for p in parties}
    if not {CaseParty.Role.FIRST_PARTY, CaseParty.Role.SECOND_PARTY} <= roles:
        raise SulhError(
            _("A case needs at least one first party and one second party."),
            code="invalid",
            fields={"parties": [_("Include at least one first_party and one second_party.")]},
        )
    now = timezone.now()
    base = forum.ladder.rungs.order_by("level").first() or ladder_default().rungs.order_by("level").first()
    case = Case.objects.create(
        reference=_next_reference(kind=forum.kind, year=now.year),
        forum=forum,
        kind=forum.kind,
        title=title,
        summary=summary,
        dispute_type=dispute_type,
        risk_level=risk_level,
        offence_class=offence_class,
        state=workflows.INTAKE,
        rung=base,
        opened_at=now,
        referral_source=referral_source,
        fir_number=fir_number,
        opened_by=user,
    )
    ladder_stats.record_open(case=case)
    for entry in parties:
        party = known.get(entry.get("party"))
        if party is None:
            party = Party.objects.create(
                name=entry["name"],
                kind=entry["kind"],
                pseudonym=_pseudonym(),
                forum=forum,
                name_key=party_name_key(entry["name"]),
            )
        CaseParty.objects.get_or_create(case=case, party=party, role=entry["role"])
    # The timeline carries pseudonyms only: it is what later leaves the forum, in anonymised form.
    event_append(
        case=case,
        kind="opened",
        actor=user,
        at=now,
        data={
            "forum_kind": forum.kind,
            "dispute_type": dispute_type,
            "risk_level": risk_level,
            "offence_class": offence_class,
            "rung": base.level,
        },
    )
    recurrences_find(case=case, actor=user)
    return case


def party_name_key(name: str) -> str:
    return guardrails.normalise(name)[:200]


def _known_parties(*, forum: Forum, parties: list[dict]) -> dict[int, Party]:
    """The forum's party records that `parties` name by id; a 400 for an id that is not one of them."""
    ids = {entry["party"] for entry in parties if entry.get("party") is not None}
    known = {p.pk: p for p in Party.objects.filter(pk__in=ids, forum=forum)}
    missing = [
        str(index)
        for index, entry in enumerate(parties)
        if entry.get("party") is not None and entry["party"] not in known
    ]
    if missing:
        raise SulhError(
            _("A party named by its record must be on this forum's records."),
            code="invalid",
            fields={"parties": {index: {"party": [_("No such party in this forum.")]} for index in missing}},
        )
    return known


@dataclass
class _MoveFacts:
    """A move's facts for the guard engine (workflows.MoveFacts), read from the database when a guard asks."""

    case: Case
    agreement: Agreement | None
    reason: str = ""
    outcome: str = ""

    @property
    def offence_class(self) -> str:
        return self.case.offence_class

    def has_agreement_terms(self) -> bool:
        return self.agreement is not None and self.agreement.terms.exists()

    def all_terms_met(self) -> bool:
        statuses = selectors.latest_check_statuses(agreement=self.agreement) if self.agreement else {}
        return all(status == ComplianceCheck.Status.MET for status in statuses.values())


def _guard_refusal(code: str) -> DomainRuleError:
    return DomainRuleError(str(GUARD_MESSAGES[code]), code=code)


def case_transition(
    *,
    user,
    case_id,
    to: str,
    version: int,
    reason: str = "",
    outcome: str = "",
    truce_expires=None,
) -> Case:
    """Move a case along its forum's workflow. Raises the contract's codes (409 stale_version, 422 guards)."""
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        _check_can_manage(user=user, forum=case.forum)
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
        refused = workflow.check(
            case.state, to, _MoveFacts(case=case, agreement=agreement, reason=reason, outcome=outcome or "")
        )
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


def month_later(first, months: int):
    """The date `months` months after `first`: the same day of the month, or the month's last day when it is
    shorter (31 January, then 28 or 29 February, then 31 March)."""
    month = first.month - 1 + months
    year = first.year + month // 12
    month = month % 12 + 1
    return first.replace(year=year, month=month, day=min(first.day, calendar.monthrange(year, month)[1]))


def instalments_split(*, amount, count: int, first_due) -> list[dict]:
    """`count` monthly instalments from `first_due` adding up to `amount` (the last takes the odd paisa)."""
    share = (Decimal(amount) / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    parts = [{"due": month_later(first_due, number), "amount": share} for number in range(count)]
    parts[-1]["amount"] = Decimal(amount) - share * (count - 1)
    return parts


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
    case = _lock_case(user=user, case_id=case_id)
    _check_can_manage(user=user, forum=case.forum)
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
        case = _lock_case(user=user, case_id=case_id)
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


class AgreementNotFinal(DomainRuleError):
    code = "agreement_not_final"
    default_detail = gettext_lazy("Compliance is checked once the agreement is final.")


def compliance_record(
    *, user, case_id, term_id, status: str, idempotency_key, notes: str = "", observed_at=None, paid=None
) -> tuple[ComplianceCheck, bool]:
    """Record a monitor's check of one term, once per idempotency key. Returns (check, created).

    The case row lock serialises racing retries of the same upload: the first inserts, the others find its
    key and get the same check back (the unique key would refuse a second row in any case). A check made
    offline that reaches the server after someone else's check of the same term is kept, and the two are
    flagged as a conflict for the facilitator: nothing is overwritten.
    """
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        if not case_rules.can_log_compliance(user, case.forum):
            raise ForbiddenError(_("Only the forum's monitors and facilitators may record compliance."))
        existing = ComplianceCheck.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.case_id != case.pk or str(existing.term_id) != str(term_id) or existing.status != status:
                raise ConflictError(
                    _("This idempotency key was already used for another check. Use a new key for a new check."),
                    code="idempotency_key_reused",
                )
            return existing, False
        agreement = Agreement.objects.filter(case=case).first()
        if agreement is None or agreement.status != Agreement.Status.FINAL:
            raise AgreementNotFinal()
        term = agreement.terms.filter(pk=term_id).first() if str(term_id).isdigit() else None
        if term is None:
            raise SulhError(
                _("No such term in this case's agreement."),
                code="invalid",
                fields={"term": [_("Not a term of this case's agreement.")]},
            )
        if paid is not None and term.kind != Term.Kind.COMPENSATION:
            raise SulhError(
                _("Payments are recorded against a compensation term."),
                code="invalid",
                fields={"paid": [_("This term is not a compensation term.")]},
            )
        now = timezone.now()
        observed_at = observed_at or now
        if observed_at > now + timedelta(minutes=10):
            raise SulhError(
                _("A check cannot be observed in the future."),
                code="invalid",
                fields={"observed_at": [_("Not later than now.")]},
            )
        # Checks of this term by others that reached the server after this one was made: its monitor
        # could not have known of them.
        unseen = list(ComplianceCheck.objects.filter(term=term, recorded_at__gt=observed_at).exclude(recorded_by=user))
        check = ComplianceCheck.objects.create(
            term=term,
            case=case,
            status=status,
            notes=notes,
            observed_at=observed_at,
            recorded_at=now,
            recorded_by=user,
            idempotency_key=idempotency_key,
            paid=paid,
        )
        data = {"check": check.pk, "term": term.pk, "status": status, "observed_at": check.observed_at.isoformat()}
        if paid is not None:
            data["paid"] = str(paid)
        event_append(case=case, kind="compliance_checked", actor=user, at=now, data=data)
        if unseen:
            ComplianceConflict.objects.bulk_create(
                ComplianceConflict(later=check, earlier=other, case=case, created_at=now) for other in unseen
            )
            event_append(
                case=case,
                kind="compliance_conflict",
                actor=user,
                at=now,
                data={
                    "check": check.pk,
                    "term": term.pk,
                    "status": status,
                    "conflicts_with": [{"check": o.pk, "status": o.status} for o in unseen],
                },
            )
        if status == ComplianceCheck.Status.BREACHED:
            # A breach suggests a step up the ladder to the facilitator; it never moves the case itself.
            event_append(case=case, kind="breach_recorded", actor=user, at=now, data=data)
            Reminder.objects.get_or_create(
                case=case,
                kind=Reminder.Kind.CONSIDER_STEP_UP,
                due_on=check.observed_at.date(),
                defaults={"created_at": now},
            )
        # The visit answers the term's "check due"; a payment may settle instalments.
        DueItem.objects.filter(case=case, subject=f"term:{term.pk}", resolved_at__isnull=True).update(resolved_at=now)
        if paid:
            _resolve_paid_instalments(term=term, now=now)
    return check, True


def _resolve_paid_instalments(*, term: Term, now) -> None:
    covered = [row["instalment"] for row in selectors.instalment_schedule(term=term) if row["status"] == "paid"]
    DueItem.objects.filter(
        kind=DueItem.Kind.INSTALMENT, subject__in=[f"instalment:{pk}" for pk in covered], resolved_at__isnull=True
    ).update(resolved_at=now)


def compliance_conflict_review(*, user, conflict_id) -> None:
    """The facilitator has looked at two checks that disagreed (both stay on record)."""
    conflict = ComplianceConflict.objects.select_related("case__forum").filter(pk=conflict_id).first()
    if conflict is None:
        raise NotFoundError()
    _check_can_manage(user=user, forum=conflict.case.forum)
    with transaction.atomic():
        case = _lock_case(user=user, case_id=conflict.case_id)
        updated = ComplianceConflict.objects.filter(pk=conflict.pk, reviewed_at__isnull=True).update(
            reviewed_at=timezone.now(), reviewed_by=user
        )
        if updated:
            event_append(
                case=case,
                kind="compliance_conflict_reviewed",
                actor=user,
                data={"check": conflict.later_id, "other": conflict.earlier_id},
            )


def case_monitor_assign(*, user, case_id, monitor) -> Case:
    """Hand the case to one of the forum's monitors (or to none: every monitor of the forum sees it)."""
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        _check_can_manage(user=user, forum=case.forum)
        if monitor is not None and not case_rules.is_forum_monitor(monitor, case.forum):
            raise SulhError(
                _("Choose one of the forum's monitors."),
                code="invalid",
                fields={"monitor": [_("Not a monitor of this forum.")]},
            )
        if case.monitor_id == (monitor.pk if monitor else None):
            return case
        case.monitor = monitor
        case.save(update_fields=["monitor"])
        event_append(
            case=case,
            kind="monitor_assigned",
            actor=user,
            data={"monitor": monitor.get_username() if monitor else None},
        )
    return case


def case_risk_factors_set(*, user, case_id, factors) -> Case:
    """Tag an open case with the UN Framework's risk factors that the facilitator sees in it (numbers 1–14;
    an empty list removes them all). The regulators' early warning counts them, per district."""
    wanted = set()
    for factor in factors:
        if isinstance(factor, bool) or not isinstance(factor, int) or factor not in RiskFactor.values:
            raise SulhError(
                _("Risk factors are numbered 1 to 14."),
                code="invalid",
                fields={"factors": [_("%(value)s is not one of them.") % {"value": factor}]},
            )
        wanted.add(factor)
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        _check_can_manage(user=user, forum=case.forum)
        if case.state in workflows.ENDED:
            raise DomainRuleError(_("The case has ended; its risk factors can no longer change."), code="case_not_open")
        tagged = set(CaseRiskFactor.objects.filter(case=case).values_list("factor", flat=True))
        if tagged == wanted:
            return case
        now = timezone.now()
        CaseRiskFactor.objects.filter(case=case, factor__in=tagged - wanted).delete()
        CaseRiskFactor.objects.bulk_create(
            CaseRiskFactor(case=case, factor=factor, tagged_at=now, tagged_by=user)
            for factor in sorted(wanted - tagged)
        )
        event_append(
            case=case,
            kind="risk_factors_tagged",
            actor=user,
            at=now,
            data={"factors": sorted(wanted), "added": sorted(wanted - tagged), "removed": sorted(tagged - wanted)},
        )
    return case


# --- Recurrence: one feud, several cases ------------------------------------------------------------

RECURRENCE_WINDOW = timedelta(days=730)  # 24 months (shared/DOMAIN.md)
RECURRENCE_CANDIDATES = 500  # Matching rows read per opening: common names must not make it a scan.


def recurrences_find(*, case: Case, actor=None) -> list[Recurrence]:
    """Link `case` to the earlier cases of its district between the same parties or families: a first party
    of one and a second party of the other on each side (either way round), matched on the party record or
    its name, the earlier case still open or ended within 24 months. The caller holds the case lock."""
    sides: dict[str, set] = {CaseParty.Role.FIRST_PARTY: set(), CaseParty.Role.SECOND_PARTY: set()}
    records: dict[str, set] = {CaseParty.Role.FIRST_PARTY: set(), CaseParty.Role.SECOND_PARTY: set()}
    for role, party_id, key in CaseParty.objects.filter(case=case, role__in=list(sides)).values_list(
        "role", "party_id", "party__name_key"
    ):
        records[role].add(party_id)
        if key:
            sides[role].add(key)
    keys = sides[CaseParty.Role.FIRST_PARTY] | sides[CaseParty.Role.SECOND_PARTY]
    ids = records[CaseParty.Role.FIRST_PARTY] | records[CaseParty.Role.SECOND_PARTY]
    if not keys and not ids:
        return []
    cutoff = case.opened_at - RECURRENCE_WINDOW
    rows = (
        CaseParty.objects.filter(role__in=list(sides), case__forum__region_id=case.forum.region_id)
        .filter(Q(party__name_key__in=keys) | Q(party_id__in=ids))
        .filter(case__opened_at__lt=case.opened_at)
        .filter(Q(case__closed_at__isnull=True) | Q(case__closed_at__gte=cutoff))
        .exclude(case=case)
        .order_by("-case__opened_at")
        .values_list("case_id", "role", "party_id", "party__name_key")[:RECURRENCE_CANDIDATES]
    )
    found: dict[int, dict[str, dict[str, set]]] = {}
    for earlier_id, role, party_id, key in rows:
        entry = found.setdefault(earlier_id, {r: {"ids": set(), "keys": set()} for r in sides})
        entry[role]["ids"].add(party_id)
        entry[role]["keys"].add(key)
    first, second = CaseParty.Role.FIRST_PARTY, CaseParty.Role.SECOND_PARTY
    now = timezone.now()
    links = []
    for earlier_id, entry in found.items():
        same_records = (records[first] & entry[first]["ids"] and records[second] & entry[second]["ids"]) or (
            records[first] & entry[second]["ids"] and records[second] & entry[first]["ids"]
        )
        same_names = (sides[first] & entry[first]["keys"] and sides[second] & entry[second]["keys"]) or (
            sides[first] & entry[second]["keys"] and sides[second] & entry[first]["keys"]
        )
        if same_records or same_names:
            basis = Recurrence.Basis.PARTY_RECORD if same_records else Recurrence.Basis.NAMES
            links.append(Recurrence(case=case, earlier_id=earlier_id, basis=basis, created_at=now))
    Recurrence.objects.bulk_create(links, ignore_conflicts=True)
    if links:
        references = dict(
            Case.objects.filter(pk__in=[link.earlier_id for link in links]).values_list("id", "reference")
        )
        event_append(
            case=case,
            kind="recurrence_linked",
            actor=actor,
            at=now,
            data={
                "earlier": [
                    {"case": link.earlier_id, "reference": references[link.earlier_id], "basis": link.basis}
                    for link in links
                ]
            },
        )
    return links


def recurrence_link(*, user, case_id, reference: str) -> Recurrence:
    """A facilitator links the case to an earlier one of the same feud that the parties' names did not find
    (spelt differently, another family member). Both cases must be visible to the facilitator."""
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        _check_can_manage(user=user, forum=case.forum)
        earlier = selectors.case_list_for_user(user=user).filter(reference__iexact=(reference or "").strip()).first()
        if earlier is None or earlier.pk == case.pk:
            raise SulhError(
                _("No earlier case with this reference in your forums."),
                code="invalid",
                fields={"reference": [_("Give the reference of an earlier case in your forums.")]},
            )
        if earlier.opened_at >= case.opened_at:
            raise DomainRuleError(_("Link a case to one opened before it."), code="not_earlier")
        now = timezone.now()
        link, created = Recurrence.objects.get_or_create(
            case=case,
            earlier=earlier,
            defaults={
                "basis": Recurrence.Basis.FACILITATOR,
                "status": Recurrence.Status.CONFIRMED,
                "created_at": now,
                "decided_at": now,
                "decided_by": user,
            },
        )
        if not created and link.status != Recurrence.Status.CONFIRMED:
            link.status, link.decided_at, link.decided_by = Recurrence.Status.CONFIRMED, now, user
            link.save(update_fields=["status", "decided_at", "decided_by"])
        event_append(
            case=case,
            kind="recurrence_confirmed",
            actor=user,
            at=now,
            data={"case": earlier.pk, "reference": earlier.reference},
        )
    return link


def recurrence_decide(*, user, recurrence_id, status: str) -> Recurrence:
    """A facilitator confirms a matched link, or rejects it (namesakes, not one feud)."""
    if status not in (Recurrence.Status.CONFIRMED, Recurrence.Status.REJECTED):
        raise SulhError(
            _("Confirm or reject the link."), code="invalid", fields={"status": [_("confirmed or rejected")]}
        )
    link = Recurrence.objects.select_related("case__forum", "earlier").filter(pk=recurrence_id).first()
    if link is None:
        raise NotFoundError()
    with transaction.atomic():
        case = _lock_case(user=user, case_id=link.case_id)
        _check_can_manage(user=user, forum=case.forum)
        link = Recurrence.objects.select_for_update().get(pk=link.pk)
        if link.status != status:
            now = timezone.now()
            link.status, link.decided_at, link.decided_by = status, now, user
            link.save(update_fields=["status", "decided_at", "decided_by"])
            event_append(
                case=case,
                kind=f"recurrence_{status}",
                actor=user,
                at=now,
                data={"case": link.earlier_id, "reference": link.earlier.reference},
            )
    return link


# --- Closing surveys --------------------------------------------------------------------------------


def survey_record(
    *, user, case_id, party_id, satisfaction: int, fairness: int, felt_heard: bool, would_use_again: bool
) -> Survey:
    """What one party said at closing. Asked once the case is in its last stage before closing or has ended;
    once per party (409 survey_exists); by the forum's facilitators and monitors."""
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        if not case_rules.can_log_compliance(user, case.forum):
            raise ForbiddenError(_("Only the forum's facilitators and monitors record closing surveys."))
        workflow = workflows.workflow_for(case.kind)
        closing_stage = workflow.states[-2]  # The state a case closes from (monitoring, implementation).
        if case.state not in workflows.ENDED and case.state != closing_stage:
            raise DomainRuleError(
                _("The survey is asked at closing: once the case reaches “%(state)s” or has ended.")
                % {"state": workflows.state_label(closing_stage)},
                code="not_closing",
            )
        problems = {}
        for name, value in (("satisfaction", satisfaction), ("fairness", fairness)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                problems[name] = [_("A whole number from 1 to 5.")]
        for name, value in (("felt_heard", felt_heard), ("would_use_again", would_use_again)):
            if not isinstance(value, bool):
                problems[name] = [_("Yes or no.")]
        role = (
            CaseParty.objects.filter(case=case, party_id=party_id, role__in=selectors.SURVEYED_ROLES)
            .values_list("role", flat=True)
            .first()
            if str(party_id).isdigit()
            else None
        )
        if role is None:
            problems["party"] = [_("A first party, second party or victim of this case.")]
        if problems:
            raise SulhError(_("Some answers need your attention."), code="invalid", fields=problems)
        if Survey.objects.filter(case=case, party_id=party_id).exists():
            raise ConflictError(_("This party's survey is already recorded."), code="survey_exists")
        now = timezone.now()
        survey = Survey.objects.create(
            case=case,
            party_id=party_id,
            satisfaction=satisfaction,
            fairness=fairness,
            felt_heard=felt_heard,
            would_use_again=would_use_again,
            recorded_at=now,
            recorded_by=user,
        )
        pseudonym = Party.objects.filter(pk=party_id).values_list("pseudonym", flat=True).first()
        event_append(
            case=case,
            kind="survey_recorded",
            actor=user,
            at=now,
            data={
                "party": pseudonym,
                "role": role,
                "satisfaction": satisfaction,
                "fairness": fairness,
                "felt_heard": felt_heard,
                "would_use_again": would_use_again,
            },
        )
    return survey


# --- What monitors should do this week ---------------------------------------------------------------

DUE_HORIZON = timedelta(days=7)
TRUCE_WARNING = timedelta(days=7)


def due_items_refresh(*, today=None) -> dict[str, int]:
    """The beat task's work: list what falls due within a week (terms due for a check, instalments due or
    overdue, truces about to expire) and resolve what no longer applies. Safe to run twice or concurrently:
    each item is unique per case, kind, subject and date, and inserts skip what exists. Returns counts."""
    today = today or timezone.localdate()
    horizon = today + DUE_HORIZON
    now = timezone.now()
    listed = {}
    open_cases = ~Q(agreement__case__state__in=workflows.ENDED)

    # Terms of final agreements of open cases: due `check_every_days` after their last check (or after the
    # agreement became final).
    terms = (
        Term.objects.filter(open_cases, agreement__status=Agreement.Status.FINAL)
        .annotate(last=Coalesce(Max("checks__observed_at"), F("agreement__finalised_at")))
        .values_list("pk", "agreement__case_id", "last", "agreement__case__forum__check_every_days")
    )
    items = []
    for term_id, case_id, last, every in terms.iterator(chunk_size=5000):
        due_on = timezone.localdate(last) + timedelta(days=every)
        if due_on <= horizon:
            items.append(
                DueItem(
                    case_id=case_id,
                    kind=DueItem.Kind.CHECK,
                    term_id=term_id,
                    subject=f"term:{term_id}",
                    due_on=due_on,
                    created_at=now,
                )
            )
    listed["check_due"] = _insert_due(items)

    # Instalments due within the week (or already overdue) that the payments so far do not cover; the
    # payments cover a term's instalments in order.
    items = []
    term_ids = list(
        Instalment.objects.filter(~Q(term__agreement__case__state__in=workflows.ENDED), due_on__lte=horizon)
        .values_list("term_id", flat=True)
        .distinct()
    )
    paid_by_term = dict(
        ComplianceCheck.objects.filter(term_id__in=term_ids, paid__isnull=False)
        .values("term_id")
        .annotate(total=Sum("paid"))
        .values_list("term_id", "total")
    )
    running: dict[int, Decimal] = {}
    covered = []
    for inst in (
        Instalment.objects.filter(term_id__in=term_ids)
        .order_by("term_id", "number")
        .values("pk", "term_id", "due_on", "amount", "term__agreement__case_id")
    ):
        total = running.get(inst["term_id"], Decimal(0)) + inst["amount"]
        running[inst["term_id"]] = total
        if total <= paid_by_term.get(inst["term_id"], 0):
            covered.append(f"instalment:{inst['pk']}")
        elif inst["due_on"] <= horizon:
            items.append(
                DueItem(
                    case_id=inst["term__agreement__case_id"],
                    kind=DueItem.Kind.INSTALMENT,
                    term_id=inst["term_id"],
                    instalment_id=inst["pk"],
                    subject=f"instalment:{inst['pk']}",
                    due_on=inst["due_on"],
                    created_at=now,
                )
            )
    listed["instalment_due"] = _insert_due(items)

    # Truces that end within the week.
    items = [
        DueItem(case_id=case_id, kind=DueItem.Kind.TRUCE, subject="truce", due_on=expires, created_at=now)
        for case_id, expires in Case.objects.filter(truce_expires__gte=today, truce_expires__lte=today + TRUCE_WARNING)
        .exclude(state__in=workflows.ENDED)
        .values_list("pk", "truce_expires")
    ]
    listed["truce_expiring"] = _insert_due(items)

    # What no longer applies: the case ended, the truce was renewed or has passed, a later check came.
    still_open = DueItem.objects.filter(resolved_at__isnull=True)
    resolved = still_open.filter(case__state__in=workflows.ENDED).update(resolved_at=now)
    resolved += (
        still_open.filter(kind=DueItem.Kind.TRUCE).exclude(case__truce_expires=F("due_on")).update(resolved_at=now)
    )
    resolved += still_open.filter(kind=DueItem.Kind.TRUCE, due_on__lt=today).update(resolved_at=now)
    checked = ComplianceCheck.objects.filter(term_id=OuterRef("term_id"), recorded_at__gt=OuterRef("created_at"))
    resolved += still_open.filter(kind=DueItem.Kind.CHECK).filter(Exists(checked)).update(resolved_at=now)
    resolved += still_open.filter(kind=DueItem.Kind.INSTALMENT, subject__in=covered).update(resolved_at=now)
    listed["resolved"] = resolved
    return listed


def _insert_due(items: list[DueItem]) -> int:
    """Insert the items not listed yet; returns how many are due (new or already listed)."""
    DueItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=1000)
    return len(items)


# --- The escalation ladder ------------------------------------------------------------------------
# Up one rung at a time with a reason naming what failed; a skip only for an imminent risk with a written
# justification; down any number of rungs whenever cooperation returns (shared/DOMAIN.md).


def case_escalate(
    *,
    user,
    case_id,
    direction: str,
    reason: str,
    version: int,
    to_level: int | None = None,
    justification: str = "",
) -> Case:
    """Move a case up or down its forum's ladder. Raises the contract's codes (409 stale_version; 422
    reason_required, rung_skip_not_allowed, already_at_top, already_at_base, case_not_open)."""
    reason = (reason or "").strip()
    justification = (justification or "").strip()
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        _check_can_manage(user=user, forum=case.forum)
        if version != case.version:
            raise StaleVersion()
        if case.state in workflows.ENDED:
            raise DomainRuleError(_("Only an open case moves on the ladder."), code="case_not_open")
        if not reason:
            raise DomainRuleError(_("Say what failed, or what changed, at this rung."), code="reason_required")
        rungs = {rung.level: rung for rung in case.forum.ladder.rungs.all()}
        current = case.rung.level
        top, base = max(rungs), min(rungs)
        if direction == "up":
            if current >= top:
                raise DomainRuleError(_("The case is already at the top of the ladder."), code="already_at_top")
            target = current + 1 if to_level is None else to_level
            if target <= current or target > top:
                raise _bad_level(
                    _("Up moves go to a rung between %(low)s and %(high)s.") % {"low": current + 1, "high": top}
                )
            if target > current + 1 and not (case.risk_level == "imminent" and justification):
                raise DomainRuleError(
                    _(
                        "A case climbs one rung at a time; skipping rungs needs an imminent risk and a written justification."
                    ),
                    code="rung_skip_not_allowed",
                )
        elif direction == "down":
            if current <= base:
                raise DomainRuleError(_("The case is already at the base of the ladder."), code="already_at_base")
            target = current - 1 if to_level is None else to_level
            if target >= current or target < base:
                raise _bad_level(
                    _("Down moves go to a rung between %(low)s and %(high)s.") % {"low": base, "high": current - 1}
                )
        else:
            raise SulhError(_("direction is up or down."), code="invalid", fields={"direction": [_("up or down")]})
        rung = rungs.get(target)
        if rung is None:
            raise _bad_level(_("This ladder has no rung %(level)s.") % {"level": target})
        if rung.movable_by == Rung.MovableBy.ADMINISTRATOR and not case_rules.is_administrator(user):
            raise ForbiddenError(_("Only administrators may move a case onto this rung."))

        now = timezone.now()
        source = case.rung
        ladder_stats.record_move(case=case, source=source, target=rung, at=now)
        case.rung = rung
        case.version += 1
        # Every move sets a review date; at the base there is nothing left to step down from.
        case.review_due = None if target == base else (now + timedelta(days=case.forum.ladder.review_days)).date()
        case.save(update_fields=["rung", "version", "review_due"])
        data = {
            "from": source.level,
            "to": rung.level,
            "from_code": source.code,
            "to_code": rung.code,
            "reason": reason,
        }
        if justification:
            data["justification"] = justification
        if case.review_due:
            data["review_due"] = case.review_due.isoformat()
        event_append(
            case=case, kind="escalated" if direction == "up" else "de_escalated", actor=user, at=now, data=data
        )
        # A move answers every open suggestion about the ladder.
        Reminder.objects.filter(case=case, resolved_at__isnull=True).update(resolved_at=now)
    return case


def _bad_level(detail) -> SulhError:
    return SulhError(detail, code="invalid", fields={"to_level": [detail]})


def reminders_create_for_due_reviews(*, today=None) -> int:
    """Ask facilitators whether cases past their review date can step down. Safe to run twice: the
    unique (case, kind, due_on) constraint lets each review date give one reminder. Returns how many
    were created."""
    today = today or timezone.localdate()
    already = Reminder.objects.filter(
        case=OuterRef("pk"), kind=Reminder.Kind.CONSIDER_STEP_DOWN, due_on=OuterRef("review_due")
    )
    due = (
        Case.objects.filter(review_due__lte=today, rung__level__gt=1)
        .exclude(state__in=workflows.ENDED)
        .exclude(Exists(already))
    )
    now = timezone.now()
    fresh = [
        Reminder(case_id=case_id, kind=Reminder.Kind.CONSIDER_STEP_DOWN, due_on=review_due, created_at=now)
        for case_id, review_due in due.values_list("id", "review_due").iterator()
    ]
    # A concurrent run may insert the same rows between the query and here; the constraint keeps one.
    Reminder.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=1000)
    return len(fresh)


def reminder_dismiss(*, user, reminder_id) -> None:
    reminder = Reminder.objects.select_related("case__forum").filter(pk=reminder_id).first()
    if reminder is None:
        raise NotFoundError()
    _check_can_manage(user=user, forum=reminder.case.forum)
    Reminder.objects.filter(pk=reminder.pk, resolved_at__isnull=True).update(resolved_at=timezone.now())
