"""The paper register page: upload, the dry run's report in the reader's language, confirm; download; who may."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from audit.models import ReadRecord
from cases.models import Case, CaseEvent
from tests.cases.test_import_register import BAD, GOOD, HEADER

pytestmark = pytest.mark.django_db


def register_file(rows: list[list[str]], name: str = "register.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def test_a_facilitator_checks_then_imports_a_register(client, world):
    client.force_login(world.alice)
    url = f"/forums/{world.jirga.pk}/register/"
    assert url in client.get("/").content.decode()  # Her forums link to their registers.
    assert client.get(url).status_code == 200

    report = client.post(url, {"file": register_file(GOOD + BAD)})

    html = report.content.decode()
    assert report.status_code == 200
    assert Case.objects.count() == 0  # The dry run wrote nothing.
    assert "4 rows would become cases." in html
    assert "11 rows have problems and would be left out." in html
    assert 'data-line="7"' in html
    assert "is not one of" in html
    token = report.context["token"]

    done = client.post(f"/forums/{world.jirga.pk}/register/import/", {"token": token})

    assert done.status_code == 200
    assert "4 imported, 0 already there, 11 rejected" in done.content.decode()
    assert Case.objects.filter(forum=world.jirga).count() == 4
    # The events name the facilitator who imported them.
    assert set(CaseEvent.objects.values_list("actor__username", flat=True)) == {"alice"}
    # The token is spent: a second confirmation imports nothing again.
    again = client.post(f"/forums/{world.jirga.pk}/register/import/", {"token": token})
    assert again.status_code == 400
    assert Case.objects.count() == 4


def test_the_report_is_in_the_readers_language(client, world):
    client.force_login(world.alice)
    client.cookies["django_language"] = "ur"

    html = client.post(f"/forums/{world.jirga.pk}/register/", {"file": register_file(BAD)}).content.decode()

    assert 'lang="ur"' in html
    assert 'dir="rtl"' in html
    assert 'data-line="2"' in html


def test_a_file_lacking_columns_is_one_clear_error(client, world):
    client.force_login(world.alice)
    upload = SimpleUploadedFile("register.csv", b"register_no,opened\nR-1,2020-01-01\n", content_type="text/csv")

    response = client.post(f"/forums/{world.jirga.pk}/register/", {"file": upload})

    assert response.status_code == 400
    assert "The file lacks these columns: title, dispute_type" in response.content.decode()


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a workbook", b"\xff\xfe\x00r\x00e\x00g", b"", b"\n\n"])
def test_a_damaged_or_empty_file_is_refused_not_a_server_error(client, world, content):
    client.force_login(world.alice)
    upload = SimpleUploadedFile("register.xlsx", content)

    response = client.post(f"/forums/{world.jirga.pk}/register/", {"file": upload})

    assert response.status_code == 400
    assert (
        'id="register-error"' in response.content.decode() or "The submitted file is empty" in response.content.decode()
    )
    assert Case.objects.count() == 0


def test_a_token_from_another_session_imports_nothing(client, world):
    client.force_login(world.alice)
    token = client.post(f"/forums/{world.jirga.pk}/register/", {"file": register_file(GOOD)}).context["token"]
    client.force_login(world.carol)  # A new session: the token is not in it.

    response = client.post(f"/forums/{world.jirga.pk}/register/import/", {"token": token})

    assert response.status_code == 400
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("frank", 404), ("eve", 404), ("dave", 404)])
def test_only_the_forums_facilitators_and_administrators_may(client, world, who, status):
    client.force_login(getattr(world, who))
    url = f"/forums/{world.jirga.pk}/register/"

    assert client.get(url).status_code == status
    assert client.post(url, {"file": register_file(GOOD)}).status_code == status
    assert client.get(f"/forums/{world.jirga.pk}/register.csv").status_code == status
    assert Case.objects.count() == 0


def test_an_administrator_imports_and_downloads_the_register(client, world):
    client.force_login(world.carol)
    token = client.post(f"/forums/{world.sulha.pk}/register/", {"file": register_file(GOOD[:1] + GOOD[3:])}).context[
        "token"
    ]
    client.post(f"/forums/{world.sulha.pk}/register/import/", {"token": token})

    download = client.get(f"/forums/{world.sulha.pk}/register.xlsx")

    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][: len(HEADER)] == tuple(HEADER)
    assert sorted(row[0] for row in rows[1:]) == ["R-1", "R-4"]
    read = ReadRecord.objects.get(kind="export")
    assert (read.user_id, read.object_id, read.door) == (world.carol.pk, world.sulha.pk, "page")
