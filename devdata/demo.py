"""The demo world that `seed_demo` builds: regions, one forum of each kind and the demo users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.roles import ADMINISTRATOR, REGULATOR
from cases import services
from cases.models import Case, Forum, Membership

DEFAULT_PASSWORD = "sulh-demo-2026"

REGIONS = [
    # (province code, province, district code, district)
    ("pk-kp", "Khyber Pakhtunkhwa", "pk-kp-swat", "Swat"),
    ("pk-pb", "Punjab", "pk-pb-lahore", "Lahore"),
    ("jo-irbid", "Irbid", "jo-irbid-qasabah", "Irbid Qasabah"),
]

FORUMS = [
    # (name, kind, district, the country whose law the screening cites)
    ("Demo Jirga", Forum.Kind.JIRGA, "pk-kp-swat", Forum.Country.PAKISTAN),
    ("Demo Muslahathi Committee", Forum.Kind.MUSLAHATHI, "pk-pb-lahore", Forum.Country.PAKISTAN),
    ("Demo Sulha", Forum.Kind.SULHA, "jo-irbid-qasabah", Forum.Country.JORDAN),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str


LOGINS = [
    DemoLogin("facilitator", "facilitator in all three forums"),
    DemoLogin("monitor", "monitor in all three forums"),
    DemoLogin("reviewer", "legal reviewer in all three forums"),
    DemoLogin("admin", "administrator"),
    DemoLogin("regulator", "regulator (reports only)"),
    DemoLogin("outsider", "member of nothing"),
]


@transaction.atomic
def seed(*, password: str = DEFAULT_PASSWORD, reset_passwords: bool = False) -> list[DemoLogin]:
    """Idempotent: a second run adds nothing. New demo users get `password`; an existing user's password changes
    only with `reset_passwords` (CONTRACT.md section 2: `seed_demo --password P`)."""
    account_services.role_groups_ensure()
    regions = {}
    for province_code, province, district_code, district in REGIONS:
        parent = services.region_ensure(code=province_code, name=province)
        regions[district_code] = services.region_ensure(code=district_code, name=district, parent=parent)
    forums = [
        services.forum_ensure(name=name, kind=kind, region=regions[code], country=country)
        for name, kind, code, country in FORUMS
    ]

    users = {
        login.username: account_services.user_ensure(
            username=login.username, password=password, reset_password=reset_passwords
        )
        for login in LOGINS
    }
    for forum in forums:
        services.membership_grant(user=users["facilitator"], forum=forum, role=Membership.Role.FACILITATOR)
        services.membership_grant(user=users["monitor"], forum=forum, role=Membership.Role.MONITOR)
        services.membership_grant(user=users["reviewer"], forum=forum, role=Membership.Role.LEGAL_REVIEWER)
    account_services.role_grant(user=users["admin"], role=ADMINISTRATOR)
    account_services.role_grant(user=users["regulator"], role=REGULATOR)
    _seed_cases(forums=forums, facilitator=users["facilitator"])
    return LOGINS


def _families(first: str, second: str) -> list[services.PartyInput]:
    return [
        {"name": first, "kind": "family", "role": "first_party"},
        {"name": second, "kind": "family", "role": "second_party"},
    ]


def _seed_cases(*, forums: list[Forum], facilitator) -> None:
    """A few cases in different states, through the same services a facilitator uses. Only once."""
    if Case.objects.filter(forum__in=forums).exists():
        return
    jirga, muslahathi, sulha = forums

    def walk(case, *states, **last):
        for state in states:
            case = services.case_transition(
                user=facilitator,
                case_id=case.pk,
                to=state,
                version=case.version,
                **(last if state == states[-1] else {}),
            )
        return case

    water = services.case_open(
        user=facilitator,
        forum=jirga,
        title="Irrigation channel turns between two families",
        dispute_type="water",
        risk_level="medium",
        offence_class="compoundable",
        parties=_families("Demo family A", "Demo family B"),
    )
    water = walk(water, "mandate", "hearings")
    services.agreement_record(
        user=facilitator,
        case_id=water.pk,
        terms=[
            {"kind": "service", "description": "Repair the channel together before the sowing season."},
            {
                "kind": "compensation",
                "description": "Pay 25,000 PKR for the lost harvest.",
                "amount": 25000,
                "currency": "PKR",
            },
            {"kind": "truce", "description": "A one-year truce between the two families."},
        ],
    )

    services.case_open(
        user=facilitator,
        forum=jirga,
        title="Boundary of a shared orchard",
        dispute_type="land",
        risk_level="low",
        offence_class="civil",
        parties=_families("Demo family C", "Demo family D"),
    )

    hurt = services.case_open(
        user=facilitator,
        forum=muslahathi,
        title="Hurt in a quarrel at the market (police referral)",
        dispute_type="injury",
        risk_level="medium",
        offence_class="compoundable",
        parties=_families("Demo family E", "Demo family F"),
        referral_source="police_station",
        fir_number="FIR 112/2026",
    )
    walk(hurt, "eligibility_check", "consent")

    robbery = services.case_open(
        user=facilitator,
        forum=muslahathi,
        title="Armed robbery referred by mistake",
        dispute_type="theft",
        risk_level="high",
        offence_class="non_compoundable",
        parties=_families("Demo family G", "Demo family H"),
        referral_source="police_station",
    )
    walk(robbery, "referred", reason="Not compoundable: returned to the police station.")

    killing = services.case_open(
        user=facilitator,
        forum=sulha,
        title="A killing between two clans",
        dispute_type="killing",
        risk_level="imminent",
        offence_class="compoundable",
        parties=_families("Demo clan I", "Demo clan J"),
    )
    walk(killing, "jaha_appointed", "truce", truce_expires=(timezone.now() + timedelta(days=90)).date())


def users_with_the_published_password() -> list[str]:
    """The demo logins whose password is still the one printed in the README and by `make run`, active ones only.
    Only the demo usernames are tried: checking a password hash costs a fraction of a second each."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__in=[login.username for login in LOGINS], is_active=True)
    return sorted(user.username for user in users if user.check_password(DEFAULT_PASSWORD))
