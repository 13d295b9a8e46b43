"""Conflicts of interest (issue 19, item 4): a forum member's declared tie to a party keeps them from running the
case's sessions and moving the case until both sides accept them, or for good once they recuse themselves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from cases import services
from cases.models import Membership, PatternMonth
from reports import patterns
from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("postgres")


@pytest.fixture
def hamid(world):
    """A second facilitator of the jirga: someone other than the person tied, to record the sides' acceptance."""
    user = UserFactory(username="hamid")
    services.membership_grant(user=user, forum=world.jirga, role=Membership.Role.FACILITATOR)
    return user


def _party(case, role: str) -> dict:
    return next(p for p in case.case["parties"] if p["role"] == role)


def _declare(client, case, *, expect: int = 201, **body) -> dict:
    body = {"party": _party(case, "first_party")["id"], "kind": "kin", **body}
    response = client.post(f"/api/cases/{case.id}/ties/", body, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def _accept(client, case, tie: dict, side: str, *, expect: int = 200) -> dict:
    response = client.post(
        f"/api/cases/{case.id}/ties/{tie['id']}/accept/", {"side": side, "accepted_by": "Malik Zareen"}, format="json"
    )
    assert response.status_code == expect, response.content
    return response.json()


def _session(client, case) -> int:
    response = client.post(
        f"/api/cases/{case.id}/sessions/", {"scheduled_for": timezone.now().isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _code(response) -> str:
    body = response if isinstance(response, dict) else response.json()
    return body["error"]["code"]


def test_an_unresolved_tie_blocks_sessions_and_moves_until_both_sides_accept(open_case, world, hamid):
    case = open_case()
    alice = case.client
    session = _session(alice, case)
    tie = _declare(alice, case, note="His mother is a sister of the Khan family's head.")
    assert (tie["person"], tie["kind"], tie["status"], tie["pseudonym"]) == (
        "alice", "kin", "declared", _party(case, "first_party")["pseudonym"],
    )  # fmt: skip

    # Alice may neither start the session nor move the case: 422, the error in the contract's shape.
    started = alice.post(f"/api/sessions/{session}/start/", format="json")
    assert started.status_code == 422
    assert _code(started) == "conflict_unresolved"
    assert "both sides accept" in started.json()["error"]["detail"]
    assert _code(case.move("mandate", expect=422)) == "conflict_unresolved"

    # Another facilitator records each side's acceptance; one side is not enough.
    other = token_client(hamid)
    once = _accept(other, case, tie, "first_party")
    assert (once["status"], once["first_accepted_by"], once["first_recorded_by"]) == (
        "declared",
        "Malik Zareen",
        "hamid",
    )
    assert _code(alice.post(f"/api/sessions/{session}/start/", format="json")) == "conflict_unresolved"
    _accept(other, case, tie, "first_party", expect=409)  # The same side twice.
    both = _accept(other, case, tie, "second_party")
    assert both["status"] == "accepted"
    assert both["second_accepted_at"] is not None

    assert alice.post(f"/api/sessions/{session}/start/", format="json").status_code == 200
    case.move("mandate")

    # The timeline says what happened, never a name or the note.
    kinds = [e["kind"] for e in alice.get(f"/api/cases/{case.id}/timeline/").json()]
    assert kinds.count("tie_declared") == 1
    assert kinds.count("tie_accepted") == 2
    timeline = alice.get(f"/api/cases/{case.id}/timeline/").content.decode()
    for secret in ("Malik Zareen", "mother", "Khan family"):
        assert secret not in timeline
    # The note and who accepted are encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT note, first_accepted_by, second_accepted_by FROM cases_tiedeclaration WHERE id = %s", [tie["id"]]
        )
        stored = " ".join(str(v) for v in cursor.fetchone())
    assert "mother" not in stored
    assert "Zareen" not in stored


def test_a_recused_person_does_neither_on_that_case_and_others_carry_on(open_case, world, hamid):
    case = open_case()
    alice = case.client
    tie = _declare(alice, case, kind="business")
    recused = alice.post(f"/api/cases/{case.id}/ties/{tie['id']}/recuse/", format="json")
    assert recused.status_code == 200, recused.content
    assert (recused.json()["status"], recused.json()["recused_by"]) == ("recused", "alice")

    assert _code(case.move("mandate", expect=422)) == "conflict_recused"
    session = _session(alice, case)  # Scheduling is not running it; starting is.
    assert _code(alice.post(f"/api/sessions/{session}/start/", format="json")) == "conflict_recused"
    # The sides' acceptance cannot undo a recusal; a recusal is not recorded twice.
    other = token_client(hamid)
    assert _code(_accept_raw(other, case, tie, "first_party")) == "tie_resolved"
    assert alice.post(f"/api/cases/{case.id}/ties/{tie['id']}/recuse/", format="json").status_code == 409

    # Another facilitator of the forum moves the case and runs its sessions.
    response = other.post(
        f"/api/cases/{case.id}/transitions/", {"to": "mandate", "version": case.case["version"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert other.post(f"/api/sessions/{_session(other, case)}/start/", format="json").status_code == 200


def _accept_raw(client, case, tie, side):
    return client.post(
        f"/api/cases/{case.id}/ties/{tie['id']}/accept/", {"side": side, "accepted_by": "An elder"}, format="json"
    )


def test_who_may_declare_recuse_and_accept(open_case, world, hamid):
    case = open_case()
    alice, bob = case.client, token_client(world.bob)
    first = _party(case, "first_party")["id"]

    # A monitor declares their own tie, not someone else's; a facilitator declares anyone's in the forum.
    bobs = _declare(bob, case, kind="tribe")
    assert bobs["person"] == "bob"
    assert _code(_declare(bob, case, expect=403, person=hamid.pk, party=first)) == "forbidden"
    hamids = _declare(alice, case, person=hamid.pk, kind="other")
    assert (hamids["person"], hamids["declared_by"]) == ("hamid", "alice")
    _declare(alice, case, expect=409, person=hamid.pk)  # The same person and party: already declared.

    # The person tied never records the sides' acceptance; a monitor records none.
    assert _accept_raw(token_client(hamid), case, hamids, "first_party").status_code == 403
    assert _accept_raw(bob, case, hamids, "first_party").status_code == 403
    _accept(alice, case, hamids, "first_party")
    # The person recuses themselves; a monitor does not recuse someone else; a facilitator records anyone's.
    assert bob.post(f"/api/cases/{case.id}/ties/{hamids['id']}/recuse/", format="json").status_code == 403
    assert bob.post(f"/api/cases/{case.id}/ties/{bobs['id']}/recuse/", format="json").status_code == 200
    assert token_client(hamid).post(f"/api/cases/{case.id}/ties/{hamids['id']}/recuse/").status_code == 200

    # Only the forum's facilitators and monitors have ties to declare here; the party must be one of this case's.
    assert _declare(token_client(world.carol), case, expect=400, person=world.eve.pk)["error"]["fields"]["person"]
    assert "party" in _declare(alice, case, expect=400, party=open_case().case["parties"][0]["id"])["error"]["fields"]
    assert "kind" in _declare(alice, case, expect=400, kind="friendship")["error"]["fields"]

    # Outside the forum the case and its ties do not exist.
    for outsider in (world.frank, world.eve):
        client = token_client(outsider)
        assert client.get(f"/api/cases/{case.id}/ties/").status_code == 404
        assert _accept_raw(client, case, bobs, "first_party").status_code == 404
    # A tie of another case is not found under this one.
    other = open_case()
    assert _accept_raw(alice, other, hamids, "first_party").status_code == 404
    listed = bob.get(f"/api/cases/{case.id}/ties/").json()
    assert [t["status"] for t in listed] == ["recused", "recused"]


def test_ended_cases_take_no_declaration(final_case, world):
    case = final_case()
    case.move("withdrawn", reason="Settled at home")
    assert _code(_declare(case.client, case, expect=422)) == "case_not_open"


def test_the_case_page_shows_declarations_and_its_forms(open_case, world, hamid, client):
    case = open_case()
    client.force_login(world.alice)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "No tie declared." in page
    assert f"/cases/{case.id}/ties/" in page  # The declaration form.

    first = _party(case, "first_party")["id"]
    declared = client.post(f"/cases/{case.id}/ties/", {"person": world.alice.pk, "party": first, "kind": "kin"})
    assert declared.status_code == 302
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "Kin tie to" in page
    assert "Recuse myself" in page
    assert "until both sides accept you" in page  # What the person tied is told.
    [tie] = case.client.get(f"/api/cases/{case.id}/ties/").json()
    assert f"/ties/{tie['id']}/accept/" not in page  # Not for the person tied…
    # …and a forged post is refused in the section.
    refused = client.post(f"/cases/{case.id}/ties/{tie['id']}/accept/", {"side": "first_party", "accepted_by": "X"})
    assert refused.status_code == 403
    assert "Someone other than the person tied" in refused.content.decode()
    # A move is refused with the reason where the move was.
    moved = client.post(f"/cases/{case.id}/transition/", {"to": "mandate", "version": case.case["version"]})
    assert moved.status_code == 422

    client.force_login(hamid)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert f"/ties/{tie['id']}/accept/" in page
    for side in ("first_party", "second_party"):
        done = client.post(f"/cases/{case.id}/ties/{tie['id']}/accept/", {"side": side, "accepted_by": "Malik Zareen"})
        assert done.status_code == 302
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "Accepted by both sides" in page
    assert "Malik Zareen" in page

    # A monitor sees the declarations and may declare only their own tie; a legal reviewer is refused.
    client.force_login(world.bob)
    page = client.get(f"/cases/{case.id}/").content.decode()
    assert "Accepted by both sides" in page
    person_choices = page.split('id="ties"')[1].split('name="person"')[1].split("</select>")[0]
    assert f'value="{world.alice.pk}"' not in person_choices  # (party ids may share the number: only this list)
    reviewer = UserFactory(username="grace")
    services.membership_grant(user=reviewer, forum=world.jirga, role=Membership.Role.LEGAL_REVIEWER)
    client.force_login(reviewer)
    assert (
        client.post(f"/cases/{case.id}/ties/", {"person": reviewer.pk, "party": first, "kind": "kin"}).status_code
        == 403
    )


def test_the_regulators_patterns_count_cases_with_ties_and_hide_small_counts(open_case, world, hamid):
    case = open_case()
    _declare(case.client, case)
    _declare(case.client, case, person=hamid.pk, kind="business")  # A second tie on the same case: still one case.
    other = open_case()
    _declare(other.client, other, party=_party(other, "second_party")["id"])
    patterns.summarise(full=True, safety_lag=0)
    assert sum(row.cases_with_ties for row in PatternMonth.objects.all()) == 2

    cells = token_client(world.dave).get("/api/reports/patterns/").json()["cells"]
    assert cells
    for cell in cells:
        assert cell["cases_with_ties"] in (None, 0)  # Two cases: fewer than min_cell, never published.
    assert any(cell["cases_with_ties"] is None and cell["suppressed"] for cell in cells)
