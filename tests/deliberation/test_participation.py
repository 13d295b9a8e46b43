"""Women's participation (issue 19, item 6): an optional, self-declared gender on invited participants (and on
parties); `session_ended` says whether a woman attended and whether one spoke, without names or numbers; the
regulator's patterns count those sessions per forum kind and month with the same disclosure control."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Profile
from cases.models import CaseEvent, PatternMonth
from deliberation import services
from deliberation.models import Participant
from reports import patterns
from tests.deliberation.conftest import open_case

pytestmark = pytest.mark.django_db(transaction=True)


def live_session(world):
    case = open_case(world)
    session = services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    services.session_start(user=world.alice, session_id=session.pk)
    return session


def join(as_user, client, world, session, **fields) -> Participant:
    response = as_user(world.alice).post(
        f"/api/sessions/{session.pk}/invitations/", {"name": "Representative", **fields}, format="json"
    )
    assert response.status_code == 201, response.content
    client.post("/join/" + response.json()["url"].rstrip("/").rsplit("/", 1)[1] + "/")
    participant = Participant.objects.filter(session=session).order_by("-pk").first()
    participant, _session = services.participant_connect(user=participant.user, session_id=session.pk)
    return participant


def ended(world, session) -> dict:
    services.session_end(user=world.alice, session_id=session.pk)
    return CaseEvent.objects.get(case_id=session.case_id, kind="session_ended").data


def test_a_session_where_a_woman_attended_and_spoke(as_user, client, world):
    session = live_session(world)
    woman = join(as_user, client, world, session, gender="woman")
    join(as_user, client.__class__(), world, session, gender="man")
    assert woman.gender == "woman"
    services.say(session_id=session.pk, participant_id=woman.pk, body="We accept the elders' proposal.")
    data = ended(world, session)
    assert data["women_took_part"] is True
    assert data["women_spoke"] is True
    assert set(data) == {"session", "events", "accepted_proposals", "women_took_part", "women_spoke"}


def test_a_woman_who_attended_but_did_not_speak(as_user, client, world):
    session = live_session(world)
    man = join(as_user, client, world, session, gender="man")
    join(as_user, client.__class__(), world, session, gender="woman")
    services.say(session_id=session.pk, participant_id=man.pk, body="Our family agrees.")
    data = ended(world, session)
    assert (data["women_took_part"], data["women_spoke"]) == (True, False)


def test_gender_is_optional_and_only_from_the_list(as_user, client, world):
    session = live_session(world)
    unsaid = join(as_user, client, world, session)
    assert unsaid.gender == ""
    refused = as_user(world.alice).post(
        f"/api/sessions/{session.pk}/invitations/", {"name": "X", "gender": "female-ish"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["gender"]
    data = ended(world, session)
    assert (data["women_took_part"], data["women_spoke"]) == (False, False)


def test_the_regulators_count_sessions_with_women_and_hide_small_counts(as_user, client, world):
    for spoke in (True, False):
        session = live_session(world)
        woman = join(as_user, client.__class__(), world, session, gender="woman")
        if spoke:
            services.say(session_id=session.pk, participant_id=woman.pk, body="I have something to say.")
        ended(world, session)
    patterns.summarise(full=True, safety_lag=0)
    rows = PatternMonth.objects.all()
    assert sum(row.sessions_with_women for row in rows) == 2
    assert sum(row.sessions_women_spoke for row in rows) == 1
    cells = as_user(world.dave).get("/api/reports/patterns/").json()["cells"]
    for cell in cells:  # Fewer than min_cell: never published.
        assert cell["sessions_with_women"] in (None, 0)
        assert cell["sessions_women_spoke"] in (None, 0)
    assert any(cell["sessions_with_women"] is None and cell["suppressed"] for cell in cells)


def test_the_forums_people_say_their_own_gender_on_their_account_page(client, world):
    client.force_login(world.alice)
    assert client.post("/account/gender/", {"gender": "womanly"}).status_code == 302
    assert not Profile.objects.filter(user=world.alice).exists()  # Refused: nothing stored.
    assert client.post("/account/gender/", {"gender": "woman"}).status_code == 302
    page = client.get("/account/").content.decode()
    assert '<option value="woman" selected>' in page

    session = live_session(world)  # alice facilitates it: she arrives as she declared herself.
    alice, _session = services.participant_connect(user=world.alice, session_id=session.pk)
    assert alice.gender == "woman"
    services.say(session_id=session.pk, participant_id=alice.pk, body="Let us begin.")
    data = ended(world, session)
    assert (data["women_took_part"], data["women_spoke"]) == (True, True)

    client.post("/account/gender/", {"gender": ""})  # Taken back: the next session counts nothing of her.
    later = live_session(world)
    alice, _session = services.participant_connect(user=world.alice, session_id=later.pk)
    assert alice.gender == ""
