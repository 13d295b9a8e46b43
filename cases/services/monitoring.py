"""Following an agreement: compliance checks (idempotent), payments and instalments, conflicting checks,
the monitor of a case, closing surveys, and what monitors should do this week."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from .. import rules as case_rules
from .. import selectors, workflows
from ..models import (
    Agreement,
    Case,
    CaseParty,
    ComplianceCheck,
    ComplianceConflict,
    DueItem,
    Instalment,
    Party,
    Reminder,
    Survey,
    Term,
)
from .common import AgreementNotFinal, check_can_manage, check_can_see, event_append, lock_case


def compliance_record(
    *,
    user: User,
    case_id: int | str,
    term_id: int | str,
    status: str,
    idempotency_key: uuid.UUID | str,
    notes: str = "",
    observed_at: datetime | None = None,
    paid: Decimal | None = None,
) -> tuple[ComplianceCheck, bool]:
    """Record a monitor's check of one term, once per idempotency key. Returns (check, created).

    The case row lock serialises racing retries of the same upload: the first inserts, the others find its
    key and get the same check back (the unique key would refuse a second row in any case). A check made
    offline that reaches the server after someone else's check of the same term is kept, and the two are
    flagged as a conflict for the facilitator: nothing is overwritten.
    """
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
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
        data: dict[str, Any] = {
            "check": check.pk,
            "term": term.pk,
            "status": status,
            "observed_at": check.observed_at.isoformat(),
        }
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


def _resolve_paid_instalments(*, term: Term, now: datetime) -> None:
    covered = [row["instalment"] for row in selectors.instalment_schedule(term=term) if row["status"] == "paid"]
    DueItem.objects.filter(
        kind=DueItem.Kind.INSTALMENT, subject__in=[f"instalment:{pk}" for pk in covered], resolved_at__isnull=True
    ).update(resolved_at=now)


def compliance_conflict_review(*, user: User, conflict_id: int | str) -> None:
    """The facilitator has looked at two checks that disagreed (both stay on record)."""
    conflict = ComplianceConflict.objects.select_related("case__forum").filter(pk=conflict_id).first()
    if conflict is None:
        raise NotFoundError()
    check_can_see(user=user, forum=conflict.case.forum)
    # One rule with reading the checks (cases.rules.can_review_conflicts): not administrators.
    if not case_rules.can_review_conflicts(user, conflict.case.forum):
        raise ForbiddenError(_("Only the forum's facilitators mark conflicting checks reviewed."))
    with transaction.atomic():
        case = lock_case(user=user, case_id=conflict.case_id)
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


def case_monitor_assign(*, user: User, case_id: int | str, monitor: User | None) -> Case:
    """Hand the case to one of the forum's monitors (or to none: every monitor of the forum sees it)."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
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


def survey_record(
    *,
    user: User,
    case_id: int | str,
    party_id: int | str,
    satisfaction: int,
    fairness: int,
    felt_heard: bool,
    would_use_again: bool,
) -> Survey:
    """What one party said at closing. Asked once the case is in its last stage before closing or has ended;
    once per party (409 survey_exists); by the forum's facilitators and monitors."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
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
        problems: dict[str, list[str]] = {}
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


DUE_HORIZON = timedelta(days=7)


TRUCE_WARNING = timedelta(days=7)


def due_items_refresh(*, today: date | None = None) -> dict[str, int]:
    """The beat task's work: list what falls due within a week (terms due for a check, instalments due or
    overdue, truces about to expire) and resolve what no longer applies. Safe to run twice or concurrently:
    each item is unique per case, kind, subject and date, and inserts skip what exists. Returns counts."""
    today = today or timezone.localdate()
    horizon = today + DUE_HORIZON
    now = timezone.now()
    listed: dict[str, int] = {}
    open_cases = ~Q(agreement__case__state__in=workflows.ENDED)

    # Terms of final agreements of open cases: due `check_every_days` after their last check (or after the
    # agreement became final).
    terms = (
        Term.objects.filter(open_cases, agreement__status=Agreement.Status.FINAL)
        .annotate(last=Coalesce(Max("checks__observed_at"), F("agreement__finalised_at")))
        .values_list("pk", "agreement__case_id", "last", "agreement__case__forum__check_every_days")
    )
    items: list[DueItem] = []
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
    covered: list[str] = []
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
    items = []
    for case_id, expires in (
        Case.objects.filter(truce_expires__gte=today, truce_expires__lte=today + TRUCE_WARNING)
        .exclude(state__in=workflows.ENDED)
        .values_list("pk", "truce_expires")
    ):
        assert expires is not None  # truce_expires__gte matches no NULL.
        items.append(DueItem(case_id=case_id, kind=DueItem.Kind.TRUCE, subject="truce", due_on=expires, created_at=now))
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
