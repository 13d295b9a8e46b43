"""The screening engine: the verdict on one term's text from the practices' phrases (editable data), the
screening's concept rules and lexicons, and its statistical model.

Policy
------
1. A phrase or rule that names the practice or fully describes it, affirmed in the term (not negated, not
   forbidden by the term itself), refuses the term: `block`. A lawful use of a name ("badal-e-sulh" with an
   amount, "سورة" in Arabic) overrides the name, not a description; a lawful use written for the whole term
   (rules.json "scope": "term": the case sent to the police or the court, a party's lawyer kept) overrides every
   name and description of its practice.
2. A partial description or an ambiguous name (phrases and rules written with a leading "?"), or a name or
   description in a clause that also rejects or forbids something or reports a proposal (ambiguous scope: "the
   elder who proposed swara was asked to leave, and the proposal struck out"), holds it for a legal reviewer:
   `review`.
3. When nothing matched affirmed (no lawful use either; negated matches do not count), the statistical model's
   score at or above its threshold holds the term for review, with the practice it finds most likely; a score at or
   above its refusal line (`refuse_above`, far above the threshold) refuses it.
4. Otherwise `pass`.

Two readings of the term, the rules' and the statistical model's, then settle it (`combine`):

- a refusal (1) of a term that the model scores below its doubt line (the model's `doubt_below`; for a practice's
  name, which says more than a description, `name_doubt_below`) is held for review instead;
- a hold (2) by a partial description (a rule or phrase of several parts written with "?", in a clause that
  rejects or proposes nothing) of a term that the model scores at or above `confirm_above` is refused: the rule
  found the practice's structure and the model, which learnt its wordings, agrees. An ambiguous name
  ("badal-e-sulh" alone: money or a woman?) stays a question for the reviewer. A hold by one concept that
  describes an act ("?@confine": someone locked up or chained; a lawyer declared unnecessary) says less than a
  description of several parts: it is refused from `SINGLE_CONCEPT_MARGIN` above that line.
- a hold (2) of a term that the model scores below `pass_below` (it finds the term unlike every prohibited one it has
  learnt) passes: the rules themselves were unsure (a partial description, or a name in a clause that rejects or
  reports), and the model is sure. A refusal (1) the model doubts is only ever held, never passed.

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

# How much surer than `confirm_above` the model must be to refuse a term held by one concept alone (`combine`).
# Chosen in the ninth round by leave-one-corpus-out over the nine corpora (data/README.md): a margin from 0.10 to
# 0.18 refuses the same eleven prohibited terms (confinement, a lawyer declared unnecessary) and no lawful one; 0.09
# or less also refuses a lawful term the model scores 0.69.
SINGLE_CONCEPT_MARGIN = 0.15


def normalise(text_: str) -> str:
    """The text as the screening compares it (a reviewer's decision is kept under this form's hash)."""
    return text.normalise(text_)


def _order(hit: Hit) -> tuple[int, str, int]:
    return (hit.start, hit.pattern.practice, 0 if hit.pattern.source == "phrase" else 1)


def decide(text_: str) -> tuple[str, Hit | None, list[Hit]]:
    """The rules' verdict (BLOCK, REVIEW, or "" when they decide nothing), the hit that decided it, and every
    hit."""
    current = compiled.current()
    return _decide(current.hits(current.term(text_)))


def _decide(hits: list[Hit]) -> tuple[str, Hit | None, list[Hit]]:
    affirmed = [h for h in hits if not h.negated]
    lawful = [h for h in affirmed if h.pattern.level == LAWFUL]

    def overridden(hit: Hit) -> bool:
        return any(
            use.pattern.practice == hit.pattern.practice
            and (use.pattern.whole_term or (hit.pattern.is_name and use.tokens & hit.tokens))
            for use in lawful
        )

    for level in (BLOCK, REVIEW):
        found = [h for h in affirmed if _level(h) == level and not overridden(h)]
        if found:
            return level, min(found, key=_order), hits
    return "", None, hits


def model_may_hold(hits: list[Hit]) -> bool:
    """Whether the statistical model may hold a term the rules did not decide: unless a phrase or rule matched it
    affirmed (a lawful use: "badal-e-sulh of Rs. 500,000"). Negated matches leave it to the model, which has
    learnt from lawful negations ("no girl shall be given") as from prohibited terms whose negation is of
    something else ("the girls' consent will not be asked")."""
    return not any(not h.negated for h in hits)


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
    current = compiled.current()
    term = current.term(text_)
    level, hit, hits = _decide(current.hits(term))
    shipped = model.shipped()
    score, guess = shipped.score(text_, term) if shipped is not None else (None, None)
    if shipped is None:
        return combine(level, hit, hits, score, guess, threshold=None, doubt_below=None)
    return combine(
        level, hit, hits, score, guess, threshold=shipped.threshold, doubt_below=shipped.doubt_below,
        name_doubt_below=shipped.name_doubt_below, confirm_above=shipped.confirm_above,
        refuse_above=shipped.refuse_above, pass_below=shipped.pass_below,
    )  # fmt: skip


def combine(
    level: str,
    hit: Hit | None,
    hits: list[Hit],
    score: float | None,
    guess: str | None,
    *,
    threshold: float | None,
    doubt_below: float | None,
    name_doubt_below: float | None = None,
    confirm_above: float | None = None,
    refuse_above: float | None = None,
    pass_below: float | None = None,
) -> Screening:
    """The verdict from the rules' (`decide`) and the model's (score, the practice it guesses, its threshold and
    doubt lines). A rule's refusal of a term the model finds unlike every prohibited term it has learnt (a score
    below `doubt_below`, or `name_doubt_below` for a practice's name) is held for a legal reviewer rather than
    refused: two independent readings disagree, and a lawful term wrongly refused is a facilitator lost to the
    tool. A partial description's hold of a term the model finds plainly prohibited (`confirm_above`) is a refusal:
    they agree, and a prohibited term that only waits for a reviewer stays in the draft meanwhile. A partial
    description's or an ambiguous match's hold of a term the model scores below `pass_below` passes. A term no rule
    matched, scored at or above `refuse_above`, is refused as the practice the model finds most likely."""
    if hit is not None:
        doubt = name_doubt_below if hit.pattern.is_name and name_doubt_below is not None else doubt_below
        if level == BLOCK and (doubt is None or score is None or score >= doubt):
            return Screening(BLOCK_VERDICT, hit.pattern.practice, _detail(BLOCK, hit), score)
        if (
            level == REVIEW
            and hit.pattern.level == REVIEW
            and not hit.pattern.names_a_word  # an ambiguous name ("badal-e-sulh": money or a woman?) stays a question
            and not hit.ambiguous
            and confirm_above is not None
            and score is not None
            and score >= confirm_above + (SINGLE_CONCEPT_MARGIN if hit.pattern.is_name else 0.0)
        ):
            detail = _detail(BLOCK, hit) + f"; the statistical model agrees ({score:.2f})"
            return Screening(BLOCK_VERDICT, hit.pattern.practice, detail, score)
        if level == REVIEW and pass_below is not None and score is not None and score < pass_below:
            return Screening(PASS, None, "", score)
        detail = _detail(REVIEW, hit)
        if level == BLOCK:
            detail += f"; held, not refused: the statistical model scores it only {score:.2f}"
        return Screening(REVIEW_VERDICT, hit.pattern.practice, detail, score)
    if not model_may_hold(hits) or threshold is None or score is None or score < threshold:
        return Screening(PASS, None, "", score)
    if refuse_above is not None and guess is not None and score >= refuse_above:
        detail = (
            f"no phrase or rule matched; the statistical model scores it {score:.2f}"
            f" (terms from {refuse_above:.2f} are refused as the practice it finds most likely)"
        )
        return Screening(BLOCK_VERDICT, guess, detail, score)
    detail = (
        f"no phrase or rule matched; the statistical model scores it {score:.2f} (terms from {threshold:.2f} are held)"
    )
    return Screening(REVIEW_VERDICT, guess, detail, score)
