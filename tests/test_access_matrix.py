"""Who may call what, over every route of the site (issue 16: permissions consistent across doors).

The routes come from the URLconf itself (django.urls.get_resolver(), walked recursively), so a new route cannot
escape: one with no entry in ROUTES fails the test, named. Each (route, method) is called by every identity on the
objects of forum A (a jirga) and the answer must be of the class ROUTES declares:

- allowed: neither 401, 403 nor 404 (a 2xx, a redirect, or a 4xx that judged the body: 400, 405, 409, 422);
- denied: 401/403, or a redirect to the login page, for anonymous callers; 403 or 404 for others, and 404 for
  callers outside forum A on a route naming one of A's objects (never reveal that it exists);
- and never a 5xx.

Writes send a valid body (BODIES) so a denied caller cannot hide behind a 400; every request runs in a savepoint
that is rolled back, so each starts from the same world and the matrix is fast. The Django admin is checked by its
own test below (it lists every model; what matters is what it shows of sessions and compliance).
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.roles import ADMINISTRATOR, REGULATOR
from cases import services as case_services
from cases.models import ComplianceConflict, Membership, Recurrence, Reminder, Term
from deliberation import services as session_services
from tests.factories import ForumFactory, UserFactory

pytestmark = [pytest.mark.django_db]

# --- Who ----------------------------------------------------------------------------------------------------

ANON, OUTSIDER, FAC_A, MON_A, LEGAL_A, ADMIN, REGULATOR_, FAC_B, GUEST = (
    "anonymous", "outsider", "facilitator A", "monitor A", "legal reviewer A", "administrator", "regulator",
    "facilitator B", "guest of A's session",
)  # fmt: skip
IDENTITIES = (ANON, OUTSIDER, FAC_A, MON_A, LEGAL_A, ADMIN, REGULATOR_, FAC_B, GUEST)
# Callers to whom forum A's objects do not exist: a denial must be a 404 for them.
OUTSIDE_A = {ANON, OUTSIDER, REGULATOR_, FAC_B, GUEST}
SIGNED_IN = frozenset(IDENTITIES) - {ANON}
EVERYONE = frozenset(IDENTITIES)

# Groups of identities, named by what the rules give them (cases/rules.py, deliberation/rules.py).
FOLLOWERS = {FAC_A, MON_A}  # can_read_compliance / can_log_compliance: the forum's facilitators and monitors.
CASE_READERS = {FAC_A, MON_A, LEGAL_A, ADMIN}  # can_view_forum.
CASE_MANAGERS = {FAC_A, ADMIN}  # can_manage_forum_cases.
ATTENDEES = {FAC_A, MON_A, GUEST}  # deliberation.rules.attends, while the session is live.
REPORT_READERS = {ADMIN, REGULATOR_}  # can_read_reports.
SCREENERS = {LEGAL_A, ADMIN}  # can_review_screening.
WITH_FORUMS = {FAC_A, MON_A, LEGAL_A, ADMIN, FAC_B}  # Anyone with a forum to see (forum_list_for_user).

# Markers for routes whose answer is the caller's own business rather than a permission.
ANY = "any"  # Login, logout, the language switch, the one-time link: no 5xx, nothing else asked.
NOT_FOUND = "not found"  # The API's catch-all: a JSON 404 for everyone.

# route name (or pattern when unnamed) → {method: who is allowed}. Everyone else is denied.
ROUTES: dict[str, dict[str, Any]] = {
    # Health, API schema and docs, the API's catch-all.
    "healthz": {"GET": EVERYONE},
    "config.health.healthz": {"GET": EVERYONE},  # /healthz/, unnamed: routes without a name go by their view.
    "api-schema": {"GET": EVERYONE},
    "api-docs": {"GET": EVERYONE},
    "config.errors.api_not_found": {"GET": NOT_FOUND, "POST": NOT_FOUND},
    # Accounts: tokens are their owner's (the token in the URL is facilitator A's).
    "api-token": {"POST": ANY},
    "api-tokens": {"GET": SIGNED_IN},
    "api-token-detail": {"DELETE": {FAC_A}},
    "api-logout": {"POST": SIGNED_IN},
    "login": {"GET": ANY, "POST": ANY, "PUT": ANY},
    "login-otp": {"GET": ANY},
    "logout": {"GET": ANY, "POST": ANY},
    "set_language": {"POST": ANY},
    # A signed-in user's own account (an invited guest's throwaway account too: there is nothing in it).
    "account": {"GET": SIGNED_IN},
    "account-two-factor": {"GET": SIGNED_IN},
    "account-two-factor-disable": {"POST": SIGNED_IN},
    "account-gender": {"POST": SIGNED_IN},
    "account-token-revoke": {"POST": {FAC_A}},
    "password-change": {"GET": SIGNED_IN, "POST": SIGNED_IN, "PUT": SIGNED_IN},
    "accounts.views.admin_login": {"GET": ANY},  # /admin/login/: the site's own login, with its second factor.
    # Forums and cases.
    "api-forums": {"GET": SIGNED_IN},
    "api-cases": {"GET": SIGNED_IN, "POST": CASE_MANAGERS},
    "api-case": {"GET": CASE_READERS},
    "api-case-transitions": {"POST": CASE_MANAGERS},
    "api-case-escalations": {"POST": CASE_MANAGERS},
    "api-case-timeline": {"GET": CASE_READERS},
    "api-case-agreement": {"GET": CASE_READERS, "POST": CASE_MANAGERS},
    "api-case-compliance": {"GET": FOLLOWERS, "POST": FOLLOWERS},
    "api-case-surveys": {"GET": FOLLOWERS, "POST": FOLLOWERS},
    "api-case-recurrences": {"GET": CASE_READERS, "POST": CASE_MANAGERS},
    "api-case-monitor": {"POST": CASE_MANAGERS},
    "api-case-risk-factors": {"PUT": CASE_MANAGERS},
    "api-recurrence-decision": {"POST": CASE_MANAGERS},
    "api-compliance-conflict-review": {"POST": {FAC_A}},
    "api-reminders": {"GET": SIGNED_IN},
    "api-monitor-due": {"GET": SIGNED_IN},
    "api-screening-reviews": {"GET": SCREENERS},
    "api-term-screening": {"POST": SCREENERS},
    "home": {"GET": SIGNED_IN},
    "case-list": {"GET": SIGNED_IN},
    "case-new": {"GET": CASE_MANAGERS | {FAC_B}, "POST": CASE_MANAGERS},
    "case-detail": {"GET": CASE_READERS},
    "case-transition": {"POST": CASE_MANAGERS},
    "case-agreement": {"POST": CASE_MANAGERS},
    "case-escalate": {"POST": CASE_MANAGERS},
    "case-monitor": {"POST": CASE_MANAGERS},
    "case-risk-factors": {"POST": CASE_MANAGERS},
    "case-survey": {"POST": FOLLOWERS},
    "case-recurrence-link": {"POST": CASE_MANAGERS},
    "case-recurrence-decide": {"POST": CASE_MANAGERS},
    "case-conflict-review": {"POST": {FAC_A}},
    "reminder-dismiss": {"POST": CASE_MANAGERS},
    "screening-reviews": {"GET": SCREENERS},
    "screening-decide": {"POST": SCREENERS},
    "monitor-due": {"GET": FOLLOWERS | {FAC_B}},
    "monitor-check": {"POST": FOLLOWERS},
    "monitor-sw": {"GET": EVERYONE},
    # Live sessions: the forum's members and invited guests attend; only facilitators schedule, run and print.
    "api-case-sessions": {"GET": CASE_READERS, "POST": {FAC_A}},
    "api-session": {"GET": ATTENDEES},
    "api-session-start": {"POST": {FAC_A}},
    "api-session-end": {"POST": {FAC_A}},
    "api-session-transcript": {"GET": ATTENDEES},
    "api-session-invitations": {"POST": {FAC_A}},
    "api-session-caucuses": {"GET": ATTENDEES, "POST": {FAC_A}},
    "session-room": {"GET": ATTENDEES},
    "session-transcript": {"GET": ATTENDEES},
    "session-transcript-print": {"GET": {FAC_A}},
    "session-invite": {"POST": {FAC_A}},
    "session-control": {"POST": {FAC_A}},
    "case-sessions": {"GET": CASE_READERS},
    "session-schedule": {"POST": {FAC_A}},
    "session-join": {"GET": ANY, "POST": ANY},
    # Reports: administrators and regulators; the escalation pyramid for facilitators of their own forums too.
    "api-report-escalations": {"GET": {ADMIN, FAC_A, FAC_B}},
    "api-report-patterns-refresh": {"POST": {ADMIN}},
    "api-report-task": {"GET": REPORT_READERS},
    "api-report-patterns": {"GET": REPORT_READERS},
    "api-report-patterns-csv": {"GET": REPORT_READERS},
    "api-report-warnings": {"GET": REPORT_READERS},
    "escalation-report": {"GET": {ADMIN, FAC_A, FAC_B}},
    "escalation-report-csv": {"GET": {ADMIN, FAC_A, FAC_B}},
    "pattern-report": {"GET": REPORT_READERS},
    # The read log: administrators per case and per user; a case's facilitators see who looked at it.
    "api-audit": {"GET": {ADMIN}},
    "audit-case": {"GET": {ADMIN}},
    "audit-user": {"GET": {ADMIN}},
    # Guarantors and deposits (the customary guarantees of an agreement): read with the case, kept by its managers.
    "api-case-guarantors": {"GET": CASE_READERS, "POST": CASE_MANAGERS},
    "api-case-deposits": {"GET": CASE_READERS, "POST": CASE_MANAGERS},
    "api-deposit-forfeit": {"POST": CASE_MANAGERS},
    "api-deposit-return": {"POST": CASE_MANAGERS},
    "api-guarantor-call": {"POST": CASE_MANAGERS},
    "case-guarantor-add": {"POST": CASE_MANAGERS},
    "case-guarantor-call": {"POST": CASE_MANAGERS},
    "case-deposit-add": {"POST": CASE_MANAGERS},
    "case-deposit-forfeit": {"POST": CASE_MANAGERS},
    "case-deposit-return": {"POST": CASE_MANAGERS},
    # Declared ties (conflicts of interest): read with the case; a forum member declares and recuses their own (bob's
    # here), its facilitators anyone's; the sides' acceptance is recorded by a facilitator other than the person tied.
    "api-case-ties": {"GET": CASE_READERS, "POST": {FAC_A, MON_A, ADMIN}},
    "api-tie-recuse": {"POST": {FAC_A, MON_A, ADMIN}},
    "api-tie-accept": {"POST": CASE_MANAGERS},
    "case-tie-declare": {"POST": {FAC_A, MON_A, ADMIN}},
    "case-tie-recuse": {"POST": {FAC_A, MON_A, ADMIN}},
    "case-tie-accept": {"POST": CASE_MANAGERS},
    # The written settlement: printed and attested by the forum's facilitators, verified by anyone by its code.
    "case-settlement": {"GET": CASE_READERS},
    "case-settlement-attest": {"POST": {FAC_A}},
    "settlement-verify-home": {"GET": EVERYONE},
    "settlement-verify": {"GET": ANY},
    "api-settlement-verify": {"GET": ANY},
    "readyz": {"GET": EVERYONE},
    "config.health.readyz": {"GET": EVERYONE},
    # A forum's paper register: its facilitators and administrators bring it in and take it out.
    "register-upload": {"GET": CASE_MANAGERS, "POST": CASE_MANAGERS},
    "register-confirm": {"POST": CASE_MANAGERS},
    "register-csv": {"GET": CASE_MANAGERS},
    "register-xlsx": {"GET": CASE_MANAGERS},
}


# --- The world: forum A's objects, one of each ----------------------------------------------------------------

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]
TERMS = [
    {"kind": "apology", "description": "The second family apologises publicly at the mosque."},
    {"kind": "truce", "description": "A one-year truce between the two families."},
]


@dataclass
class World:
    users: dict[str, Any]
    kwargs: dict[str, Any]
    bodies: dict[tuple[str, str], Any]


def _open(alice, forum, title):
    return case_services.case_open(
        user=alice, forum=forum, title=title, dispute_type="water", risk_level="medium", offence_class="civil",
        parties=PARTIES,
    )  # fmt: skip


def _move(user, case, *states):
    for state in states:
        case.refresh_from_db()
        case_services.case_transition(user=user, case_id=case.pk, to=state, version=case.version)


def build_world() -> World:
    account_services.role_groups_ensure()
    jirga = ForumFactory(name="Swat Jirga", kind="jirga")
    other = ForumFactory(name="Elsewhere Committee", kind="muslahathi")
    names = ["alice", "bob", "grace", "carol", "dave", "eve", "frank"]
    alice, bob, grace, carol, dave, eve, frank = (UserFactory(username=name) for name in names)
    case_services.membership_grant(user=alice, forum=jirga, role=Membership.Role.FACILITATOR)
    case_services.membership_grant(user=bob, forum=jirga, role=Membership.Role.MONITOR)
    case_services.membership_grant(user=grace, forum=jirga, role=Membership.Role.LEGAL_REVIEWER)
    case_services.membership_grant(user=frank, forum=other, role=Membership.Role.FACILITATOR)
    account_services.role_grant(user=carol, role=ADMINISTRATOR)
    account_services.role_grant(user=dave, role=REGULATOR)

    earlier = _open(alice, jirga, "The first quarrel")
    case = _open(alice, jirga, "Water rights")  # The same parties: a recurrence of `earlier`.
    _move(alice, case, "mandate", "hearings")
    case_services.agreement_record(user=alice, case_id=case.pk, terms=TERMS)
    _move(alice, case, "legality_review", "decision")  # The agreement is final.
    term = case.agreement.terms.order_by("position").first()
    first, _ = case_services.compliance_record(
        user=bob, case_id=case.pk, term_id=term.pk, status="met", idempotency_key=uuid.uuid4()
    )
    second, _ = case_services.compliance_record(
        user=alice, case_id=case.pk, term_id=term.pk, status="not_met", idempotency_key=uuid.uuid4()
    )
    now = timezone.now()
    conflict = ComplianceConflict.objects.create(later=second, earlier=first, case=case, created_at=now)
    recurrence = Recurrence.objects.filter(case=case, earlier=earlier).first() or Recurrence.objects.create(
        case=case, earlier=earlier, basis=Recurrence.Basis.NAMES, created_at=now
    )
    reminder = Reminder.objects.create(
        case=case, kind=Reminder.Kind.CONSIDER_STEP_UP, due_on=now.date(), created_at=now
    )
    # A draft term held for a legal reviewer, in another case of forum A.
    held_case = _open(alice, jirga, "Boundary wall")
    _move(alice, held_case, "mandate", "hearings")
    case_services.agreement_record(user=alice, case_id=held_case.pk, terms=TERMS[:1])
    held = Term.objects.filter(agreement__case=held_case).first()
    Term.objects.filter(pk=held.pk).update(screening_verdict=Term.Screening.REVIEW)

    guarantor = case_services.guarantor_add(
        user=alice, case_id=case.pk, stands_for="first_party", guarantees="The truce", name="An elder of the village"
    )
    deposit = case_services.deposit_add(
        user=alice, case_id=case.pk, kind="money", held_by="The jirga", deposited_by="second_party",
        received_at=now.date(), amount=Decimal("1000"), currency="PKR",
    )  # fmt: skip
    first_party = case.case_parties.get(role="first_party").party
    second_party = case.case_parties.get(role="second_party").party
    tie = case_services.tie_declare(user=bob, case_id=case.pk, party_id=first_party.pk, kind="kin")
    session = session_services.session_schedule(user=alice, case_id=case.pk, scheduled_for=now)
    session_services.session_start(user=alice, session_id=session.pk)
    _invitation, token = session_services.invitation_create(user=alice, session_id=session.pk, display_name="Guest")
    guest, _session = session_services.invitation_redeem(token=token)
    _invitation, unused = session_services.invitation_create(user=alice, session_id=session.pk, display_name="Elder")
    alice_token = account_services.token_issue(user=alice)

    users = {
        OUTSIDER: eve, FAC_A: alice, MON_A: bob, LEGAL_A: grace, ADMIN: carol, REGULATOR_: dave, FAC_B: frank,
        GUEST: guest,
    }  # fmt: skip
    kwargs = {
        "case_id": case.pk, "session_id": session.pk, "term_id": held.pk, "conflict_id": conflict.pk,
        "recurrence_id": recurrence.pk, "reminder_id": reminder.pk, "token_id": alice_token.token.pk,
        "token": unused, "task_id": uuid.uuid4(), "user_id": alice.pk, "action": "end", "forum_id": jirga.pk,
        "code": "NOSUCHCODE", "guarantor_id": guarantor.pk, "deposit_id": deposit.pk,
        "tie_id": tie.pk,
    }  # fmt: skip
    case.refresh_from_db()
    party = case.case_parties.get(role="first_party").party
    later = (now + timedelta(days=1)).isoformat()
    bodies: dict[tuple[str, str], Any] = {
        ("api-token", "POST"): {"username": "alice", "password": "wrong"},
        ("api-cases", "POST"): {"forum": jirga.pk, "title": "Goats", "dispute_type": "property",
                                "risk_level": "low", "offence_class": "civil", "parties": PARTIES},
        ("api-case-transitions", "POST"): {"to": "withdrawn", "reason": "Settled privately", "version": case.version},
        ("api-case-escalations", "POST"): {"direction": "up", "reason": "Threats", "version": case.version},
        ("api-case-agreement", "POST"): {"terms": TERMS},
        ("api-case-compliance", "POST"): {"term": term.pk, "status": "met", "notes": ""},
        ("api-case-surveys", "POST"): {"party": party.pk, "satisfaction": 4, "fairness": 4, "felt_heard": True,
                                       "would_use_again": True},
        ("api-case-recurrences", "POST"): {"reference": earlier.reference},
        ("api-case-monitor", "POST"): {"monitor": None},
        ("api-case-risk-factors", "PUT"): {"factors": [9]},
        ("api-recurrence-decision", "POST"): {"status": "confirmed"},
        ("api-term-screening", "POST"): {"decision": "lawful", "note": "A public apology is lawful."},
        ("api-case-sessions", "POST"): {"scheduled_for": later},
        ("api-session-invitations", "POST"): {"name": "Another elder", "role": "elder"},
        ("api-session-caucuses", "POST"): {"side": "first_party"},
        ("case-agreement", "POST"): {"terms-TOTAL_FORMS": "1", "terms-INITIAL_FORMS": "0", "terms-0-kind": "apology",
                                     "terms-0-description": "The second family apologises."},
        ("case-survey", "POST"): {"party": party.pk, "satisfaction": "4", "fairness": "4", "felt_heard": "yes",
                                  "would_use_again": "yes"},
        ("api-case-guarantors", "POST"): {"stands_for": "second_party", "guarantees": "Payment", "name": "A cousin"},
        ("api-case-deposits", "POST"): {"kind": "goods", "description": "A rifle", "held_by": "The jirga",
                                        "deposited_by": "first_party", "received_at": now.date().isoformat()},
        ("api-deposit-forfeit", "POST"): {"reason": "The truce was broken"},
        ("api-deposit-return", "POST"): {"reason": "Kept"},
        ("api-guarantor-call", "POST"): {"reason": "The truce was broken"},
        ("case-guarantor-add", "POST"): {"stands_for": "second_party", "guarantees": "Payment", "name": "A cousin"},
        ("case-deposit-add", "POST"): {"kind": "goods", "description": "A rifle", "held_by": "The jirga",
                                       "deposited_by": "first_party", "received_at": now.date().isoformat()},
        ("case-deposit-forfeit", "POST"): {"reason": "The truce was broken"},
        ("case-deposit-return", "POST"): {"reason": "Kept"},
        ("case-guarantor-call", "POST"): {"reason": "The truce was broken"},
        ("api-case-ties", "POST"): {"party": second_party.pk, "kind": "business"},
        ("api-tie-accept", "POST"): {"side": "first_party", "accepted_by": "An elder"},
        ("case-tie-declare", "POST"): {"person": bob.pk, "party": second_party.pk, "kind": "business"},
        ("case-tie-accept", "POST"): {"side": "first_party", "accepted_by": "An elder"},
        ("case-transition", "POST"): {"to": "withdrawn", "reason": "Settled privately", "version": case.version},
        ("case-escalate", "POST"): {"direction": "up", "reason": "Threats", "version": case.version},
        ("case-monitor", "POST"): {"monitor": ""},
        ("case-risk-factors", "POST"): {"factors": ["9"]},
        ("case-recurrence-link", "POST"): {"reference": earlier.reference},
        ("case-recurrence-decide", "POST"): {"status": "confirmed"},
        ("case-conflict-review", "POST"): {"confirm": "1"},
        ("screening-decide", "POST"): {"decision": "lawful", "note": "A public apology is lawful."},
        ("session-invite", "POST"): {"name": "Another elder", "role": "elder"},
        ("session-schedule", "POST"): {"scheduled_for": later[:16]},
        ("case-new", "POST"): {"forum": jirga.pk, "title": "Goats"},
        ("login", "POST"): {"username": "alice", "password": "wrong"},
        ("set_language", "POST"): {"language": "ur", "next": "/"},
        ("monitor-check", "POST"): {"case": case.pk, "term": term.pk, "status": "met",
                                    "idempotency_key": str(uuid.uuid4())},
    }  # fmt: skip
    return World(users, kwargs, bodies)


# --- The routes, from the URLconf ------------------------------------------------------------------------------


@dataclass
class Route:
    key: str  # The route's name, or its view's dotted path when it has none.
    pattern: str
    name: str | None
    kwargs: list[str]
    methods: list[str]  # The HTTP methods a class-based view defines (function views: declared in ROUTES).
    is_api: bool


def routes() -> Iterator[Route]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[Route]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue  # test_the_admin_shows_sessions_and_compliance_by_the_same_rules
                if getattr(entry.urlconf_module, "__name__", "") == "rosetta.urls":
                    continue  # tests/config/test_rosetta.py: every one of its routes, for every kind of user
                yield from walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                view_class = getattr(entry.callback, "view_class", None)
                methods = [m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
                view = view_class or entry.callback
                yield Route(
                    key=entry.name or f"{view.__module__}.{view.__qualname__}", pattern=pattern, name=entry.name,
                    kwargs=list(entry.pattern.converters), methods=methods, is_api=pattern.startswith("api/"),
                )  # fmt: skip

    yield from walk(get_resolver(), "")


def url_for(route: Route, world: World) -> str:
    missing = [k for k in route.kwargs if k not in world.kwargs]
    assert not missing, f"route {route.key!r}: the matrix world has no object for {missing}; add one to build_world"
    if route.name:
        return reverse(route.name, kwargs={k: world.kwargs[k] for k in route.kwargs})
    if route.key == "config.errors.api_not_found":
        return "/api/no/such/route/"
    return "/" + route.pattern


# --- The calls ---------------------------------------------------------------------------------------------------


@pytest.fixture
def unthrottled(monkeypatch):
    """Hundreds of calls from one address in a second: the throttles would rightly refuse them."""

    class Unlimited(dict):
        def __missing__(self, key):
            return "1000000/minute"

    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", Unlimited())


class Caller:
    """One identity's two clients, signed in once: a browser (session cookie) and an API client (a token)."""

    def __init__(self, user) -> None:
        # A 500 is an answer to judge, not an exception to stop at.
        self.page = Client(raise_request_exception=False)
        self.api = APIClient(raise_request_exception=False)
        if user is not None:
            self.page.force_login(user)
            self.api.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")

    def call(self, route: Route, method: str, url: str, body) -> Any:
        """One request, in a savepoint rolled back afterwards: every call sees the same world (a logout, a revoked
        token or an ended session included), and the browser keeps its cookie."""
        client: Any = self.api if route.is_api else self.page
        cookies = copy.deepcopy(client.cookies)
        with transaction.atomic():
            if route.is_api:
                kwargs: dict[str, Any] = {"format": "json"} if method != "GET" else {}
                if route.key == "api-case-compliance" and method == "POST":
                    kwargs["HTTP_IDEMPOTENCY_KEY"] = str(uuid.uuid4())
                response = getattr(client, method.lower())(url, body if method != "GET" else None, **kwargs)
            else:
                response = getattr(client, method.lower())(url, body or {})
            transaction.set_rollback(True)
        client.cookies = cookies
        return response


def judge(identity: str, route: Route, method: str, allowed, response) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    where = f"{route.key} {method} as {identity}: {status}"
    if status >= 500:
        return f"{where} (a server error)"
    if allowed == ANY:
        return None
    if allowed == NOT_FOUND:
        return None if status == 404 else f"{where}, expected 404"
    to_login = status == 302 and response.get("Location", "").startswith("/login/")
    refused = status in (401, 403, 404) or (to_login and identity == ANON)
    if identity in allowed:
        return f"{where}, expected to be allowed" if refused else None
    if identity == ANON:
        return None if status in (401, 403) or to_login else f"{where}, expected 401/403 or the login page"
    if status == 400 and (route.key, method) in FORUM_IN_BODY:
        return None
    if status not in (403, 404):
        return f"{where}, expected to be refused (403/404)"
    # A guest attends A's session: it exists for them, and what they may not do in it is a 403.
    outside = OUTSIDE_A - ({GUEST} if "session_id" in route.kwargs else set())
    if status == 403 and identity in outside and any(k.endswith("_id") for k in route.kwargs):
        if route.key not in OWN_OBJECT_ROUTES:
            return f"{where}: forum A's object must not exist for them (404)"
    return None


# Routes whose object is not one of forum A's but the caller's own (a token) or a person (the read log by user), or
# that refuse by the caller's role before looking anything up (the same 403 whether the object exists or not).
OWN_OBJECT_ROUTES = {"api-token-detail", "account-token-revoke", "audit-user", "api-report-task", "audit-case"}
# Routes where the forum is a field of the body: a forum not the caller's is the same 400 as one that does not exist.
FORUM_IN_BODY = {("api-cases", "POST"), ("case-new", "POST")}


def test_every_route_answers_every_identity_as_declared(unthrottled):
    world = build_world()
    problems: list[str] = []
    found = list(routes())
    for key in sorted({r.key for r in found} - set(ROUTES)):
        problems.append(f"{key}: a route with no entry in ROUTES (declare who may call it)")
    for key in sorted(set(ROUTES) - {r.key for r in found}):
        problems.append(f"{key}: named in ROUTES but no longer a route")
    callers = {identity: Caller(world.users.get(identity)) for identity in IDENTITIES}
    for route in found:
        if route.key not in ROUTES:
            continue
        declared = ROUTES[route.key]
        undeclared_methods = sorted(set(route.methods) - set(declared))
        if undeclared_methods:
            problems.append(f"{route.key}: methods {undeclared_methods} have no entry in ROUTES")
        url = url_for(route, world)
        for method, allowed in declared.items():
            body = world.bodies.get((route.key, method), {})
            for identity in IDENTITIES:
                response = callers[identity].call(route, method, url, body)
                if (problem := judge(identity, route, method, allowed, response)) is not None:
                    problems.append(problem)
    if dump := os.environ.get("ACCESS_MATRIX_DUMP"):  # A file to read the whole list from when it is long.
        Path(dump).write_text("\n".join(problems) + "\n")
    assert not problems, "\n".join(problems)


# --- The other doors: the admin, and the pages' controls ---------------------------------------------------------


def test_the_admin_shows_sessions_and_compliance_by_the_same_rules():
    """An administrator works in the Django admin, but it shows them what every other door does: that a session took
    place, not who attended or what was said; a case, not its compliance checks or closing surveys. And they cannot
    add a session there."""
    from cases.models import Case, ComplianceCheck
    from deliberation.models import DialogueSession, Participant

    world = build_world()
    session = DialogueSession.objects.get()
    guest = Participant.objects.get(session=session, user=world.users[GUEST])
    session_services.say(session_id=session.pk, participant_id=guest.pk, body="We accept the apology")
    case = Case.objects.get(pk=world.kwargs["case_id"])
    ComplianceCheck.objects.filter(case=case).update(notes="Seen at the mosque on Friday")
    admin = Client()
    admin.force_login(world.users[ADMIN])

    page = admin.get(f"/admin/deliberation/dialoguesession/{session.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "We accept the apology" not in html
    assert "Guest" not in html
    assert admin.get("/admin/deliberation/dialoguesession/add/").status_code == 403

    page = admin.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert "Seen at the mosque on Friday" not in page.content.decode()


def test_compliance_is_one_rule_on_the_case_page():
    """Who reads the checks sees the conflict; only the forum's facilitator gets the control to mark it reviewed.
    The administrator sees neither (and the API and the page action refuse them: the matrix above)."""
    world = build_world()
    case_id = world.kwargs["case_id"]
    seen = {}
    for identity in (FAC_A, MON_A, LEGAL_A, ADMIN):
        client = Client()
        client.force_login(world.users[identity])
        html = client.get(f"/cases/{case_id}/").content.decode()
        seen[identity] = ('id="conflicts"' in html, f"/conflicts/{world.kwargs['conflict_id']}/review/" in html)
    assert seen == {
        FAC_A: (True, True),
        MON_A: (True, False),
        LEGAL_A: (False, False),
        ADMIN: (False, False),
    }


# Websocket routes (config.routing), by pattern → who may open them. Every other identity is refused at the handshake.
WS_ROUTES: dict[str, frozenset[str] | set[str]] = {
    "ws/me/": SIGNED_IN,
    "ws/sessions/<int:session_id>/": ATTENDEES,
}


@pytest.mark.django_db(transaction=True)
async def test_every_websocket_route_admits_whom_it_declares():
    """The same matrix for the websocket routes: administrators, regulators, legal reviewers, outsiders and other
    forums' facilitators are refused at a session's handshake; a new websocket route needs an entry here."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from config.routing import websocket_urlpatterns

    world = await database_sync_to_async(build_world)()
    patterns = [str(entry.pattern) for entry in websocket_urlpatterns]
    assert sorted(set(patterns) - set(WS_ROUTES)) == [], "websocket routes with no entry in WS_ROUTES"

    @database_sync_to_async
    def token_for(user) -> str:
        return account_services.token_issue(user=user).key

    problems = []
    for pattern in patterns:
        path = "/" + pattern.replace("<int:session_id>", str(world.kwargs["session_id"]))
        for identity in IDENTITIES:
            headers = [(b"origin", b"http://127.0.0.1:8000")]
            if (user := world.users.get(identity)) is not None:
                headers.append((b"authorization", f"Token {await token_for(user)}".encode()))
            communicator = WebsocketCommunicator(application, path, headers=headers)
            connected, _code = await communicator.connect(timeout=5)
            await communicator.disconnect()
            if connected != (identity in WS_ROUTES[pattern]):
                problems.append(f"{pattern} as {identity}: {'admitted' if connected else 'refused'}")
    assert not problems, "\n".join(problems)
