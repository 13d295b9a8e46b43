"""A field monitor records compliance checks from a phone without signal: the page opens offline (service
worker), the checks wait in the phone's outbox (IndexedDB) and are uploaded once, when the signal returns."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from playwright.sync_api import expect

from cases import services
from cases.models import Case, ComplianceCheck, Term
from tests.cases.final_cases import case_with_final_agreement
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Uploads are retried on the browser's "online" event; the 30-second timer is the fallback.
BACK_ONLINE_MS = 40000


@dataclass
class Monitored:
    reference: str
    apology: int
    compensation: int


@pytest.fixture
def monitored(people) -> Monitored:
    """A jirga case with a final agreement that bob monitors, its terms due for a check this week. Ask for it
    before the browser: see `people`."""
    people.jirga.check_every_days = 5
    people.jirga.save(update_fields=["check_every_days"])
    case = case_with_final_agreement(user=people.alice, forum=people.jirga)
    Case.objects.filter(pk=case.pk).update(truce_expires=case.opened_at.date() + timedelta(days=3))
    services.due_items_refresh()
    terms = dict(Term.objects.filter(agreement__case=case).values_list("kind", "pk"))
    return Monitored(case.reference, terms["apology"], terms["compensation"])


def stored_checks() -> list[ComplianceCheck]:
    """What the server stored, read on a thread and connection of its own that is closed afterwards: once
    Playwright's loop runs, a query from the test itself would open a connection that nobody closes."""

    def read():
        try:
            return list(ComplianceCheck.objects.order_by("id"))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def open_monitor_page(page, base_url: str) -> None:
    """Bob's page, once the service worker controls it (it claims open pages as soon as it is active)."""
    log_in(page, base_url, "bob")
    page.goto(f"{base_url}/monitor/")
    expect(page.locator("h1")).to_have_text("Checks due")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)") == "activated"
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")


def no_signal(phone, lost: bool) -> None:
    """The phone loses (or finds) its signal. Besides the browser's offline mode, the uploads are cut off at
    the context: some Chromium builds let a page's request through while offline when a service worker
    controls the page and leaves that request to the network."""
    phone.set_offline(lost)
    if lost:
        phone.route("**/api/**", _cut_off_uploads)
    else:
        phone.unroute("**/api/**", _cut_off_uploads)


def _cut_off_uploads(route) -> None:
    if route.request.method == "GET":
        route.fallback()
    else:
        route.abort("internetdisconnected")


def record(page, term_id: int, status: str, notes: str = "") -> None:
    row = page.locator(f"#term-{term_id}")
    if row.locator("details.check-box").get_attribute("open") is None:
        row.locator("details.check-box summary").click()
    row.locator(f"label[for=status-{term_id}-{status}]").click()
    if notes:
        row.locator("textarea[name=notes]").fill(notes)
    row.locator("button[type=submit]").click()


def test_a_check_recorded_offline_is_uploaded_once_when_the_signal_returns(people, monitored, live, phone):
    apology = monitored.apology
    page = phone.new_page()
    open_monitor_page(page, live.url)
    expect(page.locator("#due-week")).to_contain_text(f"{monitored.reference} Check the Apology term by")
    expect(page.locator("#outbox")).to_be_hidden()

    # In a village without signal.
    offline_since = datetime.now(UTC)
    no_signal(phone, True)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    record(page, apology, "partly_met", "Apology promised for Friday prayers.")
    expect(page.locator("#outbox-heading")).to_have_text("Waiting to upload (1)")
    waiting = page.locator("#outbox-list .outbox-item")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(f"{monitored.reference} · Apology: Partly met")
    expect(page.locator(f"#term-{apology} [data-form-notice]")).to_be_visible()
    assert fits_the_screen(page)
    shot(page, "monitor-offline")
    assert stored_checks() == []

    # The phone is put away and the page opened again, still offline: the service worker serves the page,
    # the outbox still holds the check.
    response = page.reload()
    assert response.from_service_worker
    expect(page.locator("h1")).to_have_text("Checks due")
    expect(page.locator(f"#term-{apology}")).to_be_visible()
    # The copy kept by the service worker, not a page drawn now.
    assert datetime.fromisoformat(page.get_attribute("#monitor", "data-rendered")) < offline_since
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    expect(page.locator("#outbox-heading")).to_have_text("Waiting to upload (1)")
    expect(waiting).to_contain_text("Apology: Partly met")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 245)"  # The CSS too.
    assert stored_checks() == []

    # The signal returns: the check is uploaded, once, and the page says so.
    no_signal(phone, False)
    expect(page.locator("#outbox")).to_be_hidden(timeout=BACK_ONLINE_MS)
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    stored = page.locator("#uploaded-list .outbox-stored")
    expect(stored).to_have_count(1)
    expect(stored).to_contain_text(f"{monitored.reference} · Apology: Partly met")
    expect(stored).to_contain_text("Stored")
    expect(page.locator(f"#term-{apology} [data-latest]")).to_have_text("Partly met")
    expect(page.locator(f".due-item[data-kind=check_due][data-term='{apology}'] [data-done]")).to_be_visible()
    [check] = stored_checks()
    assert (check.term_id, check.status, check.recorded_by_id) == (apology, "partly_met", people.bob.pk)
    assert check.notes == "Apology promised for Friday prayers."
    assert check.observed_at < check.recorded_at  # Observed when recorded offline, not when uploaded.

    # Online again, the page from the server shows it too, and nothing is left to upload.
    page.reload()
    expect(page.locator(f"#term-{apology} [data-latest]")).to_have_text("Partly met")
    expect(page.locator("#outbox")).to_be_hidden()
    page.wait_for_timeout(500)
    assert len(stored_checks()) == 1


def test_a_refused_check_stays_with_the_reason_until_discarded(monitored, live, phone):
    compensation = monitored.compensation
    page = phone.new_page()
    open_monitor_page(page, live.url)
    row = page.locator(f"#term-{compensation}")
    row.locator("details.check-box summary").click()
    row.locator(f"label[for=status-{compensation}-met]").click()
    # A negative payment gets past the browser (as an old phone's would) and the server refuses it.
    page.evaluate(
        """(id) => {
          const form = document.querySelector(`#term-${id} form.check-form`);
          form.querySelector("[name=paid]").value = "-5";
          form.dispatchEvent(new Event("submit", {bubbles: true, cancelable: true}));
        }""",
        compensation,
    )
    failed = page.locator("#outbox-list .outbox-failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".outbox-reason")).to_contain_text("Ensure this value is greater than or equal to 0.")
    # A refusal is not retried: it waits for the monitor to look at it.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(500)
    expect(failed).to_have_count(1)
    failed.locator("button.discard-button").click()
    expect(page.locator("#outbox")).to_be_hidden()
    page.reload()
    expect(page.locator("#outbox")).to_be_hidden()
    assert stored_checks() == []


def test_the_page_reads_right_to_left_on_a_phone(monitored, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "bob")
    with page.expect_navigation():
        page.select_option("#language", "ur")
    page.goto(f"{live.url}/monitor/")
    assert page.get_attribute("html", "dir") == "rtl"
    for summary in page.locator("details.check-box summary").all():
        summary.click()
    compensation = monitored.compensation
    page.locator(f"label[for=status-{compensation}-breached]").click()
    assert fits_the_screen(page)
    # The forms start at the right edge.
    box = page.locator(f"#term-{compensation} .status-choice").first.bounding_box()
    assert box["x"] + box["width"] > 390 - 60
    shot(page, "monitor-ur")


def test_logging_out_forgets_the_pages_kept_for_offline_use(monitored, live, phone):
    """A shared phone: after bob logs out, the copy of his page (it holds cases) is gone from the service
    worker's caches; the static files stay."""
    page = phone.new_page()
    open_monitor_page(page, live.url)

    def kept(prefix: str) -> int:
        # page.evaluate awaits the promise (wait_for_function would only see a Promise object).
        return page.evaluate(f"caches.keys().then(names => names.filter(n => n.startsWith('{prefix}')).length)")

    page.reload()  # The service worker controls this load and keeps the page.
    for _ in range(40):
        if kept("sulh-monitor-pages-"):
            break
        page.wait_for_timeout(250)
    assert kept("sulh-monitor-pages-") == 1
    page.locator("form[action='/logout/'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Log in")
    for _ in range(40):
        if not kept("sulh-monitor-pages-"):
            break
        page.wait_for_timeout(250)
    assert kept("sulh-monitor-pages-") == 0
    assert kept("sulh-monitor-static-") == 1


# --- The upgrade from the hand-written IndexedDB outbox -------------------------------------------------

SEED = """async ([entries]) => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("sulh-monitor", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("outbox", { keyPath: "key" });
    r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    for (const e of entries) tx.objectStore("outbox").put(e);
    tx.oncomplete = resolve; tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""

LEGACY_LEFT = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("sulh-monitor");
  r.onsuccess = () => { const db = r.result; const tx = db.transaction("outbox"); const q = tx.objectStore("outbox").getAll();
    q.onsuccess = () => { db.close(); resolve(q.result.map(e => e.key)); }; };
  r.onerror = () => reject(r.error);
})"""

NEW_STORE = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("sulh-monitor-outbox");
  r.onsuccess = () => { const db = r.result; const tx = db.transaction("outbox"); const q = tx.objectStore("outbox").getAll();
    q.onsuccess = () => { db.close(); resolve(q.result); }; };
  r.onerror = () => reject(r.error);
})"""


def test_checks_waiting_in_the_old_outbox_survive_the_upgrade(people, monitored, live, phone):
    """Checks a monitor recorded offline with the old page (IndexedDB "sulh-monitor", store "outbox") are moved
    to the new outbox at the next load: the waiting one uploaded once with its own key and time, the refused one
    kept with its reason, another user's kept and not uploaded; the page's modules load without an error."""
    page = phone.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            problems.append((m.text, m.location))
            if m.type in ("error", "warning") and "favicon" not in m.location.get("url", "")
            else None
        ),
    )
    open_monitor_page(page, live.url)
    # Opening the page did not create the old database.
    names = page.evaluate("indexedDB.databases().then(d => d.map(x => x.name))")
    assert "sulh-monitor" not in names, names
    assert "sulh-monitor-outbox" in names
    api = page.get_attribute(f"#term-{monitored.apology} form.check-form", "data-api")
    case_id = page.get_attribute(f"#term-{monitored.apology} form.check-form", "data-case")
    bob = page.get_attribute("#monitor", "data-user")

    def entry(key, user, state="waiting", error="", created=1):
        return {
            "key": key,
            "user": user,
            "url": api,
            "caseId": case_id,
            "caseRef": monitored.reference,
            "term": monitored.apology,
            "termLabel": "Apology",
            "status": "met",
            "notes": "old outbox",
            "paid": None,
            "observedAt": "2026-01-02T03:04:05.000Z",
            "createdAt": created,
            "state": state,
            "error": error,
        }

    waiting, failed, others = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    page.goto(f"{live.url}/")  # A page of the same origin without the monitor's script.
    page.evaluate(
        SEED, [[entry(waiting, bob), entry(failed, bob, "failed", "Refused before.", 2), entry(others, "99999")]]
    )
    page.goto(f"{live.url}/monitor/")
    stored = page.locator("#uploaded-list .outbox-stored")
    expect(stored).to_have_count(1, timeout=20000)
    expect(stored).to_contain_text("Apology: Met")
    failed_item = page.locator("#outbox-list .outbox-failed")
    expect(failed_item).to_have_count(1)
    expect(failed_item).to_contain_text("Refused before.")
    [check] = stored_checks()
    assert str(check.idempotency_key) == waiting
    assert check.observed_at.isoformat().startswith("2026-01-02T03:04:05")
    assert page.evaluate(LEGACY_LEFT) == []
    kept = {e["key"]: e for e in page.evaluate(NEW_STORE)}
    assert set(kept) == {failed, others}, kept  # Another monitor's check stays on the phone, not uploaded.
    # Loading again uploads nothing twice and the refused check is still there.
    page.reload()
    expect(page.locator("#outbox-list .outbox-failed")).to_have_count(1)
    page.wait_for_timeout(500)
    assert len(stored_checks()) == 1
    assert problems == [], problems


def test_a_stored_check_says_so_and_the_paid_total_updates_without_a_reload(monitored, live, phone):
    compensation = monitored.compensation
    page = phone.new_page()
    open_monitor_page(page, live.url)
    row = page.locator(f"#term-{compensation}")
    expect(row.locator(".term-paid")).to_contain_text("Paid 0 of 25,000 PKR")
    expect(row.locator(".instalment").first).to_contain_text("Overdue")
    rendered = page.get_attribute("#monitor", "data-rendered")

    row.locator("details.check-box summary").click()
    row.locator(f"label[for=status-{compensation}-partly_met]").click()
    row.locator("[name=paid]").fill("10000")
    row.locator("button[type=submit]").click()

    # Stored, and the notice says that, not that it will be uploaded some day.
    notice = row.locator("[data-form-notice]")
    expect(notice).to_have_text("Stored on the server.")
    expect(notice).not_to_contain_text("uploaded as soon as")
    expect(page.locator("#uploaded-list .outbox-stored")).to_contain_text("paid 10000")
    # The total and the first instalment as the server now counts them, on the same page (not reloaded).
    expect(row.locator(".term-paid")).to_contain_text("Paid 10,000 of 25,000 PKR")
    expect(row.locator(".instalment").first).to_contain_text("Paid")
    assert page.get_attribute("#monitor", "data-rendered") == rendered
    [check] = stored_checks()
    assert str(check.paid) == "10000.00"
    assert fits_the_screen(page)
    shot(page, "monitor-stored-paid")
