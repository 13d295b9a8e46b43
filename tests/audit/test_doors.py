"""Every door that shows a case, its agreement, its timeline or a session's transcript records one read: who,
what, which case, from where and through which door; refused reads record nothing."""

from __future__ import annotations

import pytest

from audit import services as audit
from audit.models import ReadRecord

from .conftest import only_read

pytestmark = pytest.mark.usefixtures("postgres")

FROM = "203.0.113.7"


def assert_read(read: ReadRecord, *, user, kind: str, case_id, object_id, door: str, ip: str | None = FROM) -> None:
    assert (read.user_id, read.kind, read.case_id, read.object_id, read.door, read.ip) == (
        user.pk, kind, case_id, object_id, door, ip,
    )  # fmt: skip


def test_the_case_page_records_one_read(client, scene):
    client.force_login(scene.world.alice)
    assert client.get(f"/cases/{scene.case.pk}/", REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="case", case_id=scene.case.pk, object_id=scene.case.pk,
                door="page")  # fmt: skip


def test_the_case_api_records_one_read(as_user, scene):
    assert as_user(scene.world.alice).get(f"/api/cases/{scene.case.pk}/", REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="case", case_id=scene.case.pk, object_id=scene.case.pk,
                door="api")  # fmt: skip


def test_the_timeline_api_records_one_read(as_user, scene):
    assert as_user(scene.world.alice).get(f"/api/cases/{scene.case.pk}/timeline/", REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="timeline", case_id=scene.case.pk,
                object_id=scene.case.pk, door="api")  # fmt: skip


def test_the_agreement_api_records_one_read(as_user, scene):
    response = as_user(scene.world.alice).get(f"/api/cases/{scene.case.pk}/agreement/", REMOTE_ADDR=FROM)
    assert response.status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="agreement", case_id=scene.case.pk,
                object_id=scene.agreement.pk, door="api")  # fmt: skip


def test_the_transcript_api_records_one_read(as_user, scene):
    response = as_user(scene.world.bob).get(f"/api/sessions/{scene.session.pk}/transcript/", REMOTE_ADDR=FROM)
    assert response.status_code == 200
    assert_read(only_read(), user=scene.world.bob, kind="transcript", case_id=scene.case.pk,
                object_id=scene.session.pk, door="api")  # fmt: skip


@pytest.mark.parametrize("path", ["/sessions/{}/transcript/", "/sessions/{}/transcript/print/"])
def test_the_transcript_pages_record_one_read(client, scene, path):
    client.force_login(scene.world.alice)
    assert client.get(path.format(scene.session.pk), REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="transcript", case_id=scene.case.pk,
                object_id=scene.session.pk, door="page")  # fmt: skip


@pytest.mark.parametrize("path", ["/cases/", "/api/cases/"])
def test_a_case_list_is_one_read_without_a_case(client, scene, path):
    """Lists are recorded whole (kind case_list), not case by case."""
    client.force_login(scene.world.alice)
    assert client.get(path, REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="case_list", case_id=None, object_id=None,
                door="api" if path.startswith("/api/") else "page")  # fmt: skip


def test_the_admin_change_view_of_a_case_records_one_read(client, scene):
    client.force_login(scene.world.carol)
    assert client.get(f"/admin/cases/case/{scene.case.pk}/change/", REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.carol, kind="case", case_id=scene.case.pk, object_id=scene.case.pk,
                door="admin")  # fmt: skip


def test_the_admin_change_view_of_a_session_records_a_transcript_read(client, scene):
    client.force_login(scene.world.carol)
    response = client.get(f"/admin/deliberation/dialoguesession/{scene.session.pk}/change/", REMOTE_ADDR=FROM)
    assert response.status_code == 200
    assert_read(only_read(), user=scene.world.carol, kind="transcript", case_id=scene.case.pk,
                object_id=scene.session.pk, door="admin")  # fmt: skip


def test_the_admin_records_nothing_for_an_unknown_object(client, scene):
    client.force_login(scene.world.carol)
    client.get("/admin/cases/case/999999/change/")
    assert not ReadRecord.objects.exists()


def test_a_monitor_reading_a_case_is_recorded(client, as_user, scene):
    client.force_login(scene.world.bob)
    assert client.get(f"/cases/{scene.case.pk}/", REMOTE_ADDR=FROM).status_code == 200
    assert as_user(scene.world.bob).get(f"/api/cases/{scene.case.pk}/agreement/").status_code == 200
    kinds = list(ReadRecord.objects.filter(user=scene.world.bob).order_by("id").values_list("kind", "door"))
    assert kinds == [("case", "page"), ("agreement", "api")]


@pytest.mark.parametrize("who", ["eve", "frank", "dave"])
def test_a_refused_read_records_nothing(client, as_user, scene, who):
    user = getattr(scene.world, who)
    client.force_login(user)
    assert client.get(f"/cases/{scene.case.pk}/").status_code == 404
    api = as_user(user)
    for path in (f"/api/cases/{scene.case.pk}/", f"/api/cases/{scene.case.pk}/timeline/",
                 f"/api/cases/{scene.case.pk}/agreement/", f"/api/sessions/{scene.session.pk}/transcript/"):  # fmt: skip
        assert api.get(path).status_code == 404
    assert not ReadRecord.objects.exists()


def test_the_address_is_the_one_resolved_from_the_trusted_proxies(client, scene, settings):
    """A client talking to us directly cannot choose the address in the log with X-Forwarded-For; behind a
    configured proxy the forwarded address is the client's."""
    client.force_login(scene.world.alice)
    client.get(f"/cases/{scene.case.pk}/", REMOTE_ADDR=FROM, HTTP_X_FORWARDED_FOR="198.51.100.1")
    settings.TRUSTED_PROXIES = ["203.0.113.0/24"]
    client.get(f"/cases/{scene.case.pk}/", REMOTE_ADDR=FROM, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert list(ReadRecord.objects.order_by("id").values_list("ip", flat=True)) == [FROM, "198.51.100.1"]


def test_recording_a_read_is_one_insert(scene, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        audit.read_record(user=scene.world.alice, kind="case", case_id=scene.case.pk, object_id=scene.case.pk,
                          ip="2001:db8::1", door="api")  # fmt: skip
    assert captured.captured_queries[0]["sql"].startswith("INSERT")
    assert only_read().ip == "2001:db8::1"


def test_an_address_postgresql_would_refuse_is_stored_as_none(scene):
    audit.read_record(user=scene.world.alice, kind="case", case_id=scene.case.pk, ip="unix:/run/sock", door="api")
    assert only_read().ip is None


def test_a_wrong_kind_or_door_is_a_programming_error(scene):
    with pytest.raises(ValueError, match="kind"):
        audit.read_record(user=scene.world.alice, kind="gossip", door="api")
    with pytest.raises(ValueError, match="door"):
        audit.read_record(user=scene.world.alice, kind="case", door="window")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_register_export_with_names_is_one_read(client, scene, fmt):
    client.force_login(scene.world.alice)
    response = client.get(f"/forums/{scene.world.jirga.pk}/register.{fmt}", REMOTE_ADDR=FROM)
    assert response.status_code == 200
    assert_read(only_read(), user=scene.world.alice, kind="export", case_id=None, object_id=scene.world.jirga.pk,
                door="page")  # fmt: skip


def test_the_printed_settlement_is_one_read(client, scene):
    from cases import services as case_services

    version = scene.case.version
    for state in ("mandate", "hearings", "legality_review", "decision"):  # The agreement is final in `decision`.
        version = case_services.case_transition(
            user=scene.world.alice, case_id=scene.case.pk, to=state, version=version
        ).version
    client.force_login(scene.world.alice)
    response = client.get(f"/cases/{scene.case.pk}/settlement/", REMOTE_ADDR=FROM)
    assert response.status_code == 200
    read = only_read()
    assert (read.user_id, read.kind, read.case_id, read.door, read.ip) == (
        scene.world.alice.pk, "settlement", scene.case.pk, "page", FROM,
    )  # fmt: skip


def test_the_monitors_page_is_one_list_read(client, scene):
    client.force_login(scene.world.bob)
    assert client.get("/monitor/", REMOTE_ADDR=FROM).status_code == 200
    assert_read(only_read(), user=scene.world.bob, kind="case_list", case_id=None, object_id=None, door="page")
