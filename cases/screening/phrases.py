"""The phrase syntax shared by the practices' phrases (ProhibitedPhrase, edited in the admin) and the screening's
own rules (data/rules.json), and its parser.

- ``swara`` or ``badal-e-sulh`` or ``بدل صلح`` — a name: these words, whole and in this order. A word also
  matches its inflected forms (English "-s", "-ed", "-ing"; Urdu, Pashto and Dari plural, oblique and indefinite
  endings; Arabic suffixes and, in Arabic, one proclitic); a Latin word also matches romanised spellings of it
  ("swarra", "sawara" for "swara"; see cases.screening.text).
- ``marr*`` — a word ending in ``*`` matches any word that starts with it. Use stems of at least three letters.
- ``swara|sawara`` — alternatives, separated by ``|``; any one of them matches.
- ``@female`` — any word or phrase of a concept of the screening lexicon (data/lexicon.json), in any language;
  ``@female.theme`` — the same, except where it is marked as a recipient ("to the girl", "لوڼو ته", "به دختر",
  Arabic "لـ") or a possessor ("the girl's father"); ``@male_kin.recipient`` — only where it is marked as a
  recipient ("to the brothers", "بھائیوں کو", "وروڼو ته"); ``@settle.free`` — the same words, except where they
  are the possessor of words another group matched ("the complainant's daughter", "مدعی کی بیٹی", "دختر مدعی":
  she belongs to that side, she is not given to it).
- ``girl|daughter* + marr*|nikah + compensation|feud`` — a description: groups separated by ``+``. Every group
  must occur, in any order, in one clause (a clause ends at . ; : ؛ ۔ ! ?), within 10 content words: stop words
  and legal citations do not count. A screening rule marked "window": "clause" (data/rules.json) lets them stand
  anywhere in the clause: formal deeds spread a victim, her name and the verb that discloses it over many words.
- ``… + !consent|@amount`` — a group that starts with ``!`` is an exception: the description does not match when
  one of its alternatives occurs among the matched words or within 4 words of them in the clause, unless the
  exception is itself negated ("without mahr", "no consent").
- A phrase that starts with ``?`` holds a term for a legal reviewer instead of refusing it (a partial
  description, an ambiguous name). One that starts with ``=`` is a lawful use (the screening's own rules:
  "badal-e-sulh" with an amount is the lawful compensation of PPC s.310): where it matches, it overrides names of
  the practice on the same words (a rule marked "scope": "term" in data/rules.json: every match of the practice
  in the term, as when the case is sent to the police).

Whatever the phrase, a term that negates or forbids what it describes passes ("no girl shall be given", "swara
is forbidden"), unless the negation is itself negated ("shall not refuse to give the girl").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from . import text

MIN_STEM = 2
BLOCK, REVIEW, LAWFUL = "block", "review", "lawful"

# A word: its normalised text, whether it is a stem, and how it is compared: "latin" (English, with its
# inflections), "roman" (romanised Urdu and Pashto, by spelling skeleton), "arabic" (Arabic script, by forms).
Word = tuple[str, bool, str]
Alternative = tuple[Word, ...]
CONCEPT = "@"
MODIFIERS = ("", "theme", "recipient", "free")


@dataclass(frozen=True)
class Group:
    alternatives: tuple[Alternative, ...]
    concepts: tuple[tuple[str, str], ...]  # (concept, modifier: "", "theme" or "recipient")


@dataclass(frozen=True)
class Parsed:
    level: str  # BLOCK, REVIEW or LAWFUL
    groups: tuple[Group, ...]
    exceptions: Group


def words_of(raw: str, *, stem_ok: bool = True, roman_too: bool = True) -> list[Alternative]:
    """The alternatives one written word sequence stands for (a Latin name is also tried as romanised)."""
    latin: list[Word] = []
    roman: list[Word] = []
    any_latin = False
    for raw_word in raw.split():
        stem = raw_word.endswith("*") and stem_ok
        parts = text.normalise(raw_word.rstrip("*")).split()
        if not parts:
            continue
        if stem and len(parts[-1]) < MIN_STEM:
            raise ValueError(_("“%(word)s” is too short to match the start of words.") % {"word": raw_word})
        for index, part in enumerate(parts):
            is_stem = stem and index == len(parts) - 1
            if text.is_latin(part):
                any_latin = True
                latin.append((part, is_stem, "latin"))
                roman.append((text.roman_skeleton(part), is_stem, "roman"))
            else:
                latin.append((part, is_stem, "arabic" if not part.isdigit() else "latin"))
                roman.append(latin[-1])
    if not latin:
        return []
    alternatives = [tuple(latin)]
    if roman_too and any_latin and not any(stem for _w, stem, _m in latin) and tuple(roman) != tuple(latin):
        alternatives.append(tuple(roman))
    return alternatives


def parse(phrase: str, concepts: frozenset[str] | None = None) -> Parsed:
    """The phrase's groups; ValueError, in words an administrator understands, when it cannot be used."""
    body = phrase.strip()
    level = BLOCK
    if body.startswith("?"):
        level, body = REVIEW, body[1:]
    elif body.startswith("="):
        level, body = LAWFUL, body[1:]
    groups: list[Group] = []
    exception_alternatives: list[Alternative] = []
    exception_concepts: list[tuple[str, str]] = []
    for raw_group in body.split("+"):
        raw_group = raw_group.strip()
        is_exception = raw_group.startswith("!")
        alternatives: list[Alternative] = []
        group_concepts: list[tuple[str, str]] = []
        for raw_alternative in raw_group.lstrip("!").split("|"):
            raw_alternative = raw_alternative.strip()
            if raw_alternative.startswith(CONCEPT):
                name, _dot, modifier = raw_alternative[1:].strip().partition(".")
                if concepts is not None and name not in concepts:
                    raise ValueError(_("“@%(name)s” is not a concept of the screening lexicon.") % {"name": name})
                if modifier not in MODIFIERS:
                    raise ValueError(
                        _("“.%(modifier)s” is not a concept modifier (.theme or .recipient).") % {"modifier": modifier}
                    )
                group_concepts.append((name, modifier))
                continue
            alternatives.extend(words_of(raw_alternative))
        if not alternatives and not group_concepts:
            raise ValueError(_("Every part between “+” needs at least one word."))
        if is_exception:
            exception_alternatives.extend(alternatives)
            exception_concepts.extend(group_concepts)
        else:
            groups.append(Group(tuple(alternatives), tuple(group_concepts)))
    if not groups:
        raise ValueError(_("A phrase needs words to look for, not only exceptions."))
    return Parsed(level, tuple(groups), Group(tuple(exception_alternatives), tuple(exception_concepts)))
