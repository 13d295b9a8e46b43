"""The monitor's "Checks due" page without JavaScript: what is due, every term of the agreements a monitor
follows, and one form per term that records a check once, however often it is sent."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.models import Case, ComplianceCheck, DueItem, Term
from tests.cases.final_cases import case_with_final_agreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def jirga_case(world):
    """A jirga case with a final agreement, its first instalment a week overdue, every term due for a check
    within the week (the forum checks every 5 days) and its truce ending in three days."""
    world.jirga.check_every_days = 5
    world.jirga.save(update_fields=["check_every_days"])
    case = case_with_final_agreement(user=world.alice, forum=world.jirga)
    Case.objects.filter(pk=case.pk).update(truce_expires=timezone.localdate() + timedelta(days=3))
    services.due_items_refresh()
    return case


def term_of(case, kind: str) -> Term:
    return Term.objects.get(agreement__case=case, kind=kind)


def form_fields(html: str, term: Term) -> dict:
    """The hidden fields of the term's form, as the page drew them."""
    section = html[html.index(f'id="term-{term.pk}"') :]
    section = section[: section.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', section))


def test_it_lists_what_is_due_and_every_term_for_a_monitor(client, world, jirga_case):
    client.force_login(world.bob)
    response = client.get("/monitor/")
    assert response.status_code == 200
    html = response.content.decode()

    overdue = html[html.index('id="due-overdue"') :]
    overdue = overdue[: overdue.index("</ul>")]
    assert jirga_case.reference in overdue
    assert "Instalment 1: 10,000 PKR" in overdue
    week = html[html.index('id="due-week"') :]
    week = week[: week.index("</ul>")]
    for kind in ("Apology", "Compensation", "Truce"):
        assert f"Check the {kind} term by" in week
    truces = html[html.index('id="due-truces"') :]
    assert "<bdi>Water dispute over the irrigation channel</bdi>: the truce ends" in truces  # the title isolated

    # Each term with its latest status, and a form: four statuses, a payment only for compensation.
    assert html.count('class="check-form"') == 3
    assert html.count("not checked yet") == 3
    assert "Paid 0 of 25,000 PKR" in html
    for term in Term.objects.filter(agreement__case=jirga_case):
        assert f'id="term-{term.pk}"' in html
        assert term.description in html
        for status in ("met", "partly_met", "not_met", "breached"):
            assert f'id="status-{term.pk}-{status}"' in html
        assert (f'name="paid" id="paid-{term.pk}"' in html) == (term.kind == "compensation")
    assert 'src="/static/js/monitor.js"' in html
    assert 'id="monitor-strings"' in html


def test_it_shows_the_latest_status_and_what_was_paid(client, world, jirga_case):
    compensation = term_of(jirga_case, "compensation")
    for status, paid in (("not_met", None), ("partly_met", Decimal("12000"))):
        services.compliance_record(
            user=world.bob,
            case_id=jirga_case.pk,
            term_id=compensation.pk,
            status=status,
            idempotency_key=uuid.uuid4(),
            paid=paid,
        )
    client.force_login(world.bob)
    html = client.get("/monitor/").content.decode()
    term = html[html.index(f'id="term-{compensation.pk}"') :]
    assert "data-latest>Partly met</span>" in term
    assert "Paid 12,000 of 25,000 PKR" in term
    assert re.search(r'instalment-paid">\s*Instalment 1', term)
    assert re.search(r'instalment-partly_paid">\s*Instalment 2', term)
    # The first instalment is paid: it is no longer overdue.
    assert 'id="due-overdue"' not in html


def test_it_refuses_people_who_follow_no_agreement(client, world, jirga_case):
    for who in (world.carol, world.dave, world.eve):
        client.force_login(who)
        page = client.get("/monitor/")
        assert page.status_code == 403
        assert "This page is for the forums&#x27; monitors and facilitators." in page.content.decode()
        assert jirga_case.reference not in page.content.decode()
        post = client.post("/monitor/checks/", {"case": jirga_case.pk})
        assert post.status_code == 403
    assert ComplianceCheck.objects.count() == 0


def test_it_needs_a_login(client):
    response = client.get("/monitor/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_facilitator_of_another_forum_sees_none_of_the_jirga(client, world, jirga_case):
    client.force_login(world.frank)
    response = client.get("/monitor/")
    assert response.status_code == 200
    assert jirga_case.reference not in response.content.decode()
    assert 'id="no-agreements"' in response.content.decode()


def test_a_check_posted_twice_is_stored_once(client, world, jirga_case):
    apology = term_of(jirga_case, "apology")
    client.force_login(world.bob)
    fields = form_fields(client.get("/monitor/").content.decode(), apology)
    assert set(fields) == {"csrfmiddlewaretoken", "case", "term", "idempotency_key"}
    post = {**fields, "status": "met", "notes": "Apology given at Friday prayers."}

    first = client.post("/monitor/checks/", post)
    assert first.status_code == 302
    assert first["Location"] == f"/monitor/#term-{apology.pk}"
    page = client.get(first["Location"]).content.decode()
    assert f"Check recorded: {jirga_case.reference}, Apology — Met." in page

    again = client.post("/monitor/checks/", post, follow=True)
    assert again.status_code == 200
    assert "This check was already recorded; nothing was added." in again.content.decode()

    check = ComplianceCheck.objects.get()
    assert (check.term_id, check.status, check.recorded_by) == (apology.pk, "met", world.bob)
    assert check.notes == "Apology given at Friday prayers."
    assert str(check.idempotency_key) == fields["idempotency_key"]
    # The visit answers the term's "check due".
    assert not DueItem.objects.filter(subject=f"term:{apology.pk}", resolved_at__isnull=True).exists()


def test_a_payment_is_recorded_against_the_compensation_term(client, world, jirga_case):
    compensation = term_of(jirga_case, "compensation")
    client.force_login(world.bob)
    fields = form_fields(client.get("/monitor/").content.decode(), compensation)
    response = client.post("/monitor/checks/", {**fields, "status": "partly_met", "paid": "10000"}, follow=True)
    assert response.status_code == 200
    assert ComplianceCheck.objects.get().paid == 10000
    html = response.content.decode()
    assert "Paid 10,000 of 25,000 PKR" in html
    assert 'id="due-overdue"' not in html


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"status": ""}, 400, "Choose what you saw: met, partly met, not met or breached."),
        ({"paid": "-5"}, 400, "Ensure this value is greater than or equal to 0."),
        ({"term": "apology", "paid": "100"}, 400, "Payments are recorded against a compensation term."),
        ({"term": "nonexistent"}, 400, "No such term in this case&#x27;s agreement."),
        ({"idempotency_key": "reused"}, 409, "This idempotency key was already used for another check."),
        ({"case": "draft"}, 422, "Compliance is checked once the agreement is final."),
    ],
)
def test_a_refusal_shows_its_message_with_its_status(client, world, jirga_case, change, status, message):
    apology = term_of(jirga_case, "apology")
    post = {"case": jirga_case.pk, "term": apology.pk, "idempotency_key": str(uuid.uuid4()), "status": "met"}
    post.update(change)
    if change.get("term") == "apology":
        post["term"] = apology.pk
    elif change.get("term") == "nonexistent":
        post["term"] = 999999
    if change.get("idempotency_key") == "reused":
        key = uuid.uuid4()
        services.compliance_record(
            user=world.bob, case_id=jirga_case.pk, term_id=apology.pk, status="breached", idempotency_key=key
        )
        post["idempotency_key"] = str(key)
    if change.get("case") == "draft":
        draft = services.case_open(
            user=world.alice,
            forum=world.jirga,
            title="A draft",
            dispute_type="land",
            risk_level="low",
            offence_class="civil",
            parties=[
                {"name": "A", "kind": "person", "role": "first_party"},
                {"name": "B", "kind": "person", "role": "second_party"},
            ],
        )
        post["case"] = draft.pk
    before = ComplianceCheck.objects.count()
    client.force_login(world.bob)

    response = client.post("/monitor/checks/", post)

    assert response.status_code == status
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert ComplianceCheck.objects.count() == before
    # The page comes back whole, with a fresh form for every term.
    assert html.count('class="check-form"') == 3


def test_a_case_outside_the_monitors_forums_is_not_found(client, world, jirga_case):
    sulha = case_with_final_agreement(user=world.alice, forum=world.sulha)
    term = Term.objects.filter(agreement__case=sulha).first()
    client.force_login(world.bob)
    post = {"case": sulha.pk, "term": term.pk, "idempotency_key": str(uuid.uuid4()), "status": "met"}
    assert client.post("/monitor/checks/", post).status_code == 404
    assert not ComplianceCheck.objects.exists()


def test_the_page_costs_the_same_queries_for_one_case_or_five(client, world, django_assert_max_num_queries):
    world.jirga.check_every_days = 5
    world.jirga.save(update_fields=["check_every_days"])
    first = case_with_final_agreement(user=world.alice, forum=world.jirga)
    services.compliance_record(
        user=world.bob,
        case_id=first.pk,
        term_id=term_of(first, "apology").pk,
        status="met",
        idempotency_key=uuid.uuid4(),
    )
    services.due_items_refresh()
    client.force_login(world.bob)
    client.get("/monitor/")  # The session and its user, loaded once.
    with CaptureQueriesContext(connection) as one:
        assert client.get("/monitor/").status_code == 200

    for n in range(4):
        case_with_final_agreement(user=world.alice, forum=world.jirga, title=f"Boundary wall {n}")
    services.due_items_refresh()
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get("/monitor/")
    assert response.content.decode().count('class="card monitor-case"') == 5


def test_the_home_page_counts_what_is_due_and_links_to_the_page(client, world, jirga_case):
    client.force_login(world.bob)
    html = client.get("/").content.decode()
    due = DueItem.objects.filter(resolved_at__isnull=True).count()
    assert due == 5  # One overdue instalment, three terms due for a check, one truce.
    assert f"{due} items are due this week or overdue." in html
    assert 'href="/monitor/"' in html


def test_the_home_page_says_when_nothing_is_due(client, world):
    client.force_login(world.bob)
    html = client.get("/").content.decode()
    assert "No compliance checks are due." in html


def test_the_page_reads_right_to_left_in_urdu(client, world, jirga_case):
    client.force_login(world.bob)
    client.cookies["django_language"] = "ur"
    html = client.get("/monitor/").content.decode()
    assert '<html lang="ur" dir="rtl">' in html


def test_the_service_worker_comes_from_this_server_and_is_never_cached(client):
    response = client.get("/monitor/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/monitor/"
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]
    script = response.content.decode()
    assert "importScripts(CONFIG.workbox)" in script
    assert "storage.googleapis.com" not in script
    assert "&quot;" not in script
    config = json.loads(re.search(r"const CONFIG = (\{.*\});", script).group(1))
    assert config["page"] == "/monitor/"
    assert config["dueApi"] == "/api/monitor/due/"
    # Every file it imports or precaches is one of ours.
    for url in [config["workbox"], *config["modules"].values(), *config["precache"]]:
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")), url


def test_the_service_worker_keeps_every_module_the_monitor_page_imports():
    """The monitor page works offline only if the service worker precached every ES module it imports, however
    deep: follow the imports from static/js/monitor.js and compare with MONITOR_PRECACHE."""
    import posixpath
    import re
    from pathlib import Path

    from django.conf import settings

    from cases.views.monitor import MONITOR_PRECACHE

    static = Path(settings.BASE_DIR) / "static"
    seen: set[str] = set()
    todo = ["js/monitor.js"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            text = (static / name).read_text(encoding="utf-8")
            for target in re.findall(r"""\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']""", text):
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), target[0] or target[1])))
    assert {"js/monitor.js", "js/common.js", "vendor/idb-keyval/index.js"} <= seen
    assert seen <= set(MONITOR_PRECACHE), seen - set(MONITOR_PRECACHE)
