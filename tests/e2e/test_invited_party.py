"""The invited party's journey on a 390 px phone in Pashto (issue 18): the facilitator makes the one-time link
inside the room and has its QR code, Copy and Share at hand; the party opens it, reads which forum, when, who
invited them and under what name, joins, waits for the facilitator, speaks once the session starts and answers
a proposal with a plain-words button. Screenshots go to tests/e2e/artifacts/ for CI to keep."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from cases import services as case_services
from deliberation import services
from tests.e2e.conftest import fits_the_screen, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
TERM = "The Gul family repairs the irrigation channel before the spring sowing."
PARTY = "د خان کورنۍ استازی"  # "The Khan family's representative", as the facilitator types it in Pashto.


def keep(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"invited-party-{name}.png"), full_page=True)


def room_strings(page) -> dict:
    return json.loads(page.locator("#room-strings").text_content())


@pytest.fixture
def session(people):
    """A session scheduled for later today, made before the browser starts (ORM calls belong before
    Playwright's loop)."""
    people.alice.first_name, people.alice.last_name = "Alice", "Yusufzai"
    people.alice.save()
    case = case_services.case_open(
        user=people.alice, forum=people.jirga, title="Water channel between the Khan and Gul families",
        dispute_type="water", risk_level="medium", offence_class="compoundable",
        parties=[{"name": "Khan family", "kind": "family", "role": "first_party"},
                 {"name": "Gul family", "kind": "family", "role": "second_party"}],
    )  # fmt: skip
    when = dt.datetime(2026, 12, 14, 9, 30, tzinfo=dt.UTC)
    return services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=when)


def test_an_invited_party_joins_waits_speaks_and_answers_in_plain_words(people, session, live, browser):
    host = urlsplit(live.url).hostname
    with translation.override("ps"):
        in_pashto = formats.date_format(timezone.localtime(session.scheduled_for), "DATETIME_FORMAT")
    facilitator = browser.new_context(**PHONE)
    facilitator.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    alice = facilitator.new_page()
    refused: list[str] = []  # What the Content-Security-Policy refused on either phone: nothing.
    alice.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    log_in(alice, live.url, "alice")
    room = f"{live.url}/sessions/{session.pk}/"
    alice.goto(room)
    expect(alice.locator("#connection")).to_have_attribute("data-state", "open")

    # Inside the room, without leaving it: the link whole, Copy, Share where the phone has it, WhatsApp, SMS, QR.
    alice.click("#invite-panel summary")
    alice.fill("#id_name", PARTY)
    alice.select_option("#id_role", "party")
    alice.click("#invite-form button[type=submit]")
    expect(alice.locator("#invitation-qr svg")).to_be_visible()
    assert alice.url == room
    link = alice.input_value("#invitation-link")
    assert re.fullmatch(rf"{re.escape(live.url)}/join/[\w-]+/", link), link
    box = alice.locator("#invitation-link")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth + 1")  # Wrapped, nothing cut off.
    expect(alice.locator("#invite-copy")).to_be_visible()
    alice.click("#invite-copy")
    expect(alice.locator("#invite-copied")).not_to_be_empty()
    assert alice.evaluate("navigator.clipboard.readText()") == link
    # Share opens the phone's share sheet where the browser has one (not headless Chromium on Linux).
    share = alice.locator("#invite-share")
    if alice.evaluate("typeof navigator.share === 'function'"):
        expect(share).to_be_visible()
    else:
        expect(share).to_be_hidden()
    whatsapp = alice.get_attribute("#invite-whatsapp", "href")
    assert whatsapp.startswith("https://wa.me/?text=")
    assert "Swat%20Jirga" in whatsapp
    assert alice.get_attribute("#invite-sms", "href").startswith("sms:?&body=")
    assert fits_the_screen(alice)
    keep(alice, "1-facilitator-invites")

    # The party's phone, in Pashto: the page says which forum, when, who invited them, under what name.
    party_device = browser.new_context(**PHONE)
    party_device.add_cookies([{"name": "django_language", "value": "ps", "domain": host, "path": "/"}])
    party = party_device.new_page()
    party.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    party.goto(link)
    expect(party.locator("html")).to_have_attribute("lang", "ps")
    expect(party.locator("html")).to_have_attribute("dir", "rtl")
    expect(party.locator("#join-forum")).to_have_text("Swat Jirga")
    expect(party.locator("#join-inviter")).to_have_text("Alice Yusufzai")
    expect(party.locator("#join-name")).to_contain_text(PARTY)
    when = party.locator("#join-time time")
    expect(when).to_have_attribute("datetime", "2026-12-14T09:30:00+00:00")
    expect(when).to_have_text(in_pashto)  # Django's Pashto format, as every date the party reads.
    assert fits_the_screen(party)
    keep(party, "2-join-page")
    with party.expect_navigation():
        party.click("#join")
    assert re.search(r"/sessions/\d+/$", party.url), party.url
    expect(party.locator("#connection")).to_have_attribute("data-state", "open")

    # Waiting, with words saying so, and no link the guest cannot follow.
    expect(party.locator("#waiting")).to_be_visible()
    expect(party.locator("#say-button")).to_be_disabled()
    expect(party.locator(f"a[href='/cases/{session.case_id}/']")).to_have_count(0)
    for href in party.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))"):
        assert party.request.get(f"{live.url}{href}").status == 200, href
    assert fits_the_screen(party)
    keep(party, "3-waiting")

    # The facilitator reloads the room twice before anyone speaks: the party's transcript shows one line for it.
    for _ in range(2):
        alice.reload()
        expect(alice.locator("#connection")).to_have_attribute("data-state", "open")
    # (Each event keeps its own line, hidden: clients and tests still find every seq.)
    expect(party.locator("#transcript li[data-kind=left]")).not_to_have_count(0)
    expect(
        party.locator("#transcript li[data-kind=joined]:visible, #transcript li[data-kind=left]:visible")
    ).to_have_count(0)
    expect(party.locator("#transcript li.presence-summary")).to_have_count(1)
    expect(party.locator("#transcript li.presence-summary")).to_contain_text("Alice Yusufzai")
    expect(party.locator("#transcript li.presence-summary")).to_contain_text(PARTY)

    # The facilitator starts; the waiting line goes away by itself and the party speaks.
    with alice.expect_navigation():
        alice.click("#start-session")
    expect(party.locator("#waiting")).to_be_hidden()
    expect(party.locator("#say-button")).to_be_enabled()
    party.fill("#say-text", "د خان کورنۍ غواړي چې اوبه په ورځو ووېشل شي.")
    party.click("#say-button")
    expect(alice.locator("#transcript li[data-kind=said]", has_text="اوبه په ورځو")).to_have_count(1)

    # A proposal, answered with the plain words (the formal term as help beneath them).
    alice.fill("#proposal-text", TERM)
    alice.click("#propose-button")
    proposal = party.locator("#proposals .proposal", has_text=TERM)
    expect(proposal).to_have_count(1)
    strings = room_strings(party)
    agree = proposal.locator("button[data-stance=agree]")
    expect(agree.locator(".stance-words")).to_have_text(strings["agree"])
    expect(agree).to_have_attribute("title", strings["term_agree"])
    expect(proposal.locator("button[data-stance=stand_aside] .stance-words")).to_have_text(strings["stand_aside"])
    expect(proposal.locator("button[data-stance=block] .stance-words")).to_have_text(strings["block"])
    assert fits_the_screen(party)
    keep(party, "4-proposal")
    agree.click()
    for page in (alice, party):
        expect(page.locator("#transcript li[data-kind=proposal_decided]")).to_have_class(re.compile("outcome-accepted"))
    expect(party.locator("#transcript li[data-kind=responded]")).to_have_text(
        re.compile(re.escape(strings["ev_agree"].replace("%(name)s", PARTY)))
    )
    keep(party, "5-agreed")
    keep(alice, "6-facilitator-room")
    assert not refused, refused
    facilitator.close()
    party_device.close()
