"""The live room of a dialogue session in two browsers: a facilitator and a party representative invited with a
one-time link hold a session; the room survives its socket being closed under it; it fits a phone, also in
Arabic (right to left)."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services as case_services
from deliberation import services
from deliberation.models import Participant
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]
TERM = "The Gul family repairs the irrigation channel before the spring sowing."
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def _open_case(people):
    return case_services.case_open(
        user=people.alice, forum=people.jirga, title="Water channel between the Khan and Gul families",
        dispute_type="water", risk_level="medium", offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip


@pytest.fixture
def case(people):
    return _open_case(people)


@pytest.fixture
def live_session(people):
    """A live session with a one-time link for the Khan family's representative, made before the browser
    starts (ORM calls belong before Playwright's loop)."""
    case = _open_case(people)
    session = services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=people.alice, session_id=session.pk)
    _invitation, token = services.invitation_create(
        user=people.alice, session_id=session.pk, display_name="Khan family's representative"
    )
    return session, token


def room_url(base: str, session_id: int) -> str:
    return f"{base}/sessions/{session_id}/"


def is_open(page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")


def join(page, link: str) -> None:
    """The party opens the link (which uses nothing up) and joins with the button."""
    page.goto(link)
    with page.expect_navigation():
        page.click("#join")
    assert re.search(r"/sessions/\d+/$", page.url), page.url
    is_open(page)


def say(page, text: str) -> None:
    page.fill("#say-text", text)
    page.click("#say-button")


def said_line(page, text: str):
    return page.locator("#transcript li[data-kind=said]", has=page.locator(".body", has_text=text))


def shown(page) -> list[tuple[int, str]]:
    """What a page's transcript shows: (seq, kind) of every event line, top to bottom."""
    return [
        (int(seq), kind)
        for seq, kind in page.eval_on_selector_all(
            "#transcript li[data-seq]", "lines => lines.map(l => [l.dataset.seq, l.dataset.kind])"
        )
    ]


def said_shown(page) -> list[tuple[int, str]]:
    return [
        (int(seq), body)
        for seq, body in page.eval_on_selector_all(
            "#transcript li[data-kind=said]",
            "lines => lines.map(l => [l.dataset.seq, l.querySelector('.body').textContent])",
        )
    ]


def transcript(page, session_id: int) -> list[dict]:
    response = page.request.get(f"{page.url.split('/sessions/')[0]}/api/sessions/{session_id}/transcript/")
    assert response.ok, response.text()
    return response.json()


def same_as_the_transcript(pages, session_id: int) -> list[dict]:
    """Every page shows the stored transcript's events, in its order, each once."""
    events = transcript(pages[0], session_id)
    last = events[-1]["seq"]
    for page in pages:
        expect(page.locator(f"#transcript li[data-seq='{last}']")).to_have_count(1)
    events = transcript(pages[0], session_id)  # Nothing more happened meanwhile.
    assert events[-1]["seq"] == last
    assert [e["seq"] for e in events] == list(range(1, last + 1))
    for page in pages:
        assert shown(page) == [(e["seq"], e["kind"]) for e in events]
        assert said_shown(page) == [(e["seq"], e["data"]["body"]) for e in events if e["kind"] == "said"]
    return events


def test_a_facilitator_and_an_invited_party_hold_a_session(people, case, live, browser):
    facilitator, party_device = browser.new_context(), browser.new_context()
    alice = facilitator.new_page()
    log_in(alice, live.url, "alice")

    # The case page schedules the session and lists it.
    alice.goto(f"{live.url}/cases/{case.pk}/")
    expect(alice.locator("#sessions")).to_contain_text("No sessions yet.")
    alice.fill("#session-scheduled-for", "2026-12-01T09:00")
    with alice.expect_navigation():
        alice.click("#session-schedule button[type=submit]")
    session_id = int(re.search(r"/sessions/(\d+)/$", alice.url).group(1))
    room = alice.url
    is_open(alice)
    expect(alice.locator("#session-status")).to_have_attribute("data-status", "scheduled")
    expect(alice.locator("#start-session")).to_be_visible()
    expect(alice.locator("#end-session")).to_be_hidden()
    expect(alice.locator("#lower-hand")).to_be_hidden()
    expect(alice.locator("#room-error")).to_be_hidden()

    # A one-time link for the party, made inside the room (without leaving it), opened in another browser.
    alice.click("#invite-panel summary")
    alice.fill("#id_name", "Khan family's representative")
    alice.select_option("#id_role", "party")
    alice.click("#invite-form button[type=submit]")
    link = alice.input_value("#invitation-link")
    assert alice.url == room
    party = party_device.new_page()
    join(party, link)
    expect(party.locator("#session-status")).to_have_attribute("data-status", "scheduled")
    expect(party.locator("#say-button")).to_be_disabled()
    # Only the facilitator's page has the facilitator's controls.
    for control in ("#facilitation-card", "#propose-form", "#agenda-form", "#take-floor", "#session-controls"):
        expect(party.locator(control)).to_have_count(0)

    alice.goto(room)
    is_open(alice)
    khan = alice.locator("#participants .participant", has_text="Khan family's representative")
    expect(khan).to_have_attribute("data-present", "true")
    with alice.expect_navigation():
        alice.click("#start-session")
    is_open(alice)
    expect(alice.locator("#end-session")).to_be_visible()
    # The party's page learns it from the `started` event, without a reload.
    expect(party.locator("#session-status")).to_have_attribute("data-status", "live")
    expect(party.locator("#say-button")).to_be_enabled()

    say(alice, "Welcome. We are here about the water of the channel.")
    say(party, "The Khan family asks for the water to be shared by days.")
    for page in (alice, party):
        expect(said_line(page, "Welcome. We are here about the water")).to_have_count(1)
        expect(said_line(page, "shared by days")).to_have_count(1)
    expect(said_line(party, "shared by days").locator(".who")).to_have_text("Khan family's representative")
    expect(alice.locator("#transcript .pending")).to_have_count(0)

    # A time cap per turn, then a raised hand, and the floor given from the queue.
    alice.fill("#turn-seconds", "120")
    alice.press("#turn-seconds", "Tab")
    expect(party.locator("#transcript li[data-kind=mode_set]")).to_have_count(1)
    party.click("#raise-hand")
    expect(party.locator("#lower-hand")).to_be_visible()
    expect(party.locator("#raise-hand")).to_be_hidden()
    queued = alice.locator("#queue .queue-item")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text("Khan family's representative")
    queued.locator("button[data-give]").click()
    expect(party.locator("#floor")).to_have_text("You have the floor.")
    expect(alice.locator("#floor")).to_have_text("Khan family's representative has the floor.")
    expect(party.locator("#floor-countdown")).to_have_text(re.compile(r"^[12]:\d\d left$"))
    expect(alice.locator("#queue .queue-item")).to_have_count(0)
    expect(party.locator("#raise-hand")).to_be_visible()
    expect(party.locator("#lower-hand")).to_be_hidden()
    expect(alice.locator("#take-floor")).to_be_visible()

    # A prohibited term is refused with the law that forbids it, and the words come back to be changed.
    swara = "The Gul family gives a girl in marriage to the Khan family (swara)."
    alice.fill("#proposal-text", swara)
    alice.click("#propose-button")
    expect(alice.locator("#room-error")).to_have_attribute("data-code", "prohibited_term")
    expect(alice.locator("#room-error")).to_contain_text("310-A")
    expect(alice.locator("#proposal-text")).to_have_value(swara)
    expect(alice.locator("#proposals .pending")).to_have_count(0)
    expect(party.locator("#proposals .proposal")).to_have_count(0)

    # A proposal; the party is the only one present who takes part in the consensus check.
    alice.fill("#proposal-text", TERM)
    alice.select_option("#proposal-kind", "commitment")
    alice.click("#propose-button")
    proposal = party.locator("#proposals .proposal", has_text=TERM)
    expect(proposal).to_have_count(1)
    expect(alice.locator("#proposals .proposal", has_text=TERM)).to_have_count(1)
    expect(alice.locator("#proposals .proposal button[data-stance]")).to_have_count(0)  # The facilitator does not vote.
    proposal.locator("button[data-stance=agree]").click()
    expect(alice.locator("#room-error")).to_be_hidden()
    for page in (alice, party):
        expect(page.locator("#transcript li[data-kind=proposal_decided]")).to_have_class(re.compile("outcome-accepted"))
        expect(page.locator("#proposals .proposal")).to_have_count(0)
    shot(party, "room-party")
    shot(alice, "room-facilitator")

    # Both pages show the stored transcript, line for line.
    events = same_as_the_transcript([alice, party], session_id)
    decided = next(e for e in events if e["kind"] == "proposal_decided")
    assert decided["data"]["outcome"] == "accepted"
    assert decided["data"]["stances"] == {"agree": 1, "stand_aside": 0, "block": 0}

    # The accepted proposal is a draft term of the case's agreement.
    alice.goto(f"{live.url}/cases/{case.pk}/")
    expect(alice.locator("#agreement .tag.status-draft")).to_have_count(1)
    expect(alice.locator("#agreement-terms")).to_contain_text(TERM)
    expect(alice.locator(f"#sessions .session-row[data-session='{session_id}'] a")).to_have_attribute(
        "href", f"/sessions/{session_id}/"
    )
    facilitator.close()
    party_device.close()


def wait_until(page, condition, message: str, seconds: float = 10) -> None:
    """Playwright runs the route handlers only while the test waits on it: wait here, a little at a time."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(message)


class SocketGate:
    """Routes a page's session socket through Playwright: `down` refuses new connections (the server is
    unreachable), `drop` swallows the next `said` event with that body on its way to the page, and `sent`
    keeps every frame the page sent."""

    def __init__(self, page):
        self.down = False
        self.drop: str | None = None
        self.dropped: list[int] = []
        self.connections = 0
        self.sent: list[dict] = []
        page.route_web_socket(re.compile(r"/ws/sessions/\d+/"), self.route)

    def said(self, body: str) -> list[dict]:
        return [f for f in self.sent if f["type"] == "say" and f["body"] == body]

    def route(self, ws) -> None:
        if self.down:
            ws.close(code=4000, reason="down")
            return
        self.connections += 1
        server = ws.connect_to_server()

        def to_page(message) -> None:
            frame = json.loads(message)
            if self.drop and frame.get("kind") == "said" and frame["data"]["body"] == self.drop:
                self.drop = None
                self.dropped.append(frame["seq"])
                return
            ws.send(message)

        def to_server(message) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        server.on_message(to_page)
        ws.on_message(to_server)


def test_the_room_reconnects_by_itself_and_shows_everything_once(people, live_session, live, browser):
    session, token = live_session
    facilitator, party_device = browser.new_context(), browser.new_context()
    alice = facilitator.new_page()
    log_in(alice, live.url, "alice")
    alice.goto(room_url(live.url, session.pk))
    is_open(alice)
    party = party_device.new_page()
    gate = SocketGate(party)
    join(party, f"{live.url}/join/{token}/")
    say(alice, "First, each side speaks in turn.")
    expect(said_line(party, "First, each side speaks in turn.")).to_have_count(1)

    # The socket closes under the page (as a Redis restart does) and the server stays out of reach for a while.
    gate.down = True
    party.evaluate("window.sulhRoom.socket.close()")
    expect(party.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    expect(alice.locator("#participants .participant", has_text="Khan family's representative")).to_have_attribute(
        "data-present", "false"
    )
    say(alice, "Said while the party was away.")
    expect(said_line(alice, "Said while the party was away.")).to_have_count(1)
    say(party, "Typed while the line was down.")
    waiting = party.locator("#transcript .pending", has_text="Typed while the line was down.")
    expect(waiting).to_contain_text("Waiting to send…")
    party.wait_for_timeout(1500)  # A few refused attempts, backing off.
    expect(party.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    assert gate.connections == 1

    # Back: the page reconnects by itself with ?after=…, gets what it missed, and sends what was waiting.
    gate.down = False
    is_open(party)
    expect(waiting).to_have_count(0)
    for page in (alice, party):
        expect(said_line(page, "Said while the party was away.")).to_have_count(1)
        expect(said_line(page, "Typed while the line was down.")).to_have_count(1)
    seqs = dict((body, seq) for seq, body in said_shown(party))
    assert seqs["Said while the party was away."] < seqs["Typed while the line was down."]

    # An event lost on its way (as on the pub/sub layer during an outage): the next one shows the gap, and
    # `resume` fills it before anything after it is shown.
    gate.drop = "This line is lost on the way."
    say(alice, "This line is lost on the way.")
    expect(said_line(alice, "This line is lost on the way.")).to_have_count(1)
    wait_until(party, lambda: gate.dropped, "the gate did not see the line")
    expect(said_line(party, "This line is lost on the way.")).to_have_count(0)
    say(alice, "And this one comes after it.")
    for text in ("This line is lost on the way.", "And this one comes after it."):
        expect(said_line(party, text)).to_have_count(1)
    order = [body for _seq, body in said_shown(party)]
    assert order.index("This line is lost on the way.") == order.index("And this one comes after it.") - 1
    assert {"type": "resume", "after": gate.dropped[0] - 1} in gate.sent

    # Said, then the socket closes at once: whether or not the server got it, it is there once.
    party.evaluate(
        """() => {
          document.querySelector('#say-text').value = 'Sent just as the line dropped.';
          document.querySelector('#say-form').requestSubmit();
          window.sulhRoom.socket.close();
        }"""
    )
    is_open(party)
    for page in (alice, party):
        expect(said_line(page, "Sent just as the line dropped.")).to_have_count(1)
    expect(party.locator("#transcript .pending")).to_have_count(0)
    assert party.evaluate("window.sulhRoom.outbox.length") == 0
    assert gate.connections >= 3
    assert len(gate.said("Typed while the line was down.")) == 1  # Sent once the line was back, not before.
    assert len({f["client_id"] for f in gate.said("Sent just as the line dropped.")}) == 1

    # The last event lost, with nothing after it to show the gap: the ping's pong says what was sent, and the
    # page asks for the rest (pings go every 15 s).
    gate.drop = "Nothing comes after this line."
    say(alice, "Nothing comes after this line.")
    expect(said_line(alice, "Nothing comes after this line.")).to_have_count(1)
    wait_until(party, lambda: len(gate.dropped) == 2, "the gate did not see the last line")
    expect(said_line(party, "Nothing comes after this line.")).to_have_count(1, timeout=20000)
    assert {"type": "resume", "after": gate.dropped[-1] - 1} in gate.sent

    events = same_as_the_transcript([alice, party], session.pk)
    bodies = [e["data"]["body"] for e in events if e["kind"] == "said"]
    assert bodies.count("Sent just as the line dropped.") == 1
    assert bodies.count("Typed while the line was down.") == 1
    facilitator.close()
    party_device.close()


@pytest.fixture
def busy_session(live_session):
    """The live session with something in every part of the room: the party's hand up, an agenda, an open
    proposal and long lines."""
    session, token = live_session
    facilitator = Participant.objects.get(session=session, role=Participant.Role.FACILITATOR)
    services.agenda_add(
        session_id=session.pk, participant_id=facilitator.pk, title="Who opens the sluice gate, and when"
    )
    services.propose(session_id=session.pk, participant_id=facilitator.pk, text=TERM, term_kind="commitment")
    services.say(session_id=session.pk, participant_id=facilitator.pk, body="A-very-long-word-without-spaces-" * 6)
    services.say(session_id=session.pk, participant_id=facilitator.pk, body="اتفق الطرفان على تقاسم المياه بالأيام.")
    return session, token


def test_the_room_fits_a_phone_also_right_to_left(people, busy_session, live, browser):
    session, token = busy_session
    facilitator, party_device = browser.new_context(**PHONE), browser.new_context(**PHONE)
    alice = facilitator.new_page()
    log_in(alice, live.url, "alice")
    party = party_device.new_page()
    join(party, f"{live.url}/join/{token}/")
    party.click("#raise-hand")
    expect(party.locator("#proposals .proposal button[data-stance]")).to_have_count(3)

    alice.goto(room_url(live.url, session.pk))
    is_open(alice)
    expect(alice.locator("#queue .queue-item button[data-give]")).to_have_count(1)
    expect(alice.locator("#agenda .agenda-item")).to_have_count(1)
    for page, name in ((alice, "room-phone-facilitator"), (party, "room-phone-party")):
        expect(page.locator("#transcript li[data-kind=said]")).to_have_count(2)
        assert fits_the_screen(page)
        shot(page, name)

    # In Arabic the page reads right to left and still fits.
    for page, name in ((alice, "room-phone-facilitator-ar"), (party, "room-phone-party-ar")):
        with page.expect_navigation():
            page.select_option("#language", "ar")
        assert page.get_attribute("html", "dir") == "rtl"
        is_open(page)
        expect(page.locator("#transcript li[data-kind=said]")).to_have_count(2)
        assert fits_the_screen(page)
        # A line starts on the right: its time is to the right of what was said.
        line = page.locator("#transcript li[data-kind=said]").last
        time_box = line.locator("time").bounding_box()
        body_box = line.locator(".body").bounding_box()
        assert time_box["x"] > body_box["x"]
        shot(page, name)
    facilitator.close()
    party_device.close()
