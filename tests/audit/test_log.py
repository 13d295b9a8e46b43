"""Administrators read the log per case and per user, in pages and in the API; nobody else does. A case's page
shows its facilitators and administrators who looked at it, not its monitors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit import services as audit
from audit.models import ReadRecord

pytestmark = pytest.mark.usefixtures("postgres")


def reads(scene, count: int, *, user=None, kind: str = "case") -> None:
    for _ in range(count):
        audit.read_record(user=user or scene.world.bob, kind=kind, case_id=scene.case.pk, door="api")


# --- The API ---------------------------------------------------------------------------------------------


def test_an_administrator_reads_a_cases_log_newest_first(as_user, scene):
    reads(scene, 2)
    audit.read_record(user=scene.world.alice, kind="agreement", case_id=scene.case.pk, object_id=scene.agreement.pk,
                      ip="192.0.2.5", door="page")  # fmt: skip
    audit.read_record(user=scene.world.alice, kind="case_list", door="page")  # No case: not in the case's log.
    body = as_user(scene.world.carol).get(f"/api/audit/?case={scene.case.pk}").json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert newest == {
        "id": newest["id"], "at": newest["at"], "user": scene.world.alice.pk, "username": "alice",
        "kind": "agreement", "case": scene.case.pk, "case_reference": scene.case.reference,
        "object_id": scene.agreement.pk, "door": "page", "ip": "192.0.2.5",
    }  # fmt: skip
    ids = [row["id"] for row in body["results"]]
    assert ids == sorted(ids, reverse=True)
    # Reading the log is not itself a read of the case: the count is the same again.
    assert as_user(scene.world.carol).get(f"/api/audit/?case={scene.case.pk}").json()["count"] == 3


def test_an_administrator_reads_a_users_log_and_both_together(as_user, scene):
    reads(scene, 2, user=scene.world.bob)
    reads(scene, 1, user=scene.world.alice)
    audit.read_record(user=scene.world.bob, kind="case_list", door="api")
    api = as_user(scene.world.carol)
    bob = api.get(f"/api/audit/?user={scene.world.bob.pk}").json()
    assert bob["count"] == 3
    assert {row["username"] for row in bob["results"]} == {"bob"}
    both = api.get(f"/api/audit/?user={scene.world.bob.pk}&case={scene.case.pk}").json()
    assert both["count"] == 2


def test_the_api_pages_the_log(as_user, scene):
    reads(scene, 5)
    body = as_user(scene.world.carol).get(f"/api/audit/?case={scene.case.pk}&page_size=2").json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"]


@pytest.mark.parametrize("who", ["alice", "bob", "dave", "eve", "frank"])
def test_nobody_but_administrators_reads_the_log(as_user, scene, who):
    reads(scene, 1)
    for query in (f"?case={scene.case.pk}", f"?user={scene.world.bob.pk}", "?case=999999", "?case=x", ""):
        response = as_user(getattr(scene.world, who)).get(f"/api/audit/{query}")
        assert response.status_code == 403, query
        assert response.json()["error"]["code"] == "forbidden"


def test_the_log_needs_a_login(api, scene):
    assert api.get(f"/api/audit/?case={scene.case.pk}").status_code == 401


@pytest.mark.parametrize("query", ["case=999999", "user=999999"])
def test_an_unknown_case_or_user_is_404(as_user, scene, query):
    response = as_user(scene.world.carol).get(f"/api/audit/?{query}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["case=x", "user=-1", "case=99999999999999999999999"])
def test_a_malformed_id_is_400(as_user, scene, query):
    response = as_user(scene.world.carol).get(f"/api/audit/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


# --- The administrators' pages ---------------------------------------------------------------------------


def test_the_case_log_page_lists_reads_newest_first_without_names(client, scene):
    audit.read_record(user=scene.world.bob, kind="case", case_id=scene.case.pk, ip="192.0.2.7", door="page")
    audit.read_record(user=scene.world.alice, kind="agreement", case_id=scene.case.pk, door="api")
    client.force_login(scene.world.carol)
    response = client.get(f"/audit/cases/{scene.case.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert scene.case.reference in page
    assert "192.0.2.7" in page
    assert page.index("alice") < page.index("bob")  # Newest first.
    # The log names readers and cases by username and reference, never the parties.
    assert "Khan family" not in page
    assert "Gul family" not in page


def test_the_user_log_page_pages_fifty_at_a_time(client, scene):
    reads(scene, 51)
    client.force_login(scene.world.carol)
    first = client.get(f"/audit/users/{scene.world.bob.pk}/")
    assert first.status_code == 200
    assert first.content.decode().count('class="read read-case"') == 50
    second = client.get(f"/audit/users/{scene.world.bob.pk}/?page=2")
    assert second.content.decode().count('class="read read-case"') == 1


@pytest.mark.parametrize("who", ["alice", "bob", "dave", "eve"])
def test_others_are_refused_the_log_pages(client, scene, who):
    client.force_login(getattr(scene.world, who))
    assert client.get(f"/audit/cases/{scene.case.pk}/").status_code == 403
    assert client.get(f"/audit/users/{scene.world.bob.pk}/").status_code == 403
    assert client.get("/audit/cases/999999/").status_code == 403  # Not told whether it exists.


def test_unknown_ids_are_404_pages(client, scene):
    client.force_login(scene.world.carol)
    assert client.get("/audit/cases/999999/").status_code == 404
    assert client.get("/audit/users/999999/").status_code == 404


def test_the_log_pages_need_a_login(client, scene):
    response = client.get(f"/audit/cases/{scene.case.pk}/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- "Who looked at this case" on the case page -----------------------------------------------------------


def section(response) -> str | None:
    page = response.content.decode()
    if 'id="case-reads"' not in page:
        return None
    start = page.index('id="case-reads"')
    return page[start : page.index("</details>", start)]  # The section folds (a <details>) on the case page.


def test_the_forums_facilitator_sees_who_looked_at_the_case(client, scene):
    client.force_login(scene.world.bob)
    client.get(f"/cases/{scene.case.pk}/")
    client.force_login(scene.world.alice)
    shown = section(client.get(f"/cases/{scene.case.pk}/"))
    assert shown is not None
    assert "bob" in shown
    assert "alice" in shown
    assert "/audit/cases/" not in shown  # The whole log is the administrators'.


def test_the_section_shows_the_last_twenty(client, scene):
    old = timezone.now() - timedelta(days=1)
    ReadRecord.objects.create(user=scene.world.dave, kind="case", case=scene.case, door="api", at=old)
    reads(scene, 20)
    client.force_login(scene.world.alice)
    shown = section(client.get(f"/cases/{scene.case.pk}/"))
    assert shown is not None
    assert shown.count("<tr>") == 1 + 20  # The header and the twenty newest (hers, then bob's).
    assert "dave" not in shown


def test_an_administrator_sees_the_section_and_the_link_to_the_whole_log(client, scene):
    client.force_login(scene.world.carol)
    shown = section(client.get(f"/cases/{scene.case.pk}/"))
    assert shown is not None
    assert f"/audit/cases/{scene.case.pk}/" in shown


def test_a_monitor_does_not_see_who_looked(client, scene):
    client.force_login(scene.world.bob)
    response = client.get(f"/cases/{scene.case.pk}/")
    assert response.status_code == 200
    assert section(response) is None


def test_another_forums_facilitator_does_not_see_the_case_at_all(client, scene):
    client.force_login(scene.world.frank)
    assert client.get(f"/cases/{scene.case.pk}/").status_code == 404


def test_an_administrator_browses_the_log_read_only_in_the_django_admin(client, scene):
    read = audit.read_record(user=scene.world.bob, kind="case", case_id=scene.case.pk, door="page")
    client.force_login(scene.world.carol)
    assert client.get("/admin/audit/readrecord/").status_code == 200
    assert client.get(f"/admin/audit/readrecord/{read.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/readrecord/{read.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ReadRecord.objects.filter(pk=read.pk).exists()
