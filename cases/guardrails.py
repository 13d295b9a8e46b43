"""Prohibited practices: their data, and the name key.

The practices and their phrases are data (`ProhibitedPractice`, `ProhibitedPhrase`), shipped in
`cases/data/prohibited_practices.json` (`load_practices`) and editable in the admin. The screening of agreement
terms against them lives in `cases.screening` (three verdicts: block, review, pass; the phrase syntax is in
`cases.screening.phrases`). Here:

- `find_prohibition(text)`: the practice a term is refused as (a `Prohibition` carrying the practice's code, name
  and citations and the phrase or rule that matched), or None — the screening engine's `block`, without a
  reviewer's earlier decision or the statistical model;
- `validate_phrase(phrase)`: whether an administrator's phrase can be used, and why not;
- the signals that drop the compiled phrases when a practice or phrase changes, and `invalidate()` for bulk
  changes that send none;
- `normalise(text)`: the form in which parties' names are compared (Party.name_key, recurrence matching). It is
  the guardrail's first normalisation, kept exactly: stored keys depend on it. The screening has its own,
  script-aware one (cases.screening.text).

Name normalisation
------------------
Unicode NFKC and casefold; Arabic diacritics, tatweel and hamza seats removed (pyarabic); letters that differ only
between the Arabic, Urdu, Pashto and Dari alphabets unified (ك/ک, ي/ی/ى/ے/ې/ۍ, ه/ہ/ھ/ة/ۀ, ں/ڼ→ن, ګ→گ …); Latin
accents removed; apostrophes dropped ("Qur'an" is "quran"); Arabic-Indic and Persian digits made ASCII; the
zero-width non-joiner becomes a space; every other run of punctuation or space becomes one space.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import regex
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from pyarabic import araby

from .models import ProhibitedPhrase, ProhibitedPractice
from .screening import compiled, engine, lexicon
from .screening.phrases import parse

DATA_PATH = Path(__file__).resolve().parent / "data" / "prohibited_practices.json"

_GENERATION_KEY = compiled.GENERATION_KEY


@dataclass(frozen=True)
class Prohibition:
    practice_code: str
    practice_name: str
    citations: tuple[str, ...]
    matched: str  # the stored phrase (or the screening's rule) that matched


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
    """The form in which parties' names are compared: lower case, one script per letter, no marks, words
    separated by single spaces."""
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


# --- The screening's view ------------------------------------------------------------------------------------


def validate_phrase(phrase: str) -> None:
    """Raise ValidationError when `phrase` cannot be used (usable as a form or model field validator)."""
    try:
        parse(phrase, lexicon.concept_names())
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_phrase") from exc


def find_prohibition(text: str) -> Prohibition | None:
    """The prohibited practice `text` is refused as (the one whose match starts first), or None."""
    hit = engine.blocking_hit(text)
    if hit is None:
        return None
    pattern = hit.pattern
    return Prohibition(pattern.practice, pattern.practice_name, pattern.citations, pattern.phrase)


def invalidate(using: str | None = None) -> None:
    """Forget the compiled phrases in this process now, and in every process once the change commits."""
    compiled.invalidate(using=using)


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
