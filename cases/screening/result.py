"""What a screening answers: the three verdicts and the Screening of one term. Shared by the engine, which
makes them, and the verdicts module, which the rest of Sulh calls."""

from __future__ import annotations

from dataclasses import dataclass

BLOCK, REVIEW, PASS = "block", "review", "pass"


@dataclass(frozen=True)
class Screening:
    verdict: str  # BLOCK, REVIEW or PASS
    practice: str | None = None  # The prohibited practice's code (cases/screening/data/law.json).
    detail: str = ""  # Why, in words a reviewer can check: what matched, or the model's score.
    score: float | None = None  # The statistical model's probability that the term is prohibited.
    decided_by_example: int | None = None  # The ScreeningExample that decided it, if one did.

    @property
    def refused(self) -> bool:
        return self.verdict == BLOCK
