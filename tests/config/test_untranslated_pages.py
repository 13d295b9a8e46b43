"""No page shows an English string from Sulh's catalog, or an English month name, to a reader of another
language.

Each page is fetched as its user would see it in Pashto, Urdu, Arabic and Dari; every piece of text a person reads
(text nodes, and the labels, titles, placeholders and alternative texts of elements) is compared with the English
messages of the catalog that have a translation of their own. What people wrote themselves (names, descriptions:
inside <bdi>, <code>, <textarea>, <pre>, an element marked translate="no" or dir="auto"), and what is marked as written
in another language (the language menu's "English", lang="en"), is left out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.utils import timezone

from deliberation import services as session_services
from tests.cases.final_cases import case_with_final_agreement
from tests.config.test_translations import parse_po

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = {"ps": "ps", "ur": "ur", "ar": "ar", "fa-af": "fa_AF"}
SKIPPED = {"script", "style", "bdi", "code", "textarea", "pre", "template", "noscript"}
ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "aria-description")
MONTHS = (
    "January February March April May June July August September October November December "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec a.m. p.m. AM PM"
).split()
_MONTH = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(m) for m in MONTHS) + r")(?![A-Za-z])")


def english_messages(catalog: str) -> set[str]:
    """The catalog's English messages that a page could show whole and that the language translates differently:
    with a word, longer than an abbreviation, without placeholders (a message with one is compared by what
    surrounds it: too loose to be useful here)."""
    messages = set()
    for entry in parse_po(LOCALE / catalog / "LC_MESSAGES" / "django.po"):
        translations = set(entry.msgstr.values())
        for text in (entry.msgid, entry.msgid_plural):
            if not text or text in translations or "%" in text or "{" in text:
                continue
            if len(text) > 3 and re.search(r"[A-Za-z]{3}", text):
                messages.add(_squash(text))
    return messages


def _squash(text: str) -> str:
    return " ".join(text.split())


class Reader(HTMLParser):
    """The text a person reads on the page, outside what people wrote themselves."""

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.texts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        elsewhere = tag != "html" and values.get("lang") not in (None, "", self.language)
        elsewhere = elsewhere or values.get("dir") == "auto"  # what people wrote, of either direction
        if self._skipping or tag in SKIPPED or values.get("translate") == "no" or elsewhere:
            if tag not in {"br", "img", "input", "meta", "link", "hr", "wbr", "source"}:
                self._skipping.append(tag)
            return
        for name in ATTRIBUTES:
            if values.get(name):
                self.texts.append(values[name])
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.texts.append(values["value"])

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.texts.append(data)


# Two English-looking words in a row: a string nobody marked for translation (it is in no catalog). Names of laws,
# currencies and abbreviations are the same in every language.
_ENGLISH = re.compile(r"\b[A-Za-z][a-z]{2,}\s+[a-z]{2,}\b")


def untranslated(html: str, messages: set[str], language: str) -> list[str]:
    reader = Reader(language)
    reader.feed(html)
    found = []
    for raw in reader.texts:
        text = _squash(raw)
        if text in messages or text.rstrip(":.") in messages or _MONTH.search(text) or _ENGLISH.search(text):
            found.append(text)
    return found


@pytest.fixture
def pages(world):
    """A jirga case with a final agreement, parties and a started session; the pages each role reads."""
    case = case_with_final_agreement(user=world.alice, forum=world.jirga)
    session = session_services.session_schedule(
        user=world.alice, case_id=case.pk, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    session_services.session_start(user=world.alice, session_id=session.pk)
    return {
        world.alice: [
            "/",
            "/cases/",
            f"/cases/{case.pk}/",
            f"/cases/{case.pk}/sessions/",
            f"/sessions/{session.pk}/",
            f"/sessions/{session.pk}/transcript/",
            "/account/",
        ],
        world.bob: ["/monitor/", f"/cases/{case.pk}/"],
        world.carol: ["/", "/reports/escalations/", "/screening/reviews/"],
        world.dave: ["/", "/reports/patterns/"],
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_shows_english_to_a_reader_of_another_language(client, pages, language):
    messages = english_messages(LANGUAGES[language])
    client.cookies["django_language"] = language
    problems = []
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, (url, response.status_code)
            assert f'lang="{language}"' in response.content.decode(), url
            problems += [
                f"{user.username} {url}: {text!r}"
                for text in untranslated(response.content.decode(), messages, language)
            ]
    assert not problems, "\n".join(problems)


def test_a_verification_code_is_never_taken_for_words(client, world, monkeypatch):
    """A settlement's random code ("XP4AM-65F4H") is no text to translate: the page says so (translate="no"), so that
    neither a browser's translator nor this check reads its "AM" as a time of day (it failed now and then)."""
    from cases import settlements

    monkeypatch.setattr(settlements, "code_new", lambda: "XP4AM65F4H")
    case = case_with_final_agreement(user=world.alice, forum=world.jirga)
    client.force_login(world.alice)
    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ur").content.decode()
    assert "XP4AM-65F4H" in page
    assert untranslated(page, set(), "ur") == []
