"""Inviting someone who is not a computer user: the invitation gives the whole link with copy, share, WhatsApp,
SMS and a QR code (also inside the room, fetched without leaving it); the join page says which forum, when, who
invited and under what name, in the reader's language; a guest meets no link they cannot follow, a waiting line
until the session starts, and the consensus choices in plain words (issue 18)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
import segno

from deliberation import services
from deliberation.models import Invitation
from tests.deliberation.conftest import open_case

pytestmark = pytest.mark.usefixtures("postgres")

WHEN = dt.datetime(2026, 12, 14, 9, 30, tzinfo=dt.UTC)


class Links(HTMLParser):
    """Every link and form target on a page, and whether it has inline script."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.actions: list[str] = []
        self.inline_script = False
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        if tag == "form" and values.get("action"):
            self.actions.append(values["action"])
        if tag == "script" and not values.get("src") and values.get("type") not in ("importmap", "application/json"):
            self.inline_script = True
        self.handlers += [name for name, _value in attrs if name.startswith("on")]


def parsed(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


@pytest.fixture
def session(world):
    world.alice.first_name, world.alice.last_name = "Alice", "Yusufzai"
    world.alice.save()
    case = open_case(world)
    return services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=WHEN)


def invite_from_the_room(client, session, **headers):
    return client.post(
        f"/sessions/{session.pk}/invite/", {"name": "Khan family's representative", "role": "party"}, headers=headers
    )


def test_the_invitation_gives_the_whole_link_every_way(client, world, session):
    client.force_login(world.alice)
    response = invite_from_the_room(client, session)
    assert response.status_code == 200
    html = response.content.decode()
    link = re.search(r'<textarea[^>]*id="invitation-link"[^>]*>([^<]+)</textarea>', html).group(1)
    assert re.fullmatch(r"http://testserver/join/[\w-]+/", link)
    # Copy and Share (shown by static/js/invite.js), WhatsApp and SMS carrying a message naming forum and time.
    assert 'id="invite-copy"' in html
    assert 'id="invite-share"' in html
    whatsapp = re.search(r'id="invite-whatsapp" href="https://wa.me/\?text=([^"]+)"', html).group(1)
    sms = re.search(r'id="invite-sms" href="sms:\?&amp;body=([^"]+)"', html).group(1)
    message = unquote(whatsapp)
    assert unquote(sms) == message
    assert "Swat Jirga" in message
    assert "2026" in message
    assert link in message
    # The QR code is the link's own code, drawn on the server.
    qr = segno.make(link, error="m").svg_inline(
        scale=4, border=2, dark="#000", light="#fff", omitsize=True, title="QR code of the invitation link"
    )
    assert qr in html
    page = parsed(html)
    assert not page.inline_script
    assert not page.handlers


def test_the_room_invites_without_leaving_it(client, world, session):
    client.force_login(world.alice)
    room = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="invite-panel"' in room
    assert 'data-invite-fetch="invite-result"' in room
    assert "js/invite.js" in room
    fragment = invite_from_the_room(client, session, **{"X-Sulh-Fragment": "1"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    assert 'id="invitation-link"' in html
    assert "<svg" in html
    refused = client.post(
        f"/sessions/{session.pk}/invite/", {"name": "", "role": "party"}, headers={"X-Sulh-Fragment": "1"}
    )
    assert refused.status_code == 400
    assert 'id="invitation-errors"' in refused.content.decode()
    assert Invitation.objects.filter(session=session).count() == 1


def test_the_join_page_says_what_when_who_and_under_what_name(client, world, session):
    _invitation, token = services.invitation_create(
        user=world.alice, session_id=session.pk, display_name="Khan family's representative"
    )
    html = client.get(f"/join/{token}/").content.decode()
    assert re.search(r'id="join-forum"><bdi>Swat Jirga</bdi>', html)
    assert '<time datetime="2026-12-14T09:30:00+00:00"' in html
    assert re.search(r'id="join-inviter"><bdi>Alice Yusufzai</bdi>', html)
    assert "Khan family&#x27;s representative" in html
    assert 'id="join"' in html
    # In the reader's language, with the language menu there (opening the link uses nothing up).
    client.cookies["django_language"] = "ps"
    pashto = client.get(f"/join/{token}/").content.decode()
    assert '<html lang="ps" dir="rtl">' in pashto
    assert 'id="language"' in pashto
    assert "Swat Jirga" in pashto
    assert 'id="join"' in pashto
    # The language menu brings them back to the same link, in the language picked.
    switched = client.post("/i18n/setlang/", {"language": "ur", "next": f"/join/{token}/"})
    assert switched["Location"] == f"/join/{token}/"
    assert '<html lang="ur" dir="rtl">' in client.get(switched["Location"]).content.decode()


def test_a_used_link_says_so_when_opened(client, world, session):
    _invitation, token = services.invitation_create(user=world.alice, session_id=session.pk, display_name="Elder")
    services.invitation_redeem(token=token)
    response = client.get(f"/join/{token}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'id="join-invalid"' in html
    assert 'id="join"' not in html
    assert client.get("/join/not-a-token/").status_code == 404


def test_a_guest_meets_no_link_they_cannot_follow(client, world, session):
    _invitation, token = services.invitation_create(
        user=world.alice, session_id=session.pk, display_name="Khan family's representative"
    )
    joined = client.post(f"/join/{token}/")
    assert joined.status_code == 302
    room = client.get(joined["Location"])
    html = room.content.decode()
    assert "Back to the case" not in html
    # Home and "My account" say nothing to a guest (no forum, no password): their pages do not link there.
    assert "/" not in parsed(html).hrefs
    assert "/account/" not in parsed(html).hrefs
    page = parsed(html)
    assert not page.inline_script
    assert not page.handlers
    # Every page of ours a guest can reach from the room, and the pages those link to, opens for them.
    seen: set[str] = set()
    todo = [href for href in page.hrefs if href.startswith("/")]
    for depth in range(2):
        following = []
        for href in todo:
            if href in seen or href.startswith(("/static/", "/admin/")):
                continue
            seen.add(href)
            response = client.get(href)
            assert response.status_code == 200, (href, depth)
            following += [h for h in parsed(response.content.decode()).hrefs if h.startswith("/")]
        todo = following
    assert f"/sessions/{session.pk}/transcript/" in seen
    # The facilitator still has the way back to the case.
    client.force_login(world.alice)
    assert "Back to the case" in client.get(f"/sessions/{session.pk}/").content.decode()


def test_a_guest_waits_for_the_facilitator_with_words_saying_so(client, world, session):
    _invitation, token = services.invitation_create(user=world.alice, session_id=session.pk, display_name="Elder")
    client.post(f"/join/{token}/")
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    assert re.search(r'id="waiting" role="status">Waiting for the facilitator to start the session', html)
    services.session_start(user=world.alice, session_id=session.pk)
    assert 'id="waiting"' not in client.get(f"/sessions/{session.pk}/").content.decode()


def test_the_consensus_choices_are_in_plain_words(client, world, session):
    services.session_start(user=world.alice, session_id=session.pk)
    client.force_login(world.alice)
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    strings = json.loads(re.search(r'<script id="room-strings" type="application/json">(.*?)</script>', html).group(1))
    assert (strings["agree"], strings["stand_aside"], strings["block"]) == (
        "I agree",
        "I will not stand in the way",
        "I object",
    )
    assert strings["term_stand_aside"] == "Formal term: stand aside"
    assert strings["ev_block"] == "%(name)s objects (blocks)."


def test_an_ended_session_offers_no_invitation(client, world, session):
    services.session_start(user=world.alice, session_id=session.pk)
    services.session_end(user=world.alice, session_id=session.pk)
    client.force_login(world.alice)
    room = client.get(f"/sessions/{session.pk}/")
    assert room.status_code == 200
    assert 'id="invite-panel"' not in room.content.decode()
