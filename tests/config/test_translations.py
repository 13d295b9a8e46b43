"""The Arabic, Urdu, Pashto and Dari catalogs are complete, compiled, and actually used by the pages.

The .po files are parsed here with a small reader (no new dependency). The .mo check does not trust
file times, which git does not keep: each .po is compiled in memory and both catalogs are read back
through gettext.GNUTranslations, so a .po edited without `compilemessages` fails the test.
"""

from __future__ import annotations

import ast
import gettext
import io
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
# Locale folder name -> the language code the site uses (settings.LANGUAGES).
LOCALES = {"ar": "ar", "ur": "ur", "ps": "ps", "fa_AF": "fa-af"}
NPLURALS = {"ar": 6, "ur": 2, "ps": 2, "fa_AF": 2}

# %(name)s, %s, %d … as Python formats them; %% is a literal percent sign, not a placeholder.
# A literal percent sign is written %% and is no placeholder; the alternative consumes it first.
PLACEHOLDER = re.compile(r"%%|%(?:\([^)]+\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> str:
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    assert text.startswith('"'), f"{where}: not a quoted string: {text!r}"
    assert text.endswith('"'), f"{where}: not a quoted string: {text!r}"
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Read a .po file into entries. Obsolete (#~) entries are skipped, as msgfmt skips them."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int] | None = None  # which string the next continuation line extends

    def finish() -> None:
        nonlocal current, flags, target
        if current is not None:
            entries.append(current)
        current, flags, target = None, set(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path}:{number}"
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and current.msgstr:
                finish()
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert current is not None, f"{where}: continuation outside an entry"
            assert target is not None, f"{where}: continuation outside an entry"
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += _unquote(line, where)
            else:
                setattr(current, name, (getattr(current, name) or "") + _unquote(line, where))
            continue
        if keyword in {"msgctxt", "msgid"} and current is not None and current.msgstr:
            finish()
        if keyword == "msgctxt":
            current = Entry(msgid="", msgctxt=_unquote(rest, where), flags=flags, line=number)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            if current is None:
                current = Entry(msgid="", flags=flags, line=number)
            current.msgid = _unquote(rest, where)
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            assert current is not None, where
            current.msgid_plural = _unquote(rest, where)
            target = ("msgid_plural", 0)
        elif keyword == "msgstr" or keyword.startswith("msgstr["):
            assert current is not None, where
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            current.msgstr[index] = _unquote(rest, where)
            target = ("msgstr", index)
        else:
            raise AssertionError(f"{where}: unexpected line {raw!r}")
    finish()
    return entries


def compile_mo(entries: list[Entry]) -> bytes:
    """What msgfmt would write: fuzzy and untranslated entries left out, keys sorted."""
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if "fuzzy" in entry.flags and entry.msgid != "":
            continue
        forms = [entry.msgstr[i] for i in sorted(entry.msgstr)]
        if not all(forms):
            continue
        key = entry.key if entry.msgid_plural is None else f"{entry.key}\x00{entry.msgid_plural}"
        messages[key.encode()] = "\x00".join(forms).encode()
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for k in keys:
        offsets.append((len(ids), len(k), len(strs), len(messages[k])))
        ids += k + b"\x00"
        strs += messages[k] + b"\x00"
    keystart = 7 * 4 + 16 * len(keys)
    valuestart = keystart + len(ids)
    koffsets, voffsets = [], []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + keystart]
        voffsets += [l2, o2 + valuestart]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    return (
        header + struct.pack(f"{len(koffsets)}i", *koffsets) + struct.pack(f"{len(voffsets)}i", *voffsets) + ids + strs
    )


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "django.po"


def catalog(locale: str) -> list[Entry]:
    path = po_path(locale)
    assert path.is_file(), f"{path} is missing; run makemessages"
    return parse_po(path)


def translation_of(locale: str, msgid: str) -> str:
    matches = [e for e in catalog(locale) if e.msgid == msgid and e.msgctxt is None]
    assert matches, f"{msgid!r} is not in the {locale} catalog"
    return matches[0].msgstr[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale):
    entries = catalog(locale)
    header, messages = entries[0], entries[1:]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags, "the header must not be fuzzy"
    assert "charset=UTF-8" in header.msgstr[0]
    assert f"Language: {locale}\n" in header.msgstr[0]
    assert f"nplurals={NPLURALS[locale]};" in header.msgstr[0]
    assert messages, f"the {locale} catalog is empty"
    problems = []
    for entry in messages:
        where = f"{po_path(locale)}:{entry.line} {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where} is fuzzy")
        expected_forms = NPLURALS[locale] if entry.msgid_plural is not None else 1
        if sorted(entry.msgstr) != list(range(expected_forms)):
            problems.append(f"{where} has forms {sorted(entry.msgstr)}, expected {expected_forms}")
        if not all(s.strip() for s in entry.msgstr.values()):
            problems.append(f"{where} has an empty msgstr")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    problems = []
    for entry in catalog(locale)[1:]:
        singular = set(PLACEHOLDER.findall(entry.msgid))
        plural = set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        last = max(entry.msgstr)
        for index, text in entry.msgstr.items():
            found = set(PLACEHOLDER.findall(text))
            # Every placeholder is kept: all of msgid's in a singular message; all of msgid_plural's
            # in the general (last) plural form. A form such as Arabic "one" may leave the count out.
            required = singular if entry.msgid_plural is None else (plural if index == last else set())
            if missing := required - found:
                problems.append(f"{entry.msgid!r} [{index}] lost {sorted(missing)}")
            # None is invented: an unknown %(name)s raises KeyError when the page is rendered.
            if extra := found - singular - plural:
                problems.append(f"{entry.msgid!r} [{index}] has unknown {sorted(extra)}")
    assert not problems, "\n".join(problems)


def test_all_languages_carry_the_same_messages():
    keys = {locale: {e.key for e in catalog(locale)} for locale in LOCALES}
    reference = keys["ar"]
    for locale, found in keys.items():
        assert found == reference, f"{locale} differs from ar: {sorted(found ^ reference)}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_mo_file_is_compiled_from_the_current_po(locale):
    mo = po_path(locale).with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing; run compilemessages"
    expected = gettext.GNUTranslations(io.BytesIO(compile_mo(catalog(locale))))
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # _catalog is the dictionary gettext builds from a .mo; the same reader reads both sides.
    stale = f"{mo} is out of date; run compilemessages"
    messages = {k: v for k, v in compiled._catalog.items() if k != ""}
    assert messages == {k: v for k, v in expected._catalog.items() if k != ""}, stale
    # GNU msgfmt leaves POT-Creation-Date out of the compiled header; every other field must match.
    assert compiled.info() == {k: v for k, v in expected.info().items() if k != "pot-creation-date"}, stale
    assert compiled.info().get("language") == locale


def switch_language(client, code: str):
    response = client.post("/i18n/setlang/", {"language": code, "next": "/login/"})
    assert response.status_code == 302, response.status_code
    return client.get("/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("locale", LOCALES)
def test_the_login_page_is_right_to_left_in_each_language(client, locale):
    code = LOCALES[locale]
    response = switch_language(client, code)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'dir="rtl"' in html
    assert f'lang="{code}" dir=' in html, f"the <html> element does not say lang={code!r}"
    log_in = translation_of(locale, "Log in")
    assert log_in != "Log in"
    assert f"<h1>{log_in}</h1>" in html
    assert f'<button type="submit" class="primary">{log_in}</button>' in html


@pytest.mark.django_db
def test_the_login_page_is_left_to_right_in_english(client):
    switch_language(client, "ar")
    response = switch_language(client, "en")
    html = response.content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert 'dir="rtl"' not in html
    assert "<h1>Log in</h1>" in html
