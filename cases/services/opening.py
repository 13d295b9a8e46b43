"""Opening a case: its reference, its parties (new or on the forum's records), the pseudonyms, and the facts a
facilitator tags on it (UN Framework risk factors)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Required, TypedDict

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from config.errors import DomainRuleError, SulhError

from .. import ladder_stats, selectors, workflows
from ..models import (
    Case,
    CaseParty,
    CaseRiskFactor,
    Forum,
    Party,
    ReferenceCounter,
    RiskFactor,
)
from .common import check_can_manage, event_append, lock_case
from .forums import ladder_default
from .recurrences import recurrences_find

REFERENCE_PREFIX = {"sulha": "SUL", "jirga": "JIR", "muslahathi": "MUS"}


class PartyInput(TypedDict, total=False):
    """A party of a case being opened: a new one ({"name", "kind", "role"}) or one on the forum's records
    ({"party": id, "role"}), as the API's PartyInputSerializer and the page's PartyForm give it."""

    role: Required[str]
    party: int | None
    name: str
    kind: str
    gender: str  # Optional, self-declared ("" when not said).


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
    user: User,
    forum: Forum,
    title: str,
    dispute_type: str,
    risk_level: str,
    offence_class: str,
    parties: list[PartyInput],
    summary: str = "",
    referral_source: str = "",
    fir_number: str = "",
) -> Case:
    """Open a case in `intake` at the base of the forum's ladder. `parties`: [{"name", "kind", "role"}], or
    [{"party": id, "role"}] for a party already on the forum's records (a family back with a new dispute).
    An earlier case between the same parties within 24 months is linked as a recurrence."""
    check_can_manage(user=user, forum=forum)
    known = _known_parties(forum=forum, parties=parties)
    roles = {p["role"] for p in parties}
    if not {CaseParty.Role.FIRST_PARTY, CaseParty.Role.SECOND_PARTY} <= roles:
        raise SulhError(
            _("A case needs at least one first party and one second party."),
            code="invalid",
            fields={"parties": [_("Include at least one first_party and one second_party.")]},
        )
    for given in parties:
        account_services.gender_checked(given.get("gender", ""), field="parties")
    now = timezone.now()
    base = forum.ladder.rungs.order_by("level").first() or ladder_default().rungs.order_by("level").first()
    assert base is not None  # The default ladder is created with its rungs (ladder_default).
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
        record = entry.get("party")
        party = None if record is None else known.get(record)
        if party is None:
            party = Party.objects.create(
                name=entry["name"],
                kind=entry["kind"],
                gender=entry.get("gender", ""),
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
    """What Party.name_key holds: the keyed hash of the normalised name (selectors.party_name_key)."""
    return selectors.party_name_key(name)


def _known_parties(*, forum: Forum, parties: list[PartyInput]) -> dict[int, Party]:
    """The forum's party records that `parties` name by id; a 400 for an id that is not one of them."""
    ids = {record for entry in parties if (record := entry.get("party")) is not None}
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


def case_risk_factors_set(*, user: User, case_id: int | str, factors: Iterable[object]) -> Case:
    """Tag an open case with the UN Framework's risk factors that the facilitator sees in it (numbers 1–14;
    an empty list removes them all). The regulators' early warning counts them, per district."""
    wanted: set[int] = set()
    for factor in factors:
        if isinstance(factor, bool) or not isinstance(factor, int) or factor not in RiskFactor.values:
            raise SulhError(
                _("Risk factors are numbered 1 to 14."),
                code="invalid",
                fields={"factors": [_("%(value)s is not one of them.") % {"value": factor}]},
            )
        wanted.add(factor)
    with transaction.atomic():
        case = lock_case(user=user, case_id=case_id)
        check_can_manage(user=user, forum=case.forum)
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


def party_name_keys_refresh(*, batch: int = 2000) -> tuple[int, int]:
    """Recompute every party's name_key from its (decrypted) name, after SULH_HASH_KEY changed: `batch` parties
    per transaction, in id order, only those whose hash differs. Returns (recomputed, already current)."""
    changed = current = 0
    last = 0
    while True:
        with transaction.atomic():
            parties = list(Party.objects.filter(pk__gt=last).order_by("pk").only("pk", "name", "name_key")[:batch])
            if not parties:
                return changed, current
            last = parties[-1].pk
            stale = []
            for party in parties:
                key = party_name_key(party.name)
                if key == party.name_key:
                    current += 1
                else:
                    party.name_key = key
                    stale.append(party)
            Party.objects.bulk_update(stale, ["name_key"])
            changed += len(stale)
