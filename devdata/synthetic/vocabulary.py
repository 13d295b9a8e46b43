"""What synthetic cases are made of (vocabulary.toml beside this module), read once into the weighted choices
the drafting makes, and the fixed shares and counts beside them. Changing anything here or in the vocabulary
changes the data a given seed produces."""

from __future__ import annotations

import bisect
import random
import tomllib
from collections.abc import Iterable, Sequence
from itertools import accumulate
from pathlib import Path

VOCABULARY = tomllib.loads((Path(__file__).parent / "vocabulary.toml").read_text(encoding="utf-8"))
KINDS = ("jirga", "muslahathi", "sulha")


class Weighted:
    """A weighted choice that costs one random() and a bisect (random.choices rebuilds its table each call)."""

    def __init__(self, pairs: Iterable[tuple[object, float]]):
        pairs = [(value, weight) for value, weight in pairs if weight > 0]
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(accumulate(weight for _value, weight in pairs))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]


def _one(rng: random.Random, options: Sequence):
    """rng.choice, three times cheaper (it matters a million times over)."""
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """rng.randint, three times cheaper."""
    return low + int(rng.random() * (high - low + 1))


def _by_column(table: dict[str, list], columns: Sequence[str]) -> dict[str, Weighted]:
    """{"land": [22, 14, 10], …} read as one weighted choice per column (e.g. per forum kind)."""
    return {column: Weighted((key, weights[i]) for key, weights in table.items()) for i, column in enumerate(columns)}


def _by_row(table: dict[str, list], columns: Sequence[str]) -> dict[str, Weighted]:
    """{"land": [92, 8, 0], …} read as one weighted choice over `columns` per row."""
    return {key: Weighted(zip(columns, weights, strict=True)) for key, weights in table.items()}


DISPUTES = _by_column(VOCABULARY["disputes"], KINDS)
OFFENCE = _by_row(VOCABULARY["offence"], ("civil", "compoundable", "non_compoundable"))
VIOLENT = frozenset(VOCABULARY["risk"]["violent_disputes"])
RISK = {
    violent: Weighted(zip(("low", "medium", "high", "imminent"), VOCABULARY["risk"][key], strict=True))
    for violent, key in ((True, "violent"), (False, "other"))
}
REFERRAL = {
    kind: Weighted(((source, fir), weight) for source, weight, fir in sources)
    for kind, sources in VOCABULARY["referral"].items()
}
TITLES = {key: tuple(titles) for key, titles in VOCABULARY["titles"].items()}
SUMMARIES = tuple(VOCABULARY["summaries"]["texts"])
TERM_KINDS = {dispute: Weighted(kinds.items()) for dispute, kinds in VOCABULARY["term_kinds"].items()}
TERM_TEXTS = {kind: tuple(texts) for kind, texts in VOCABULARY["term_texts"].items()}
AMOUNTS = VOCABULARY["amounts"]
PROHIBITED_ATTEMPT = VOCABULARY["prohibited"]["attempt"]
CHECKS = {
    going_well: Weighted(zip(("met", "partly_met", "not_met", "breached"), VOCABULARY["checks"][key], strict=True))
    for going_well, key in ((True, "well"), (False, "badly"))
}
CHECK_NOTES = {status: tuple(notes) for status, notes in VOCABULARY["check_notes"].items()}
PAYMENT_NOTES = {status: tuple(notes) for status, notes in VOCABULARY["payment_notes"].items()}
INSTALMENTS = VOCABULARY["instalments"]
INSTALMENT_COUNT = Weighted(INSTALMENTS["counts"])
PAYMENTS = VOCABULARY["payments"]
PAYERS = {
    going_well: Weighted(zip(("on_time", "late", "stops"), PAYMENTS[key], strict=True))
    for going_well, key in ((True, "well"), (False, "badly"))
}
MONITORING = VOCABULARY["monitoring"]
RECURRENCE = VOCABULARY["recurrence"]
SURVEYS = VOCABULARY["surveys"]
SESSIONS = VOCABULARY["sessions"]
UTTERANCES = tuple(SESSIONS["utterances"])
LADDER = VOCABULARY["ladder"]
RISK_FACTORS = VOCABULARY["risk_factors"]
PICK_FACTOR = Weighted((int(factor), weight) for factor, weight in RISK_FACTORS["weights"].items())
LADDER_REASONS = {key: tuple(value) for key, value in LADDER["reasons"].items()}
DWELL = VOCABULARY["dwell"]
EXITS = VOCABULARY["exits"]
REASONS = {key: tuple(value) for key, value in VOCABULARY["reasons"].items() if key != "back"}
BACK_REASONS = {tuple(key.split(" > ")): tuple(value) for key, value in VOCABULARY["reasons"]["back"].items()}
CHECK_DAYS = (90, 180, 365)  # Monitors check the terms at about 3, 6 and 12 months.
STALL = 0.04  # Chance that a case sits in a state far longer than usual.
MAX_BACK_MOVES = 2
GOING_WELL = 0.78  # Share of agreements the parties keep.
FACILITATORS_PER_FORUM = 2
MONITORS_PER_FORUM = 2  # Two, so that two monitors' checks of one term can cross (a compliance conflict).
