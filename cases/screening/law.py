"""Which law forbids a practice, in the forum's country and the reader's language (data/law.json), beside the
international standard that applies everywhere. Practices an administrator added in the admin, which the file
does not know, fall back to their own name and citations (ProhibitedPractice)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils import translation

from ..models import Forum, ProhibitedPractice

LAW_PATH = Path(__file__).resolve().parent / "data" / "law.json"
INTERNATIONAL = "INT"


@dataclass(frozen=True)
class Law:
    practice: str  # the practice's code
    name: str  # its name in the reader's language
    country: str  # the country's name in the reader's language
    national: tuple[str, ...]  # the country's provisions
    international: tuple[str, ...]  # the international standard's

    @property
    def citations(self) -> list[str]:
        return [*self.national, *self.international]

    def sentence(self) -> str:
        return "; ".join(self.citations)


@cache
def _data() -> dict:
    if not LAW_PATH.exists():
        return {"practices": {}, "countries": {}}
    return json.loads(LAW_PATH.read_text(encoding="utf-8"))


def reader_language(language: str | None = None) -> str:
    """The file's language for a UI language: Dari (fa-af) reads the Persian entries."""
    code = (language or translation.get_language() or "en").lower()
    return {"fa-af": "fa", "fa_af": "fa"}.get(code, code.split("-")[0])


def _pick(entry: dict, language: str) -> str:
    return entry.get(language) or entry.get("en") or next(iter(entry.values()), "")


def law_for(code: str, *, country: str = Forum.Country.PAKISTAN, language: str | None = None) -> Law:
    """The practice's name and law for a forum of `country`, in `language` (the active one by default)."""
    language = reader_language(language)
    data = _data()
    practice = data["practices"].get(code)
    country_name = _pick(data.get("countries", {}).get(country, {}), language) or country
    if practice is None:
        stored = ProhibitedPractice.objects.filter(code=code).first()
        if stored is None:
            return Law(code, code, country_name, (), ())
        return Law(code, stored.name, country_name, tuple(c for c in stored.citations.splitlines() if c.strip()), ())
    laws = practice.get("law", {})
    return Law(
        practice=code,
        name=_pick(practice.get("name", {}), language) or code,
        country=country_name,
        national=tuple(_pick(entry, language) for entry in laws.get(country, [])),
        international=tuple(_pick(entry, language) for entry in laws.get(INTERNATIONAL, [])),
    )
