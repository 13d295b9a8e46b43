"""Screening agreement terms against the practices the law forbids (shared/DOMAIN.md; CONTRACT.md section 6).

`screen(text)` gives one of three verdicts:

- `block`: the term names or plainly describes a prohibited practice; it is refused and never stored;
- `review`: it may describe one; it is stored in the draft, marked, and waits for a legal reviewer;
- `pass`: nothing found.

First a legal reviewer's earlier decision on the same text (after normalising) decides; then the engine
(cases.screening.engine): the practices' phrases and descriptions as editable data, and a statistical model that
holds what no phrase names, and refuses it when it is sure. `law` gives a practice's name and the law that forbids
it, in the forum's country and the reader's language.
"""

from __future__ import annotations

from .verdicts import BLOCK, PASS, REVIEW, Screening, screen, text_key

__all__ = ["BLOCK", "PASS", "REVIEW", "Screening", "screen", "text_key"]
