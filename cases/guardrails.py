"""Prohibited-term recognition: is an agreement term one of the practices the law forbids?

Agreement terms are free text in English, Urdu, Pashto, Dari or Arabic. `find_prohibition(text)`
answers with the first prohibited practice the text names or describes (a `Prohibition`, carrying
the practice's code, name and citations and the stored phrase that matched), or None. The practices
and their phrases are data (`ProhibitedPractice`, `ProhibitedPhrase`), shipped in
`cases/data/prohibited_practices.json` and editable in the admin.

Normalisation
-------------
Text and phrases go through the same `normalise()`: Unicode NFKC and casefold; Arabic diacritics,
tatweel and hamza seats removed (pyarabic); letters that differ only between the Arabic, Urdu,
Pashto and Dari alphabets unified (ك/ک, ي/ی/ى/ے/ې/ۍ, ه/ہ/ھ/ة/ۀ, ں/ڼ→ن, ګ→گ …); Latin accents
removed; apostrophes dropped ("Qur'an" is "quran"); Arabic-Indic and Persian digits made ASCII;
the zero-width non-joiner becomes a space; every other run of punctuation or space becomes one
space. Arabic words are also tried without a leading article or conjunction (ال، وال، بال، لل، و، ب …),
so "الزواج" and "بالزواج" both match a phrase written "زواج".

Phrase syntax (what an administrator types in the admin)
-----------------------------------------------------------
- ``swara`` or ``badal-e-sulh`` or ``بدل صلح`` — a name: these words, whole and in this order.
- ``marr*`` — a word ending in ``*`` matches any word that starts with it ("marry", "married",
  "marriage"). Use stems of at least three letters; short stems match unrelated words.
- ``swara|sawara|swarah`` — alternatives, separated by ``|``; any one of them matches.
- ``girl|daughter*|sister* + marr*|nikah + as compensation|blood money|to end the feud`` — a
  description: groups separated by ``+``. Every group must occur, in any order, within 10
  consecutive words of the term.
- ``… + !not|never|no one`` — a group that starts with ``!`` is an exception: the description does
  not match when one of its alternatives occurs among the matched words or within 4 words of them
  ("the widow will not be deprived of her share" is a protection, not a deprivation).

A phrase that cannot be parsed (an empty group, a stem shorter than two letters, only exceptions)
is skipped with a warning in the log; `validate_phrase` explains what is wrong with it.

Caching
-------
The active phrases are compiled once per process. Saving or deleting a practice or a phrase
(signals below, connected when `cases.apps` imports this module) drops the compiled copy at once;
when the change commits, a generation token in Django's cache changes too, so other processes (the
other web workers, Celery) recompile on their next check. Bulk changes that bypass signals
(`QuerySet.update`, `bulk_create`) must call `invalidate()` themselves.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pyarabic import araby

from .models import ProhibitedPhrase, ProhibitedPractice

logger = logging.getLogger(__name__)

DATA_PATH = Path(__file__).resolve().parent / "data" / "prohibited_practices.json"

# How many consecutive words a description's groups must fit in, and how far around the matched
# words an exception ("!") group is looked for.
WINDOW = 10
EXCEPTION_REACH = 4
MIN_STEM = 2

_GENERATION_KEY = "cases.guardrails.generation"


@dataclass(frozen=True)
class Prohibition:
    practice_code: str
    practice_name: str
    citations: tuple[str, ...]
    matched: str  # the stored phrase that matched


# --- Normalisation --------------------------------------------------------------------------------

# Letters that the Arabic, Urdu, Pashto and Dari alphabets write differently for the same sound, or
# that keyboards substitute for one another. pyarabic knows only the Arabic alphabet, so the other
# three need this table. Pashto's ښ and ږ are unified with ش and ژ because many Pashto speakers type
# on Persian or Urdu keyboards that lack them.
_LETTERS = {
    "ک": "ك",
    "ڪ": "ك",
    "ګ": "گ",
    "ی": "ي",
    "ى": "ي",
    "ے": "ي",
    "ې": "ي",
    "ۍ": "ي",
    "ێ": "ي",
    "ہ": "ه",
    "ھ": "ه",
    "ە": "ه",
    "ۃ": "ه",
    "ة": "ه",
    "ں": "ن",
    "ڼ": "ن",
    "ټ": "ٹ",
    "ډ": "ڈ",
    "ړ": "ڑ",
    "ښ": "ش",
    "ږ": "ژ",
    "ٱ": "ا",
    "\u200c": " ",  # zero-width non-joiner: Persian writes "می‌دهند" with it, or a space, or nothing
}
_LETTERS.update({chr(0x0660 + d): str(d) for d in range(10)})  # Arabic-Indic digits
_LETTERS.update({chr(0x06F0 + d): str(d) for d in range(10)})  # Persian and Urdu digits
_TRANSLATE = str.maketrans(_LETTERS)

_APOSTROPHES = regex.compile(r"['\u2018\u2019\u02bc\u02bb\u02be\u02bf\u0060\u00b4]")
_COMBINING_HAMZA = regex.compile(r"[\u0654\u0655]")
_MARKS = regex.compile(r"\p{Mn}+")
_FORMAT = regex.compile(r"\p{Cf}+")
_DOUBLE_YEH = regex.compile(r"ي{2,}")
_NOT_WORD = regex.compile(r"[^\p{L}\p{N}]+")


def normalise(text: str) -> str:
    """The form in which terms and phrases are compared: lower case, one script per letter, no marks,
    words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    # A hamza typed as a separate mark (Persian "خانهٔ") is a grammatical ending, not a letter; pyarabic
    # would turn it into an alef, so it goes first.
    text = _COMBINING_HAMZA.sub("", text)
    text = araby.strip_tatweel(araby.strip_tashkeel(text))
    text = araby.normalize_teh(araby.normalize_hamza(araby.normalize_ligature(text), method="tasheel"))
    # Whatever marks are left: Latin accents, Urdu and Quranic small letters, hamza on heh and yeh barree.
    text = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))
    text = _APOSTROPHES.sub("", text).translate(_TRANSLATE)
    text = _FORMAT.sub("", text)
    # Urdu writes "جائے" (alef, yeh-hamza, yeh barree) and "جاۓ"; without hamzas both are one yeh.
    text = _DOUBLE_YEH.sub("ي", text)
    return _NOT_WORD.sub(" ", text).strip()


# Arabic proclitics (and, so, with, for, like, the), written joined to the next word. Light stemmers
# strip them the same way; the remainder must keep a few letters so that short words survive.
_PROCLITICS = (
    ("وال", 2),
    ("بال", 2),
    ("فال", 2),
    ("كال", 2),
    ("لل", 2),
    ("ال", 2),
    ("و", 3),
    ("ف", 3),
    ("ب", 3),
    ("ل", 3),
)


def _forms(token: str) -> tuple[str, ...]:
    forms = [token]
    for clitic, rest_length in _PROCLITICS:
        if token.startswith(clitic) and len(token) - len(clitic) >= rest_length:
            forms.append(token[len(clitic) :])
    return tuple(forms)


# --- Phrases --------------------------------------------------------------------------------------

Word = tuple[str, bool]  # a normalised word, and whether it is a stem (written with a trailing *)
Alternative = tuple[Word, ...]


@dataclass(frozen=True)
class _Parsed:
    groups: tuple[tuple[Alternative, ...], ...]
    exceptions: tuple[Alternative, ...]


def _parse(phrase: str) -> _Parsed:
    groups: list[tuple[Alternative, ...]] = []
    exceptions: list[Alternative] = []
    for raw_group in phrase.split("+"):
        raw_group = raw_group.strip()
        is_exception = raw_group.startswith("!")
        alternatives = []
        for raw_alternative in raw_group.lstrip("!").split("|"):
            words: list[Word] = []
            for raw_word in raw_alternative.split():
                stem = raw_word.endswith("*")
                parts = normalise(raw_word.rstrip("*")).split()
                if not parts:
                    continue
                if stem and len(parts[-1]) < MIN_STEM:
                    raise ValueError(_("“%(word)s” is too short to match the start of words.") % {"word": raw_word})
                words.extend((part, False) for part in parts[:-1])
                words.append((parts[-1], stem))
            if words:
                alternatives.append(tuple(words))
        if not alternatives:
            raise ValueError(_("Every part between “+” needs at least one word."))
        if is_exception:
            exceptions.extend(alternatives)
        else:
            groups.append(tuple(alternatives))
    if not groups:
        raise ValueError(_("A phrase needs words to look for, not only exceptions."))
    return _Parsed(tuple(groups), tuple(exceptions))


def validate_phrase(phrase: str) -> None:
    """Raise ValidationError when `phrase` cannot be used (usable as a form or model field validator)."""
    try:
        _parse(phrase)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_phrase") from exc


# --- Matching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    phrase: str
    practice_code: str
    practice_name: str
    citations: tuple[str, ...]
    groups: tuple[tuple[int, ...], ...]  # per group, the ids of its alternatives
    exceptions: tuple[int, ...]


Span = tuple[int, int]  # first and last word index, inclusive


class _Matcher:
    """Every alternative of every active phrase, indexed by its first word, for one pass over a term."""

    def __init__(self, patterns: list[_Pattern], alternatives: list[Alternative]) -> None:
        self.patterns = patterns
        self.alternatives = alternatives
        self.exact: dict[str, list[int]] = {}
        self.stems: dict[str, list[int]] = {}
        for index, alternative in enumerate(alternatives):
            word, stem = alternative[0]
            (self.stems if stem else self.exact).setdefault(word, []).append(index)
        self.stem_lengths = sorted({len(word) for word in self.stems})
        self.users: dict[int, list[int]] = {}  # alternative id → ids of the patterns that use it
        for pattern_id, pattern in enumerate(patterns):
            for alternative_id in {a for group in pattern.groups for a in group}:
                self.users.setdefault(alternative_id, []).append(pattern_id)

    def _hits(self, forms: list[tuple[str, ...]]) -> dict[int, list[Span]]:
        hits: dict[int, list[Span]] = {}
        for start, token_forms in enumerate(forms):
            candidates: set[int] = set()
            for form in token_forms:
                candidates.update(self.exact.get(form, ()))
                for length in self.stem_lengths:
                    if length > len(form):
                        break
                    candidates.update(self.stems.get(form[:length], ()))
            for alternative_id in candidates:
                alternative = self.alternatives[alternative_id]
                end = start + len(alternative) - 1
                if end < len(forms) and all(
                    _word_matches(word, forms[start + offset]) for offset, word in enumerate(alternative[1:], 1)
                ):
                    hits.setdefault(alternative_id, []).append((start, end))
        return hits

    def search(self, text: str) -> Prohibition | None:
        forms = [_forms(token) for token in normalise(text).split()]
        hits = self._hits(forms)
        candidates = sorted({p for alternative_id in hits for p in self.users.get(alternative_id, ())})
        best: tuple[int, int] | None = None
        for pattern_id in candidates:
            start = _earliest_match(self.patterns[pattern_id], hits)
            if start is not None and (best is None or (start, pattern_id) < best):
                best = (start, pattern_id)
        if best is None:
            return None
        pattern = self.patterns[best[1]]
        return Prohibition(pattern.practice_code, pattern.practice_name, pattern.citations, pattern.phrase)


def _word_matches(word: Word, token_forms: tuple[str, ...]) -> bool:
    text, stem = word
    if stem:
        return any(form.startswith(text) for form in token_forms)
    return text in token_forms


def _earliest_match(pattern: _Pattern, hits: dict[int, list[Span]]) -> int | None:
    """Where the first window holding every group of `pattern`, and no exception near it, starts."""
    occurrences = [sorted({span for a in group for span in hits.get(a, ())}) for group in pattern.groups]
    if not all(occurrences):
        return None
    exceptions = [span for a in pattern.exceptions for span in hits.get(a, ())]
    for first in sorted({start for group in occurrences for start, _end in group}):
        ends = []
        for group in occurrences:
            end = min((e for s, e in group if s >= first and e - first < WINDOW), default=None)
            if end is None:
                break
            ends.append(end)
        else:
            low, high = first - EXCEPTION_REACH, max(ends) + EXCEPTION_REACH
            if not any(s <= high and e >= low for s, e in exceptions):
                return first
    return None


def _compile(phrases: Iterable[ProhibitedPhrase]) -> _Matcher:
    alternatives: list[Alternative] = []
    ids: dict[Alternative, int] = {}

    def alternative_id(alternative: Alternative) -> int:
        if alternative not in ids:
            ids[alternative] = len(alternatives)
            alternatives.append(alternative)
        return ids[alternative]

    patterns = []
    for phrase in phrases:
        try:
            parsed = _parse(phrase.phrase)
        except ValueError as exc:
            logger.warning("Skipping prohibited phrase %s (%r): %s", phrase.pk, phrase.phrase, exc)
            continue
        practice = phrase.practice
        patterns.append(
            _Pattern(
                phrase=phrase.phrase,
                practice_code=practice.code,
                practice_name=practice.name,
                citations=tuple(line.strip() for line in practice.citations.splitlines() if line.strip()),
                groups=tuple(tuple(alternative_id(a) for a in group) for group in parsed.groups),
                exceptions=tuple(alternative_id(a) for a in parsed.exceptions),
            )
        )
    return _Matcher(patterns, alternatives)


# --- The in-process copy --------------------------------------------------------------------------

_lock = threading.Lock()
_compiled: tuple[str | None, _Matcher | None] = (None, None)  # (generation it was built for, matcher)


def _generation() -> str | None:
    """The shared generation token, created if the cache has none; None when the cache is unreachable,
    in which case the copy this process holds is used rather than refusing every agreement."""
    try:
        token = cache.get(_GENERATION_KEY)
        if token is None:
            cache.add(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(_GENERATION_KEY)
        return token
    except Exception:
        logger.warning("The cache did not answer; using this process's copy of the prohibited phrases", exc_info=True)
        return None


def _matcher() -> _Matcher:
    global _compiled
    generation = _generation()
    built_for, matcher = _compiled
    if matcher is not None and (generation is None or generation == built_for):
        return matcher
    with _lock:
        built_for, matcher = _compiled
        if matcher is None or (generation is not None and generation != built_for):
            phrases = ProhibitedPhrase.objects.filter(practice__is_active=True).select_related("practice")
            matcher = _compile(phrases.order_by("practice__code", "id"))
            _compiled = (generation, matcher)
        return matcher


def find_prohibition(text: str) -> Prohibition | None:
    """The prohibited practice `text` names or describes (the one whose match starts first), or None."""
    return _matcher().search(text)


def invalidate(using: str | None = None) -> None:
    """Forget the compiled phrases in this process now, and in every process once the change commits."""
    global _compiled
    _compiled = (None, None)
    transaction.on_commit(_publish, using=using)


def _publish() -> None:
    global _compiled
    # Another thread may have compiled the data as it stood before the commit; drop that copy too.
    _compiled = (None, None)
    try:
        cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("Could not tell other processes that the prohibited phrases changed", exc_info=True)


@receiver([post_save, post_delete], sender=ProhibitedPractice, dispatch_uid="guardrails_practice_changed")
@receiver([post_save, post_delete], sender=ProhibitedPhrase, dispatch_uid="guardrails_phrase_changed")
def _data_changed(sender, using=None, **kwargs) -> None:
    invalidate(using=using)


# --- Loading the shipped list ---------------------------------------------------------------------


def load_practices(path: str | Path | None = None) -> int:
    """Create or update the practices in the JSON file and add their phrases; return how many phrases
    the file holds. Safe to run again: nothing is duplicated, and phrases an administrator added stay.
    A practice an administrator switched off stays off."""
    data = json.loads(Path(path or DATA_PATH).read_text(encoding="utf-8"))
    count = 0
    with transaction.atomic():
        for entry in data["practices"]:
            practice, _created = ProhibitedPractice.objects.update_or_create(
                code=entry["code"], defaults={"name": entry["name"], "citations": "\n".join(entry["citations"])}
            )
            for language, phrases in entry["phrases"].items():
                for phrase in phrases:
                    ProhibitedPhrase.objects.get_or_create(practice=practice, language=language, phrase=phrase)
                    count += 1
    return count
