"""The screening's language data (data/lexicon.json, data/rules.json): concept lexicons per language, stop words,
and the rules that describe the practices by concepts. Read once per process; both are versioned with the code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import text
from .phrases import Alternative, words_of

DATA = Path(__file__).resolve().parent / "data"
LEXICON_PATH = DATA / "lexicon.json"
RULES_PATH = DATA / "rules.json"

ROMAN = "roman"
# Concepts the engine itself reads (scope of negation); the rest are for rules and phrases.
NEGATION, NEGATION_SOV, PROHIBITION, CONDITIONAL, DIVIDER = (
    "negation", "negation_sov", "prohibition", "conditional", "divider",
)  # fmt: skip


# Concepts whose words hold a negation that makes the term worse ("consent is not required", "no share", "will not
# be questioned"): the negation inside them negates nothing (matcher.Term.negators).
WORSE_NEGATIONS = ("consent_waived", "no_share", "impunity", "counsel_unneeded", "not_pursued")


@dataclass(frozen=True)
class Rule:
    practice: str
    phrase: str
    languages: frozenset[str]  # where it applies: "latin" and Arabic-script languages; empty for everywhere
    note: str
    whole_term: bool = False  # a lawful use ("=") that clears every match of its practice in the term, not one name
    clause_wide: bool = False  # "window": "clause": the groups anywhere in one clause, not within matcher.WINDOW


@cache
def _lexicon() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    return data


def _entry_alternatives(language: str, entry: str) -> list[Alternative]:
    if language == ROMAN:
        words = []
        for raw_word in entry.split():
            stem = raw_word.endswith("*")
            for part in text.normalise(raw_word.rstrip("*")).split():
                if part.isdigit():
                    words.append((part, False, "latin"))
                else:
                    words.append((text.roman_skeleton(part), stem, "roman"))
        return [tuple(words)] if words else []
    return words_of(entry, roman_too=False)


# The lexicons a term's Arabic-script words are looked up in, by the language their letters show: Urdu and Arabic
# alone; Pashto and Dari each other's too (Pashto typed on a Persian keyboard shows no Pashto letter, and Dari
# terms borrow Pashto words). Latin-script words are looked up in English and romanised Urdu and Pashto.
LATIN_LEXICONS = ("en", ROMAN)
# Concepts whose words are not borrowed between Pashto and Dari: Pashto "که" is "if", Dari "که" is "that".
OWN_LANGUAGE_ONLY = frozenset(("conditional",))
ARABIC_LEXICONS = {"ur": ("ur",), "ps": ("ps", "fa"), "fa": ("fa", "ps"), "ar": ("ar",), None: ()}


@cache
def concepts() -> dict[str, dict[str, tuple[Alternative, ...]]]:
    """Each concept's alternatives, per lexicon language."""
    result: dict[str, dict[str, tuple[Alternative, ...]]] = {}
    for name, languages in _lexicon()["concepts"].items():
        per_language: dict[str, tuple[Alternative, ...]] = {}
        for language, entries in languages.items():
            alternatives: list[Alternative] = []
            for entry in entries:
                alternatives.extend(_entry_alternatives(language, entry))
            per_language[language] = tuple(dict.fromkeys(alternatives))
        result[name] = per_language
    return result


@cache
def concept_names() -> frozenset[str]:
    return frozenset(_lexicon()["concepts"])


@cache
def stopwords() -> frozenset[str]:
    words: set[str] = set()
    for entries in _lexicon()["stopwords"].values():
        for entry in entries:
            words.update(text.normalise(entry).split())
    return frozenset(words)


@cache
def dividers(language: str | None = None) -> frozenset[str]:
    """Single words that begin a new part of a clause (conjunctions): English and romanised ones, and those of the
    Arabic-script language the term's letters show (Arabic "بل", "but", is Pashto "other"); every language's when
    the term shows none."""
    languages = (*LATIN_LEXICONS, *ARABIC_LEXICONS.get(language, ())) if language else None
    words: set[str] = set()
    for entry_language, entries in _lexicon()["concepts"][DIVIDER].items():
        if languages is not None and entry_language not in languages:
            continue
        for entry in entries:
            parts = text.normalise(entry).split()
            if len(parts) == 1:
                words.add(parts[0])
    return frozenset(words)


@cache
def latin_stopwords() -> tuple[frozenset[str], frozenset[str]]:
    """English stop words that are not romanised Urdu or Pashto ones, and the reverse ("no" is in neither)."""
    data = _lexicon()["stopwords"]
    english = {w for entry in data["en"] for w in text.normalise(entry).split()}
    roman = {w for entry in data[ROMAN] for w in text.normalise(entry).split()}
    return frozenset(english - roman - {"no"}), frozenset(roman - english - {"no"})


@cache
def coordinators() -> frozenset[str]:
    """ "and", "or": the conjunctions that join parts of a list (others subordinate a part)."""
    return frozenset(
        text.normalise(entry) for entries in _lexicon()["concepts"]["coordinator"].values() for entry in entries
    )


@cache
def rules() -> tuple[Rule, ...]:
    data = json.loads(RULES_PATH.read_text(encoding="utf-8"))
    return tuple(
        Rule(
            entry["practice"],
            entry["phrase"],
            frozenset(entry.get("languages", ())),
            entry.get("note", ""),
            entry.get("scope") == "term",
            entry.get("window") == "clause",
        )  # fmt: skip
        for entry in data["rules"]
    )
