"""Reads. Selectors own the scoping (a forum or case outside the caller's is never returned) and the joins."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import TypedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.crypto import keyed_hash
from config.errors import ForbiddenError, NotFoundError

from . import guardrails, workflows
from . import rules as case_rules
from .models import (
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    ComplianceCheck,
    ComplianceConflict,
    Deposit,
    DueItem,
    Forum,
    Guarantor,
    Instalment,
    Membership,
    Recurrence,
    Reminder,
    Rung,
    Survey,
    Term,
    TieDeclaration,
)


def forum_list_for_user(*, user) -> QuerySet[Forum]:
    """The forums the user works in; every forum for administrators; none for anyone else."""
    qs = Forum.objects.select_related("region", "region__parent", "ladder").prefetch_related(
        Prefetch("ladder__rungs", queryset=Rung.objects.order_by("level"))
    )
    if case_rules.is_administrator(user):
        return qs.filter(is_active=True)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(is_active=True, memberships__user=user).distinct()


def forum_list_for_opening(*, user) -> QuerySet[Forum]:
    """The forums the user may open cases in: those they facilitate; every forum for administrators."""
    forums = forum_list_for_user(user=user)
    if case_rules.is_administrator(user):
        return forums
    return forums.filter(memberships__user=user, memberships__role=Membership.Role.FACILITATOR)


def forum_get_for_user(*, user, forum_id) -> Forum | None:
    try:
        return forum_list_for_user(user=user).filter(pk=int(forum_id)).first()
    except (TypeError, ValueError):
        return None


def membership_roles_for_user(*, user) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    if not getattr(user, "is_authenticated", False):
        return roles
    for forum_id, role in Membership.objects.filter(user=user).values_list("forum_id", "role"):
        roles.setdefault(forum_id, set()).add(role)
    return roles


def user_roles(*, user) -> list[str]:
    """The user's roles for the pages: global ones first, then forum roles."""
    found: list[str] = []
    if case_rules.is_administrator(user):
        found.append("administrator")
    if case_rules.is_regulator(user):
        found.append("regulator")
    forum_roles = set(Membership.objects.filter(user=user).values_list("role", flat=True).distinct())
    for role in (Membership.Role.FACILITATOR, Membership.Role.MONITOR, Membership.Role.LEGAL_REVIEWER):
        if role in forum_roles:
            found.append(role.value)
    return found


def _visible_cases(*, user) -> QuerySet[Case]:
    qs = Case.objects.all()
    if case_rules.is_administrator(user):
        return qs
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    # A list of ids, not a join: joining memberships needs DISTINCT, which sorts every visible case.
    forum_ids = list(Membership.objects.filter(user=user).values_list("forum_id", flat=True).distinct())
    return qs.filter(forum_id__in=forum_ids)


def case_list_for_user(
    *,
    user,
    forum=None,
    forums=None,
    state: str | None = None,
    dispute_type: str | None = None,
    q: str | None = None,
    open_only: bool = False,
) -> QuerySet[Case]:
    """The cases the user may see, newest first, with what a list row shows joined in (and not the summary,
    which no list shows: it is encrypted, and decrypting it for every row would cost for nothing)."""
    qs = _visible_cases(user=user).select_related("forum", "rung").defer("summary")
    if forum:
        qs = qs.filter(forum_id=forum)
    if forums is not None:
        qs = qs.filter(forum__in=forums)
    if open_only:
        qs = qs.exclude(state__in=workflows.ENDED)
    if state:
        qs = qs.filter(state=state)
    if dispute_type:
        qs = qs.filter(dispute_type=dispute_type)
    if q:
        qs = _search(qs, q.strip())
    return qs.order_by("-opened_at", "-id")


def party_name_key(name: str) -> str:
    """A party's name as it is compared (guardrails.normalise: one script per letter, no marks, no case), under
    the keyed hash (config.crypto): what Party.name_key holds, as the name itself is encrypted."""
    return keyed_hash(guardrails.normalise(name)[:200])


def _search(qs: QuerySet[Case], q: str) -> QuerySet[Case]:
    """By reference, by a party's whole name (its keyed hash: the names are encrypted, so only an exact name
    after normalising finds them), or by words of the title (which stays in clear for this; the summary is
    encrypted and not searched).

    On PostgreSQL the three are read as a union of case ids, each through its own index (the reference's upper
    case, the parties' name keys, the title's words: migration 0025), so that a search among a million cases
    reads the few that match; one filter with the three ORed would test every case the list may show."""
    if not q:
        return qs
    key = party_name_key(q)
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        by_reference = Case.objects.filter(reference__iexact=q).order_by().values("pk")
        by_title = (
            Case.objects.annotate(search=SearchVector("title", config="simple"))
            .filter(search=SearchQuery(q, config="simple", search_type="websearch"))
            .order_by()
            .values("pk")
        )
        by_name = [CaseParty.objects.filter(party__name_key=key).order_by().values("case_id")] if key else []
        return qs.filter(pk__in=by_reference.union(by_title, *by_name, all=True))
    exact = Q(reference__iexact=q)
    if key:
        exact |= Q(Exists(CaseParty.objects.filter(case_id=OuterRef("pk"), party__name_key=key)))
    return qs.filter(exact | Q(title__icontains=q))


def case_get_for_user(*, user, case_id) -> Case:
    """The case with its parties and agreement, or NotFoundError when the user may not see it."""
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    case = (
        _visible_cases(user=user)
        .select_related("forum", "forum__ladder", "rung", "monitor")
        .prefetch_related(
            Prefetch("case_parties", queryset=CaseParty.objects.select_related("party").order_by("id")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFoundError()
    return case


def case_agreement(*, case: Case) -> Agreement | None:
    return (
        Agreement.objects.filter(case=case)
        .prefetch_related(
            Prefetch(
                "terms",
                queryset=Term.objects.order_by("position")
                .select_related("reviewed_by")
                .prefetch_related("instalments"),
            )
        )
        .first()
    )


def case_timeline(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case=case).select_related("actor").order_by("seq")


def case_compliance_checks(*, case: Case) -> QuerySet[ComplianceCheck]:
    return (
        ComplianceCheck.objects.filter(case=case)
        .select_related("recorded_by", "term")
        .prefetch_related(Prefetch("conflicts", queryset=ComplianceConflict.objects.order_by("id")))
        .order_by("observed_at", "id")
    )


def instalment_schedule(*, term: Term, today=None, instalments=None, paid=None) -> list[dict]:
    """A compensation term's instalments with what the payments so far cover, in order: each row
    {instalment, number, due_on, amount, covered, status} where status is paid, partly_paid, due or overdue."""
    today = today or timezone.localdate()
    if instalments is None:
        instalments = list(Instalment.objects.filter(term=term).order_by("number"))
    if paid is None:
        paid = ComplianceCheck.objects.filter(term=term).aggregate(total=Sum("paid"))["total"] or Decimal(0)
    left = paid
    rows = []
    for inst in instalments:
        covered = min(left, inst.amount)
        left -= covered
        if covered == inst.amount:
            status = "paid"
        elif inst.due_on < today:
            status = "overdue"
        elif covered > 0:
            status = "partly_paid"
        else:
            status = "due"
        rows.append(
            {
                "instalment": inst.pk,
                "number": inst.number,
                "due_on": inst.due_on,
                "amount": inst.amount,
                "covered": covered,
                "status": status,
            }
        )
    return rows


def case_compliance(*, case: Case, agreement: Agreement | None, today=None) -> list[dict]:
    """The agreement's terms as the case page shows them: each term with its checks (newest first), its
    latest status, what is paid and its instalment schedule. A fixed number of queries."""
    if agreement is None:
        return []
    terms = list(agreement.terms.all())
    checks: dict[int, list] = {t.pk: [] for t in terms}
    for check in case_compliance_checks(case=case).order_by("-observed_at", "-id"):
        checks.setdefault(check.term_id, []).append(check)
    instalments: dict[int, list] = {}
    for inst in Instalment.objects.filter(term__agreement=agreement).order_by("term_id", "number"):
        instalments.setdefault(inst.term_id, []).append(inst)
    rows = []
    for term in terms:
        paid = sum((c.paid for c in checks[term.pk] if c.paid is not None), Decimal(0))
        schedule = instalment_schedule(term=term, today=today, instalments=instalments.get(term.pk, []), paid=paid)
        rows.append(
            {
                "term": term,
                "checks": checks[term.pk],
                "latest": checks[term.pk][0].status if checks[term.pk] else None,
                "paid": paid if term.kind == Term.Kind.COMPENSATION else None,
                "schedule": schedule,
                "overdue": [row for row in schedule if row["status"] == "overdue"],
            }
        )
    return rows


def case_conflicts(*, case: Case, open_only: bool = False) -> QuerySet[ComplianceConflict]:
    qs = ComplianceConflict.objects.filter(case=case).select_related(
        "later", "later__recorded_by", "later__term", "earlier", "earlier__recorded_by"
    )
    if open_only:
        qs = qs.filter(reviewed_at__isnull=True)
    return qs.order_by("created_at", "id")


class RecurrenceRow(TypedDict):
    """A case of the feud's history as case_recurrences lists it."""

    link: Recurrence
    case: Case  # The other case of the link.
    direction: str  # "earlier", "later" or "rejected".
    visible: bool  # Whether the user may open it.


def case_recurrences(*, case: Case, user) -> list[RecurrenceRow]:
    """The feud's history as the case page shows it: the earlier cases this one repeats and the later ones
    that repeat it, oldest first. A case in a forum the user cannot see shows its reference, forum kind,
    dates and outcome only."""
    links = list(
        Recurrence.objects.filter(Q(case=case) | Q(earlier=case))
        .exclude(status=Recurrence.Status.REJECTED)
        .select_related("case", "case__forum", "earlier", "earlier__forum")
    )
    rejected = list(Recurrence.objects.filter(case=case, status=Recurrence.Status.REJECTED).select_related("earlier"))
    visible = set(
        _visible_cases(user=user)
        .filter(pk__in=[link.earlier_id if link.case_id == case.pk else link.case_id for link in links])
        .values_list("pk", flat=True)
    )
    rows: list[RecurrenceRow] = []
    for link in links:
        other = link.earlier if link.case_id == case.pk else link.case
        rows.append(
            {
                "link": link,
                "case": other,
                "direction": "earlier" if link.case_id == case.pk else "later",
                "visible": other.pk in visible,
            }
        )
    rows.sort(key=lambda row: row["case"].opened_at)
    return rows + [
        {"link": link, "case": link.earlier, "direction": "rejected", "visible": link.earlier_id in visible}
        for link in rejected
    ]


def case_guarantors_of(*, case_ids: list[int]) -> QuerySet[Guarantor]:
    """The guarantors of these cases, with the party each may be, in the order they were recorded."""
    return (
        Guarantor.objects.filter(case_id__in=case_ids)
        .select_related("party", "recorded_by")
        .order_by("case_id", "recorded_at", "id")
    )


def case_deposits_of(*, case_ids: list[int]) -> QuerySet[Deposit]:
    """The deposits of these cases, in the order they were received."""
    return (
        Deposit.objects.filter(case_id__in=case_ids)
        .select_related("recorded_by")
        .order_by("case_id", "received_at", "id")
    )


def case_has_breach(*, case: Case) -> bool:
    """Whether a breach is on the case's timeline: what lets a guarantee be called in (services.guarantees)."""
    return CaseEvent.objects.filter(case=case, kind="breach_recorded").exists()


def case_guarantors(*, case: Case) -> QuerySet[Guarantor]:
    return case_guarantors_of(case_ids=[case.pk])


def case_deposits(*, case: Case) -> QuerySet[Deposit]:
    return case_deposits_of(case_ids=[case.pk])


def case_ties(*, case: Case) -> QuerySet[TieDeclaration]:
    """The ties declared on the case (cases.services.conflicts), with the person, the party and who recorded what."""
    return (
        TieDeclaration.objects.filter(case=case)
        .select_related("person", "party", "declared_by", "recused_by", "first_recorded_by", "second_recorded_by")
        .order_by("declared_at", "id")
    )


def forum_people(*, forum: Forum):
    """The forum's facilitators and monitors, who may declare a tie: active users, by username."""
    roles = [Membership.Role.FACILITATOR, Membership.Role.MONITOR]
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__forum=forum, memberships__role__in=roles)
        .distinct()
        .order_by("username")
    )


def case_surveys(*, case: Case) -> QuerySet[Survey]:
    return Survey.objects.filter(case=case).select_related("party").order_by("id")


def _monitored_cases(*, user) -> QuerySet[Case]:
    """The cases a monitor follows: those handed to them, and those handed to nobody in forums they monitor.
    A facilitator sees their forums' cases."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Case.objects.none()
    monitored = list(
        Membership.objects.filter(user=user, role=Membership.Role.MONITOR).values_list("forum_id", flat=True)
    )
    facilitated = list(
        Membership.objects.filter(user=user, role=Membership.Role.FACILITATOR).values_list("forum_id", flat=True)
    )
    return Case.objects.filter(
        Q(forum_id__in=facilitated)
        | Q(forum_id__in=monitored, monitor=user)
        | Q(forum_id__in=monitored, monitor__isnull=True)
    )


def due_items_for_user(*, user, today=None) -> QuerySet[DueItem]:
    """Open due items of the user's monitored cases falling due by a week from today (overdue included)."""
    today = today or timezone.localdate()
    return (
        DueItem.objects.filter(resolved_at__isnull=True, due_on__lte=today + timedelta(days=7))
        .filter(case__in=_monitored_cases(user=user).exclude(state__in=workflows.ENDED))
        .select_related("case", "case__forum", "term", "instalment")
        .order_by("due_on", "id")
    )


def latest_check_statuses(*, agreement: Agreement) -> dict[int, str | None]:
    """Each term's latest compliance status (None when never checked)."""
    statuses: dict[int, str | None] = {term_id: None for term_id in agreement.terms.values_list("id", flat=True)}
    for term_id, status in (
        ComplianceCheck.objects.filter(term__agreement=agreement)
        .order_by("term_id", "-observed_at", "-id")
        .values_list("term_id", "status")
    ):
        if statuses.get(term_id) is None:
            statuses[term_id] = status
    return statuses


def allowed_transitions(*, case: Case, user) -> list[dict]:
    """The moves the user could ask for now; guards that need input (a reason) are left to the request,
    and guards that depend on the case's data are named in `blocked_by`."""
    if not case_rules.can_manage_forum_cases(user, case.forum):
        return []
    workflow = workflows.workflow_for(case.kind)
    facts = CaseMoveFacts(case=case)
    result = []
    for transition in workflow.transitions_from(case.state):
        refused = workflow.check(case.state, transition.target, facts, only=workflows.CASE_GUARDS)
        if workflows.OFFENCE_NOT_COMPOUNDABLE in refused:
            continue
        result.append(
            {
                "to": transition.target,
                "label": transition.label,
                "kind": transition.kind,
                "reason_required": workflows.REASON_REQUIRED in transition.guards,
                "outcome_required": workflows.OUTCOME_REQUIRED in transition.guards,
                "blocked_by": refused,
            }
        )
    return result


class CaseMoveFacts:
    """A case's facts for the guard engine (workflows.MoveFacts), read from the database only when a guard asks.
    `reason` and `outcome` are what a request brings; a page asking which moves to offer leaves them empty. The
    transition service passes the agreement it already read; otherwise it is read on first use."""

    def __init__(self, *, case: Case, reason: str = "", outcome: str = "", agreement: Agreement | None = None):
        self.case = case
        self.reason = reason
        self.outcome = outcome
        if agreement is not None:
            self.__dict__["agreement"] = agreement

    @property
    def offence_class(self) -> str:
        return self.case.offence_class

    @cached_property
    def agreement(self) -> Agreement | None:
        return Agreement.objects.filter(case=self.case).first()

    def has_agreement_terms(self) -> bool:
        return self.agreement is not None and self.agreement.terms.exists()

    def all_terms_met(self) -> bool:
        statuses = latest_check_statuses(agreement=self.agreement) if self.agreement else {}
        return all(status == ComplianceCheck.Status.MET for status in statuses.values())

    def screening_pending(self) -> bool:
        return (
            self.agreement is not None and self.agreement.terms.filter(screening_verdict=Term.Screening.REVIEW).exists()
        )

    def deposits_open(self) -> bool:
        return Deposit.objects.filter(case=self.case, status=Deposit.Status.HELD).exists()


def reminder_list_for_user(*, user) -> QuerySet[Reminder]:
    """Open reminders on cases the user may move: their forums' as facilitator, every forum's as administrator."""
    qs = Reminder.objects.filter(resolved_at__isnull=True).select_related("case", "case__rung")
    if case_rules.is_administrator(user):
        return qs.order_by("due_on", "id")
    return qs.filter(
        case__forum__memberships__user=user, case__forum__memberships__role=Membership.Role.FACILITATOR
    ).order_by("due_on", "id")


def user_by_username(*, username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username, is_active=True).first()


def forum_monitors(*, forum: Forum) -> list:
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(memberships__forum=forum, memberships__role=Membership.Role.MONITOR, is_active=True)
        .order_by("username")
        .distinct()
    )


def case_recurrence_ids(*, case: Case, recurrence_id) -> bool:
    """Whether the link is one of this case's (as the later or the earlier case)."""
    return Recurrence.objects.filter(Q(case=case) | Q(earlier=case), pk=recurrence_id).exists()


# The parties asked at closing (shared/DOMAIN.md: "each party"; witnesses and guarantors are not parties to
# the dispute).
SURVEYED_ROLES = (CaseParty.Role.FIRST_PARTY, CaseParty.Role.SECOND_PARTY, CaseParty.Role.VICTIM)


def survey_parties(*, case: Case) -> list[CaseParty]:
    """The parties asked at closing who have not answered yet."""
    answered = Survey.objects.filter(case=case).values_list("party_id", flat=True)
    return list(
        CaseParty.objects.filter(case=case, role__in=SURVEYED_ROLES)
        .exclude(party_id__in=answered)
        .select_related("party")
        .order_by("id")
    )


# --- The monitor's "Checks due" page ----------------------------------------------------------------


def monitor_cases_for_user(*, user, today=None) -> list[dict]:
    """The open cases with a final agreement that the user follows (as their monitor, or as a facilitator of
    the forum), newest first, each {"case", "terms"} where every term row is {"term", "latest",
    "latest_at", "paid", "schedule", "overdue"} as on the case page. Four queries whatever the number of
    cases: a term's latest status and what was paid towards it are read as subqueries, not by loading every
    check the agreement ever had."""
    today = today or timezone.localdate()
    cases = list(
        _monitored_cases(user=user)
        .exclude(state__in=workflows.ENDED)
        .filter(agreement__status=Agreement.Status.FINAL)
        .select_related("forum", "agreement")
        .order_by("-opened_at", "-id")
    )
    if not cases:
        return []
    latest = ComplianceCheck.objects.filter(term=OuterRef("pk")).order_by("-observed_at", "-id")
    paid = (
        ComplianceCheck.objects.filter(term=OuterRef("pk"), paid__isnull=False)
        .values("term")
        .annotate(total=Sum("paid"))
        .values("total")
    )
    terms = list(
        Term.objects.filter(agreement__case__in=[case.pk for case in cases])
        .annotate(
            latest_status=Subquery(latest.values("status")[:1]),
            latest_at=Subquery(latest.values("observed_at")[:1]),
            paid_total=Subquery(paid),
        )
        .order_by("agreement_id", "position")
    )
    instalments: dict[int, list[Instalment]] = {}
    compensation = [term.pk for term in terms if term.kind == Term.Kind.COMPENSATION]
    if compensation:
        for inst in Instalment.objects.filter(term_id__in=compensation).order_by("term_id", "number"):
            instalments.setdefault(inst.term_id, []).append(inst)
    by_agreement: dict[int, list[dict]] = {}
    for term in terms:
        paid_so_far = term.paid_total or Decimal(0)
        schedule = instalment_schedule(
            term=term, today=today, instalments=instalments.get(term.pk, []), paid=paid_so_far
        )
        by_agreement.setdefault(term.agreement_id, []).append(
            {
                "term": term,
                "latest": term.latest_status,
                "latest_at": term.latest_at,
                "paid": paid_so_far if term.kind == Term.Kind.COMPENSATION else None,
                "schedule": schedule,
                "overdue": [row for row in schedule if row["status"] == "overdue"],
            }
        )
    # What holds the agreement in the field (issue 19): each case's guarantors and deposits, two queries in all.
    case_ids = [case.pk for case in cases]
    guarantors: dict[int, list[Guarantor]] = {}
    for guarantor in case_guarantors_of(case_ids=case_ids):
        guarantors.setdefault(guarantor.case_id, []).append(guarantor)
    deposits: dict[int, list[Deposit]] = {}
    for deposit in case_deposits_of(case_ids=case_ids):
        deposits.setdefault(deposit.case_id, []).append(deposit)
    return [
        {
            "case": case,
            "terms": by_agreement.get(case.agreement.pk, []),
            "guarantors": guarantors.get(case.pk, []),
            "deposits": deposits.get(case.pk, []),
        }
        for case in cases
    ]


def monitor_page_allowed(*, user) -> bool:
    """The "Checks due" page is for the people who follow agreements: a forum's monitors and facilitators."""
    return Membership.objects.filter(
        user=user, role__in=[Membership.Role.MONITOR, Membership.Role.FACILITATOR]
    ).exists()


# --- Legal review of held agreement terms ---------------------------------------------------------------


def may_review_screening(*, user) -> bool:
    """Whether the user decides held terms anywhere: administrators, and legal reviewers of some forum."""
    return (
        bool(case_rules.is_administrator(user))
        or Membership.objects.filter(user=user, role=Membership.Role.LEGAL_REVIEWER).exists()
    )


def screening_reviews_for_user(*, user) -> QuerySet[Term]:
    """The terms held for legal review that the user may decide, oldest first: every forum's for administrators,
    their forums' for legal reviewers; ForbiddenError for anyone else (CONTRACT.md section 6)."""
    terms = Term.objects.filter(screening_verdict=Term.Screening.REVIEW, agreement__status=Agreement.Status.DRAFT)
    if not case_rules.is_administrator(user):
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            raise ForbiddenError()
        forum_ids = list(
            Membership.objects.filter(user=user, role=Membership.Role.LEGAL_REVIEWER).values_list("forum_id", flat=True)
        )
        if not forum_ids:
            raise ForbiddenError(_("Only legal reviewers and administrators decide held terms."))
        terms = terms.filter(agreement__case__forum_id__in=forum_ids)
    return terms.select_related("agreement__case__forum").order_by("agreement__recorded_at", "agreement_id", "position")
