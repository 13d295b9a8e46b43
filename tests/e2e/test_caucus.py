"""A sulha run by shuttle (issue 19, item 1), in three browsers: the facilitator opens a private room for each
family, a proposal made in the first family's room is carried to the second's and then to the joint room, where
both families agree it. Every frame each family's browser receives is recorded: neither ever receives a line said
in the other family's room, and the second family's browser cannot even open a socket to the first's (403)."""

from __future__ import annotations

import re

import pytest
import websockets.sync.client
from django.utils import timezone
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus

from cases import services as case_services
from deliberation import services
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]
SECRET_KHAN = "Between us: we would settle for forty days of water."
SECRET_GUL = "Do not tell them, but thirty days would be enough for us."
TERM = "Water by turns: twenty days to each family, the channel repaired together."


@pytest.fixture
def shuttle(people):
    """A live joint session of a sulha and a one-time link for each family's representative, each naming its side
    (made before the browser starts: ORM calls belong before Playwright's loop)."""
    case = case_services.case_open(
        user=people.alice, forum=people.sulha, title="Water channel between the Khan and Gul families",
        dispute_type="water", risk_level="medium", offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip
    joint = services.session_schedule(user=people.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=people.alice, session_id=joint.pk)
    links = {}
    for side, name in (
        ("first_party", "Khan family's representative"),
        ("second_party", "Gul family's representative"),
    ):
        _invitation, token = services.invitation_create(
            user=people.alice, session_id=joint.pk, display_name=name, side=side
        )
        links[side] = token
    return case, joint, links


class Heard:
    """Every websocket frame the pages of one browser context receive, on every socket they open."""

    def __init__(self, context):
        self.frames: list[str] = []
        context.on("page", self.watch)

    def watch(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: self.frames.append(str(payload))))

    def everything(self) -> str:
        return "\n".join(self.frames)


def is_open(page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")


def join(page, base: str, token: str) -> None:
    page.goto(f"{base}/join/{token}/")
    with page.expect_navigation():
        page.click("#join")
    is_open(page)


def say(page, text: str) -> None:
    page.fill("#say-text", text)
    page.click("#say-button")
    expect(page.locator("#transcript li[data-kind=said] .body", has_text=text)).to_have_count(1)


def go_to_side_room(page, side: str) -> int:
    link = page.locator(f"#caucuses li[data-side={side}] a.caucus-link")
    with page.expect_navigation():
        link.click()
    is_open(page)
    return int(re.search(r"/sessions/(\d+)/$", page.url).group(1))


def carry(page, text: str, to_label: str) -> None:
    page.select_option("#carry-proposal", label=text)
    page.focus("#carry-to")  # Asks the server for the rooms open now.
    page.select_option("#carry-to", label=to_label)
    page.click("#carry-button")
    expect(page.locator("#transcript li[data-kind=carried]").last).to_contain_text(to_label)


def test_a_sulha_run_by_shuttle(people, shuttle, live, browser):
    case, joint, links = shuttle
    facilitator, khan_device, gul_device = browser.new_context(), browser.new_context(), browser.new_context()
    khan_heard, gul_heard = Heard(khan_device), Heard(gul_device)
    alice = facilitator.new_page()
    log_in(alice, live.url, "alice")
    alice.goto(f"{live.url}/sessions/{joint.pk}/")
    is_open(alice)
    khan, gul = khan_device.new_page(), gul_device.new_page()
    join(khan, live.url, links["first_party"])
    join(gul, live.url, links["second_party"])
    expect(khan.locator("#caucuses")).to_contain_text("No side room is open.")
    expect(khan.locator("#open-caucus-first_party")).to_have_count(0)  # Only the facilitator opens rooms.

    # The facilitator opens a room for each family; each family's page offers its own room, never the other's.
    alice.click("#open-caucus-first_party")
    alice.click("#open-caucus-second_party")
    expect(alice.locator("#caucuses li[data-status=live]")).to_have_count(2)
    expect(alice.locator("#open-caucus-first_party")).to_be_disabled()
    for page, mine, theirs in ((khan, "first_party", "second_party"), (gul, "second_party", "first_party")):
        expect(page.locator(f"#caucuses li[data-side={mine}] a.caucus-link")).to_have_text("Go to your side's room")
        expect(page.locator(f"#caucuses li[data-side={theirs}]")).to_have_count(1)
        expect(page.locator(f"#caucuses li[data-side={theirs}] a")).to_have_count(0)
    first = go_to_side_room(khan, "first_party")
    second = go_to_side_room(gul, "second_party")
    expect(khan.locator("h1")).to_contain_text("Side room of the first party")
    expect(khan.locator("#caucus-banner")).to_contain_text("only this side and the forum's people")

    # The second family's browser cannot open the first family's room: not its page, not its socket.
    assert gul.request.get(f"{live.url}/sessions/{first}/").status == 404
    assert gul.request.get(f"{live.url}/api/sessions/{first}/transcript/").status == 404
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in gul_device.cookies())
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(
            f"{live.ws_url}/ws/sessions/{first}/", origin=live.url, additional_headers={"Cookie": cookies},
            open_timeout=5,
        )  # fmt: skip
    assert refused.value.response.status_code == 403
    # The same cookies do open the second family's own room (so the refusal is the rule, not the cookies).
    with websockets.sync.client.connect(
        f"{live.ws_url}/ws/sessions/{second}/", origin=live.url, additional_headers={"Cookie": cookies},
        open_timeout=5,
    ) as socket:  # fmt: skip
        assert '"type": "welcome"' in socket.recv(timeout=5)

    # In the first family's room: they speak freely, and the facilitator proposes; they agree.
    alice_first = facilitator.new_page()
    alice_first.goto(f"{live.url}/sessions/{first}/")
    is_open(alice_first)
    say(khan, SECRET_KHAN)
    expect(alice_first.locator("#transcript li[data-kind=said]", has_text=SECRET_KHAN)).to_have_count(1)
    alice_first.fill("#proposal-text", TERM)
    alice_first.select_option("#proposal-kind", "commitment")
    alice_first.click("#propose-button")
    khan.locator("#proposals .proposal", has_text=TERM).locator("button[data-stance=agree]").click()
    expect(khan.locator("#transcript li[data-kind=proposal_decided]")).to_contain_text("This side agrees")

    # Carried to the second family's room, where they speak freely too, and agree.
    carry(alice_first, TERM, "the second party's room")
    carried = gul.locator("#proposals .proposal", has_text=TERM)
    expect(carried).to_have_count(1)
    expect(gul.locator("#transcript li[data-kind=proposed]")).to_contain_text(
        "Proposal carried from the first party's room"
    )
    say(gul, SECRET_GUL)
    carried.locator("button[data-stance=agree]").click()
    expect(gul.locator("#transcript li[data-kind=proposal_decided]")).to_contain_text("This side agrees")
    alice_second = facilitator.new_page()
    alice_second.goto(f"{live.url}/sessions/{second}/")
    is_open(alice_second)
    expect(alice_second.locator("#transcript li[data-kind=said]", has_text=SECRET_GUL)).to_have_count(1)
    carry(alice_second, TERM, "the joint room")
    shot(alice_second, "caucus-facilitator")
    shot(gul, "caucus-second-party")

    # The facilitator closes both rooms from the joint room; the families go back to it.
    alice.bring_to_front()
    for side in ("first_party", "second_party"):
        alice.locator(f"#caucuses li[data-side={side}] button[data-close-caucus]").click()
    expect(alice.locator("#caucuses li[data-status=ended]")).to_have_count(2)
    for page in (khan, gul):
        expect(page.locator("#caucus-over")).to_be_visible()
        with page.expect_navigation():
            page.click("#caucus-over a")
        is_open(page)

    # The joint room agrees the carried proposal: a draft term of the agreement.
    for page in (khan, gul):
        page.locator("#proposals .proposal", has_text=TERM).locator("button[data-stance=agree]").click()
    for page in (alice, khan, gul):
        decided = page.locator("#transcript li[data-kind=proposal_decided]")
        expect(decided).to_have_class(re.compile("outcome-accepted"))
        expect(decided).to_contain_text("Accepted: now a draft term of the agreement.")
    assert fits_the_screen(khan)

    # Neither family's browser ever received what was said in the other's room; each received its own.
    assert SECRET_GUL not in khan_heard.everything()
    assert SECRET_KHAN not in gul_heard.everything()
    assert SECRET_KHAN in khan_heard.everything()
    assert SECRET_GUL in gul_heard.everything()

    # The case's timeline says that each room was held, without a word of it.
    alice.goto(f"{live.url}/cases/{case.pk}/")
    timeline = alice.locator("#timeline")
    expect(timeline).to_contain_text("The first party met privately with the facilitator in a side room")
    expect(timeline).to_contain_text("The second party met privately with the facilitator in a side room")
    for secret in (SECRET_KHAN, SECRET_GUL):
        expect(timeline).not_to_contain_text(secret)
    expect(alice.locator("#agreement-terms")).to_contain_text(TERM)
    for context in (facilitator, khan_device, gul_device):
        context.close()


@pytest.fixture
def first_room(shuttle, people):
    """The first family's room, open (before the browser starts)."""
    _case, joint, _links = shuttle
    return services.caucus_open(user=people.alice, session_id=joint.pk, side="first_party")


def test_the_side_rooms_fit_a_phone_right_to_left(people, shuttle, first_room, live, browser):
    """The side rooms' parts of the page on a 390 px phone, the facilitator's and a family's, in Arabic (right to
    left)."""
    _case, joint, links = shuttle
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    facilitator, khan_device = browser.new_context(**phone), browser.new_context(**phone)
    alice, khan = facilitator.new_page(), khan_device.new_page()
    log_in(alice, live.url, "alice")
    join(khan, live.url, links["first_party"])
    alice.goto(f"{live.url}/sessions/{first_room.pk}/")
    is_open(alice)
    for page in (alice, khan):
        with page.expect_navigation():
            page.select_option("#language", "ar")
        assert page.get_attribute("html", "dir") == "rtl"
        is_open(page)
    expect(alice.locator("#carry-card")).to_be_visible()
    expect(khan.locator("#caucuses a.caucus-link")).to_have_count(1)
    assert fits_the_screen(khan)
    assert fits_the_screen(alice)
    shot(alice, "caucus-phone-facilitator-ar")
    go_to_side_room(khan, "first_party")
    expect(khan.locator("#caucus-banner")).to_be_visible()
    assert fits_the_screen(khan)
    shot(khan, "caucus-phone-party-ar")
    facilitator.close()
    khan_device.close()
