"""Writes. Every change to forums, memberships and roles goes through here, whichever door asked."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import Token

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from . import guardrails, ladder_stats, selectors, workflows
from . import rules as case_rules
from .ladders import DEFAULT_LADDER_NAME, DEFAULT_RUNGS
from .models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    ComplianceCheck,
    Forum,
    Ladder,
    Membership,
    Party,
    ReferenceCounter,
    Region,
    Reminder,
    Rung,
    Term,
)
from .roles import ADMINISTRATOR, GLOBAL_ROLES, REGULATOR

User = get_user_model()


def token_issue(*, user) -> Token:
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user) -> None:
    # Deleting the token closes the sockets opened with it (cases.signals).
    Token.objects.filter(user=user).delete()


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


def role_groups_ensure() -> None:
    """The global roles as groups; administrators get every permission on Sulh's own models."""
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATOR)
    Group.objects.get_or_create(name=REGULATOR)
    perms = Permission.objects.filter(
        content_type__app_label__in=["cases", "deliberation", "auth", "authtoken", "django_celery_beat", "axes"]
    )
    admin_group.permissions.set(perms)


def role_grant(*, user, role: str) -> None:
    if role not in GLOBAL_ROLES:
        raise ValueError(f"unknown role {role!r}")
    role_groups_ensure()
    user.groups.add(Group.objects.get(name=role))
    if role == ADMINISTRATOR and not user.is_staff:
        user.is_staff = True  # Administrators work in the Django admin too.
        user.save(update_fields=["is_staff"])


@transaction.atomic
def user_ensure(*, username: str, password: str, first_name: str = "") -> User:
    """Create the user if missing; always (re)set the password."""
    user, _created = User.objects.get_or_create(username=username, defaults={"first_name": first_name})
    user.set_password(password)
    user.save()
    return user


def user_deactivate(*, user) -> None:
    """Deactivation closes the user's sockets (cases.signals) and revokes their token."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    token_revoke(user=user)


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
    """Open a case in `intake` at the base of the forum's ladder. `parties`: [{"name", "kind", "role"}]."""
    _check_can_manage(user=user, forum=forum)
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
        party = Party.objects.create(name=entry["name"], kind=entry["kind"], pseudonym=_pseudonym(), forum=forum)
        CaseParty.objects.create(case=case, party=party, role=entry["role"])
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
    return case


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
        guards = transition.guards
        if workflows.OFFENCE_NOT_COMPOUNDABLE in guards and case.offence_class == "non_compoundable":
            raise _guard_refusal(workflows.OFFENCE_NOT_COMPOUNDABLE)
        if workflows.REASON_REQUIRED in guards and not reason:
            raise _guard_refusal(workflows.REASON_REQUIRED)
        agreement = Agreement.objects.filter(case=case).first()
        if workflows.AGREEMENT_MISSING in guards and (agreement is None or not agreement.terms.exists()):
            raise _guard_refusal(workflows.AGREEMENT_MISSING)
        if workflows.OUTCOME_REQUIRED in guards and outcome not in ("resolved", "partly_resolved", "breakdown"):
            raise _guard_refusal(workflows.OUTCOME_REQUIRED)
        if workflows.COMPLIANCE_OPEN in guards and outcome == "resolved":
            statuses = selectors.latest_check_statuses(agreement=agreement) if agreement else {}
            if any(status != ComplianceCheck.Status.MET for status in statuses.values()):
                raise _guard_refusal(workflows.COMPLIANCE_OPEN)

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
    return payload


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
            Term.objects.bulk_create(
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
    *, user, case_id, term_id, status: str, idempotency_key, notes: str = "", observed_at=None
) -> tuple[ComplianceCheck, bool]:
    """Record a monitor's check of one term, once per idempotency key. Returns (check, created).

    The case row lock serialises racing retries of the same upload: the first inserts, the others
    find its key and get the same check back.
    """
    with transaction.atomic():
        case = _lock_case(user=user, case_id=case_id)
        if not case_rules.can_log_compliance(user, case.forum):
            raise ForbiddenError(_("Only the forum's monitors and facilitators may record compliance."))
        existing = ComplianceCheck.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.case_id != case.pk:
                raise ConflictError(
                    _("This idempotency key was already used for another case."), code="idempotency_key_reused"
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
        now = timezone.now()
        check = ComplianceCheck.objects.create(
            term=term,
            case=case,
            status=status,
            notes=notes,
            observed_at=observed_at or now,
            recorded_at=now,
            recorded_by=user,
            idempotency_key=idempotency_key,
        )
        data = {"check": check.pk, "term": term.pk, "status": status, "observed_at": check.observed_at.isoformat()}
        event_append(case=case, kind="compliance_checked", actor=user, at=now, data=data)
        if status == ComplianceCheck.Status.BREACHED:
            # A breach suggests a step up the ladder to the facilitator; it never moves the case itself.
            event_append(case=case, kind="breach_recorded", actor=user, at=now, data=data)
            Reminder.objects.get_or_create(
                case=case,
                kind=Reminder.Kind.CONSIDER_STEP_UP,
                due_on=check.observed_at.date(),
                defaults={"created_at": now},
            )
    return check, True


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
