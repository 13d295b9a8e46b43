"""Recurrence: one feud, several cases. Links a new case to earlier ones between the same parties."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainRuleError, NotFoundError, SulhError

from .. import selectors
from ..models import (
    Case,
    CaseParty,
    Recurrence,
)
from .common import check_can_manage, event_append, lock_case

RECURRENCE_WINDOW = timedelta(days=730)  # 24 months (shared/DOMAIN.md)


RECURRENCE_CANDIDATES = 500  # Matching rows read per opening: common names must not make it a scan.


class _Side(TypedDict):
    """One side (a role) of an earlier case as the matching rows show it: its party records and name keys."""

    ids: set[int]
    keys: set[str]


def recurrences_find(*, case: Case, actor: User | None = None) -> list[Recurrence]:
    """Link `case` to the earlier cases of its district between the same parties or families: a first party
    of one and a second party of the other on each side (either way round), matched on the party record or
    its name, the earlier case still open or ended within 24 months. The caller holds the case lock."""
    sides: dict[str, set[str]] = {CaseParty.Role.FIRST_PARTY: set(), CaseParty.Role.SECOND_PARTY: set()}
    records: dict[str, set[int]] = {CaseParty.Role.FIRST_PARTY: set(), CaseParty.Role.SECOND_PARTY: set()}
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
    found: dict[int, dict[str, _Side]] = {}
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


def recurrence_link(*, user: User, case_id: int | str, reference: str) -> Recurrence:
    """A facilitator links the case to an earlier one of the same feud that the parties' names did not find
    (spelt differently, another family member). Both cases must be visible to the facilitator."""
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
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


def recurrence_decide(*, user: User, recurrence_id: int | str, status: str) -> Recurrence:
    """A facilitator confirms a matched link, or rejects it (namesakes, not one feud)."""
    if status not in (Recurrence.Status.CONFIRMED, Recurrence.Status.REJECTED):
        raise SulhError(
            _("Confirm or reject the link."), code="invalid", fields={"status": [_("confirmed or rejected")]}
        )
    link = Recurrence.objects.select_related("case__forum", "earlier").filter(pk=recurrence_id).first()
    if link is None:
        raise NotFoundError()
    with transaction.atomic():
        case = lock_case(user=user, case_id=link.case_id)
        check_can_manage(user=user, forum=case.forum)
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
