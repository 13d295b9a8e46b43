"""Translators fix wording in the browser (django-rosetta at /rosetta/): administrators and the "translators" group,
no one else; Sulh's catalogs only; a saved translation is written to the catalog and compiled."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from accounts.roles import TRANSLATORS
from tests.config.test_translations import parse_po

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.fixture
def catalogs(tmp_path, settings):
    """A copy of Sulh's catalogs, so that a test's edit never reaches the repository's."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    settings.LOCALE_PATHS = [copy]
    settings.ROSETTA_EXCLUDED_PATHS = [str(LOCALE)]  # rosetta also finds the project's locale/ by itself
    return copy


ROSETTA_URLS = [
    ("GET", "/rosetta/"),
    ("GET", "/rosetta/files/"),
    ("GET", "/rosetta/files/project/"),
    ("GET", "/rosetta/files/project/ps/0/"),
    ("POST", "/rosetta/files/project/ps/0/"),
    ("GET", "/rosetta/files/project/ps/0/download/"),
    ("GET", "/rosetta/translate/"),
]


@pytest.mark.parametrize("who", [None, "alice", "bob", "dave", "eve"])
def test_only_administrators_and_translators_reach_rosetta(client, world, catalogs, who):
    """Facilitators, monitors, regulators, users without a role and visitors are sent to log in (as someone who
    may translate) from every one of rosetta's pages; nothing of a catalog is shown or changed."""
    if who:
        client.force_login(getattr(world, who))
    before = (catalogs / "ps" / "LC_MESSAGES" / "django.po").read_bytes()
    for method, url in ROSETTA_URLS:
        response = getattr(client, method.lower())(url)
        target = response.get("Location", "")
        if url in ("/rosetta/", "/rosetta/files/"):  # rosetta's own redirects to the file list
            target = client.get(target).get("Location", "")
        assert response.status_code == 302, (method, url, response.status_code)
        assert target.startswith("/login/"), (method, url, target)
    assert (catalogs / "ps" / "LC_MESSAGES" / "django.po").read_bytes() == before


def test_an_administrator_sees_sulhs_catalogs_in_every_language(client, world, catalogs):
    client.force_login(world.carol)
    html = client.get("/rosetta/files/project/").content.decode()
    for language in ("Arabic", "Urdu", "Pashto", "Dari"):
        assert language in html
    assert "rest_framework" not in html


def test_a_translator_changes_a_word_and_the_page_says_it(client, world, catalogs):
    world.eve.groups.add(Group.objects.get_or_create(name=TRANSLATORS)[0])
    client.force_login(world.eve)
    files = client.get("/rosetta/files/project/")
    assert files.status_code == 200
    po = catalogs / "ps" / "LC_MESSAGES" / "django.po"
    entries = parse_po(po)
    # A translated message no other message contains, so that a search finds it alone.
    entry = next(
        e
        for e in entries
        if e.msgctxt is None and e.msgid_plural is None and len(e.msgid) > 12 and e.msgstr.get(0)
        and sum(e.msgid in other.msgid or e.msgid in other.msgstr.get(0, "") for other in entries) == 1
    )  # fmt: skip
    digest = hashlib.md5((entry.msgid + entry.msgstr[0]).encode()).hexdigest()
    form = client.get("/rosetta/files/project/ps/0/", {"query": entry.msgid})
    assert form.status_code == 200
    assert f'name="m_{digest}"' in form.content.decode()
    saved = client.post(f"/rosetta/files/project/ps/0/?query={entry.msgid}", {f"m_{digest}": "نوې ژباړه"})
    assert saved.status_code == 302
    [changed] = [e for e in parse_po(po) if e.msgid == entry.msgid and e.msgctxt is None]
    assert changed.msgstr[0] == "نوې ژباړه"
    assert (catalogs / "ps" / "LC_MESSAGES" / "django.mo").stat().st_mtime >= po.stat().st_mtime - 1
