"""The verdict on one term: a reviewer's earlier decision on the same text first, then the engine."""

from __future__ import annotations

import hashlib

from ..models import ScreeningExample
from . import engine
from .result import BLOCK, PASS, REVIEW, Screening

__all__ = ["BLOCK", "PASS", "REVIEW", "Screening", "screen", "text_key"]


def text_key(text: str) -> str:
    """The key under which a decision on this text is found again: the normalised text's SHA-256."""
    return hashlib.sha256(engine.normalise(text).encode("utf-8")).hexdigest()


def screen(text: str) -> Screening:
    """The verdict on one agreement term's text."""
    example = (
        ScreeningExample.objects.filter(text_key=text_key(text))
        .order_by("-decided_at", "-id")
        .only("id", "prohibited", "practice")
        .first()
    )
    if example is not None:
        if example.prohibited:
            return Screening(BLOCK, example.practice or None, "decided by a legal reviewer", None, example.pk)
        return Screening(PASS, None, "found lawful by a legal reviewer", None, example.pk)
    return engine.screen(text)
