"""The screening engine: the verdict on one term's text from the practices' phrases (editable data), the
screening's concept rules and lexicons, and its statistical model.

Policy
------
1. A phrase or rule that names the practice or fully describes it, affirmed in the term (not negated, not
   forbidden by the term itself), refuses the term: `block`. A lawful use of a name ("badal-e-sulh" with an
   amount, "سورة" in Arabic) overrides the name, not a description.
2. A partial description or an ambiguous name (phrases and rules written with a leading "?"), or a name or
   description in a clause that also rejects or forbids something or reports a proposal (ambiguous scope: "the
   elder who proposed swara was asked to leave, and the proposal struck out"), holds it for a legal reviewer:
   `review`.
3. When nothing at all matched (not even negated or lawful uses), the statistical model's score at or above its
   threshold holds the term for review, with the practice it finds most likely.
4. Otherwise `pass`.

Modules: `text` (script-aware normalisation, language from letters, stemming, clauses), `phrases` (the phrase
syntax), `lexicon` (concepts and rules, data/lexicon.json and data/rules.json), `matcher` (windows and negation
scope), `compiled` (the per-process index and its invalidation), `model` (the character n-gram model).
"""

from __future__ import annotations

from . import compiled, model, text
from .matcher import Hit
from .phrases import BLOCK, LAWFUL, REVIEW
from .result import BLOCK as BLOCK_VERDICT
from .result import PASS, Screening
from .result import REVIEW as REVIEW_VERDICT


def normalise(text_: str) -> str:
    """The text as the screening compares it (a reviewer's decision is kept under this form's hash)."""
    return text.normalise(text_)


def _order(hit: Hit) -> tuple[int, str, int]:
    return (hit.start, hit.pattern.practice, 0 if hit.pattern.source == "phrase" else 1)


def decide(text_: str) -> tuple[str, Hit | None, list[Hit]]:
    """The rules' verdict (BLOCK, REVIEW, or "" when they decide nothing), the hit that decided it, and every
    hit."""
    current = compiled.current()
    hits = current.hits(current.term(text_))
    affirmed = [h for h in hits if not h.negated]
    lawful = [h for h in affirmed if h.pattern.level == LAWFUL]

    def overridden(hit: Hit) -> bool:
        return hit.pattern.is_name and any(
            use.pattern.practice == hit.pattern.practice and use.tokens & hit.tokens for use in lawful
        )

    for level in (BLOCK, REVIEW):
        found = [h for h in affirmed if _level(h) == level and not overridden(h)]
        if found:
            return level, min(found, key=_order), hits
    return "", None, hits


def _level(hit: Hit) -> str:
    """A refusal whose clause also rejects something, or reports a proposal, is held for review instead."""
    if hit.pattern.level == BLOCK and hit.ambiguous:
        return REVIEW
    return hit.pattern.level


def blocking_hit(text_: str) -> Hit | None:
    """The phrase or rule that refuses the term, if one does."""
    level, hit, _hits = decide(text_)
    return hit if level == BLOCK else None


def _detail(level: str, hit: Hit) -> str:
    kind = "names" if hit.pattern.is_name else "describes"
    if level == REVIEW:
        kind = "may describe"
    source = "phrase" if hit.pattern.source == "phrase" else "rule"
    return f"{kind} {hit.pattern.practice}: “{hit.words}” (matched the {source} “{hit.pattern.phrase}”)"


def screen(text_: str) -> Screening:
    level, hit, hits = decide(text_)
    shipped = model.shipped()
    score, guess = shipped.score(text_) if shipped is not None else (None, None)
    if hit is not None:
        verdict = BLOCK_VERDICT if level == BLOCK else REVIEW_VERDICT
        return Screening(verdict, hit.pattern.practice, _detail(level, hit), score)
    if hits or shipped is None or score is None or score < shipped.threshold:
        return Screening(PASS, None, "", score)
    detail = (
        f"no phrase or rule matched; the statistical model scores it {score:.2f} (terms from {shipped.threshold:.2f}"
        " are held)"
    )
    return Screening(REVIEW_VERDICT, guess, detail, score)
