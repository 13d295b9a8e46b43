"""The demo world that `seed_demo` builds: regions, one forum of each kind and the demo users."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from . import services
from .models import Forum, Membership
from .roles import ADMINISTRATOR, REGULATOR

DEFAULT_PASSWORD = "sulh-demo-2026"

REGIONS = [
    # (province code, province, district code, district)
    ("pk-kp", "Khyber Pakhtunkhwa", "pk-kp-swat", "Swat"),
    ("pk-pb", "Punjab", "pk-pb-lahore", "Lahore"),
    ("jo-irbid", "Irbid", "jo-irbid-qasabah", "Irbid Qasabah"),
]

FORUMS = [
    ("Demo Jirga", Forum.Kind.JIRGA, "pk-kp-swat"),
    ("Demo Muslahathi Committee", Forum.Kind.MUSLAHATHI, "pk-pb-lahore"),
    ("Demo Sulha", Forum.Kind.SULHA, "jo-irbid-qasabah"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str


LOGINS = [
    DemoLogin("facilitator", "facilitator in all three forums"),
    DemoLogin("monitor", "monitor in all three forums"),
    DemoLogin("admin", "administrator"),
    DemoLogin("regulator", "regulator (reports only)"),
    DemoLogin("outsider", "member of nothing"),
]


@transaction.atomic
def seed(*, password: str = DEFAULT_PASSWORD) -> list[DemoLogin]:
    """Idempotent: a second run adds nothing and only resets the demo users' passwords."""
    services.role_groups_ensure()
    regions = {}
    for province_code, province, district_code, district in REGIONS:
        parent = services.region_ensure(code=province_code, name=province)
        regions[district_code] = services.region_ensure(code=district_code, name=district, parent=parent)
    forums = [services.forum_ensure(name=name, kind=kind, region=regions[code]) for name, kind, code in FORUMS]

    users = {login.username: services.user_ensure(username=login.username, password=password) for login in LOGINS}
    for forum in forums:
        services.membership_grant(user=users["facilitator"], forum=forum, role=Membership.Role.FACILITATOR)
        services.membership_grant(user=users["monitor"], forum=forum, role=Membership.Role.MONITOR)
    services.role_grant(user=users["admin"], role=ADMINISTRATOR)
    services.role_grant(user=users["regulator"], role=REGULATOR)
    return LOGINS
