"""Measuring the screening on a labelled file (`manage.py screening_eval`) and training its model
(`manage.py screening_train`).

A labelled file is JSON Lines: {"text", "lang", "prohibited"} on each line; "practice" (the practice's code) and
"group" (paraphrases of one term share a group) are optional. The measure is the engine's (rules, then the model):
a legal reviewer's earlier decision on the same text is not consulted, since it would only repeat the label.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import engine, model
from .result import BLOCK, PASS, REVIEW

DATA = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA / "corpus.jsonl"
# What the shipped model is trained on (data/README.md says where each file comes from). The held-out set
# (data/heldout_16.jsonl, kept outside the repository until it has been measured; it need not exist) is never trained
# on: it measures the screening on text its authors never saw. corpus_5 to corpus_16, corpus_25 and corpus_26 were
# held-out sets, spent; corpus_17 to corpus_24 were written for training.
TRAINING_PATHS = (
    CORPUS_PATH, DATA / "corpus_2.jsonl", DATA / "corpus_3.jsonl", DATA / "corpus_4.jsonl", DATA / "corpus_5.jsonl",
    DATA / "corpus_6.jsonl", DATA / "corpus_7.jsonl", DATA / "corpus_8.jsonl", DATA / "corpus_9.jsonl",
    DATA / "corpus_10.jsonl", DATA / "corpus_11.jsonl", DATA / "corpus_12.jsonl",
    DATA / "corpus_13.jsonl", DATA / "corpus_14.jsonl", DATA / "corpus_15.jsonl",
    DATA / "corpus_16.jsonl", DATA / "corpus_17.jsonl", DATA / "corpus_18.jsonl", DATA / "corpus_19.jsonl",
    DATA / "corpus_20.jsonl", DATA / "corpus_21.jsonl", DATA / "corpus_22.jsonl", DATA / "corpus_23.jsonl",
    DATA / "corpus_24.jsonl", DATA / "corpus_25.jsonl", DATA / "corpus_26.jsonl",
)  # fmt: skip
HELDOUT_PATH = DATA / "heldout_16.jsonl"
VERDICTS = (BLOCK, REVIEW, PASS)
# The share of lawful terms the model alone may hold, when its threshold is chosen. 7% since the seventeenth round (5%
# before): on the eight unread corpora (leave-one-corpus-out) 23 more prohibited terms caught for 19 more lawful ones
# held (91.9 → 94.1 caught, 11.0 → 12.4 lawful held; Arabic 84.9 → 88.8): a term held costs a reviewer minutes, a
# term missed can cost a girl. Chosen on that set, never on a held-out one.
LAWFUL_HELD_TARGET = 0.07
# A rule's refusal of a term the model scores below this is held for review instead (engine.combine).
DOUBT_BELOW = 0.5
# The same for a practice's name ("swara", "lashkar", "karo kari"): a name says more than a description, and the
# model, which reads a whole term, scores a short one that names a practice low more often than a long one.
NAME_DOUBT_BELOW = 0.3
# A hold by a partial description (a "?" rule or phrase) of a term the model scores at or above this is a refusal.
# The three lines were chosen in the seventh round by leave-one-corpus-out over the seven corpora, pooled (each
# corpus scored by a model trained on the six others; data/README.md): 0.4 / 0.2 / 0.6 block 18 more of their 1,237
# prohibited terms than 0.5 / 0.3 / 0.7 and change no lawful term's verdict; a doubt line of 0.35 would refuse two
# lawful terms more. Doubt lines that depend on the evidence (a description of three or more groups, or one whose
# words stand in one part of the clause) did no better than one lower line. Never chosen on a held-out set.
CONFIRM_ABOVE = 0.6
# A term no rule matched that the model scores at or above this is refused; a hold by a partial description or an
# ambiguous match that it scores below PASS_BELOW passes. These two, and the doubt lines 0.5 / 0.3 (0.4 / 0.2 before),
# were chosen in the seventeenth round by leave-one-corpus-out over corpus_17 to corpus_24, the eight corpora nobody
# here has read (each scored by a model trained on the 23 other corpora; data/README.md): pooled caught / blocked /
# lawful blocked / lawful held went from 91.4 / 66.3 / 3.87 / 12.7 to 91.4 / 80.5 / 3.35 / 11.2, better or equal on
# each of the eight corpora but one (corpus_19's lawful blocked 10.1 → 11.3). Never chosen on a held-out set.
REFUSE_ABOVE = 0.95
PASS_BELOW = 0.1


@dataclass(frozen=True)
class Row:
    text: str
    lang: str
    prohibited: bool
    practice: str | None
    group: str


def read(path: str | Path) -> list[Row]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        missing = {"text", "lang", "prohibited"} - set(data)
        if missing:
            raise ValueError(f"line {number}: missing {', '.join(sorted(missing))}")
        rows.append(
            Row(
                text=str(data["text"]),
                lang=str(data["lang"]),
                prohibited=bool(data["prohibited"]),
                practice=data.get("practice") or None,
                group=str(data.get("group") or data.get("id") or f"line-{number}"),
            )
        )
    return rows


def examples_of(rows: Iterable[Row]) -> list[model.Example]:
    return [model.Example(r.text, r.prohibited, r.practice, r.group, r.lang) for r in rows]


def reviewed_examples() -> list[model.Example]:
    """Legal reviewers' decisions and administrators' examples (ScreeningExample), when the database has any."""
    from ..models import ScreeningExample

    try:
        return [
            model.Example(e.text, e.prohibited, e.practice or None, f"example-{e.pk}", e.language or None)
            for e in ScreeningExample.objects.order_by("pk")
        ]
    except Exception:  # No database (a checkout without one): the file alone.
        return []


# --- Verdicts ---------------------------------------------------------------------------------------------------


def verdicts(rows: Sequence[Row], scorer: Callable[[int, str], tuple[float | None, str | None]] | None = None,
             threshold: Callable[[int], float | None] | None = None) -> list[tuple[str, str | None]]:  # fmt: skip
    """(verdict, practice) for each row: the rules, then the model. With `scorer` (row index, text → score,
    practice) and `threshold` (row index → threshold) another model than the shipped one scores each row."""
    result = []
    for index, row in enumerate(rows):
        if scorer is None:
            screening = engine.screen(row.text)
            result.append((screening.verdict, screening.practice))
            continue
        level, hit, hits = engine.decide(row.text)
        score, practice = scorer(index, row.text)
        limit = threshold(index) if threshold is not None else None
        screening = engine.combine(
            level, hit, hits, score, practice, threshold=limit, doubt_below=DOUBT_BELOW,
            name_doubt_below=NAME_DOUBT_BELOW, confirm_above=CONFIRM_ABOVE, refuse_above=REFUSE_ABOVE,
            pass_below=PASS_BELOW,
        )  # fmt: skip
        result.append((screening.verdict, screening.practice))
    return result


def cross_validated(
    rows: Sequence[Row], folds: int, extra: Sequence[model.Example] = ()
) -> list[tuple[str, str | None]]:
    """Verdicts where each row's model never saw the row or its paraphrases (GroupKFold by "group"); the rules
    are the same for every fold."""
    from sklearn.model_selection import GroupKFold

    scores: dict[int, tuple[float, str | None]] = {}
    thresholds: dict[int, float] = {}
    splitter = GroupKFold(n_splits=folds)
    for train_index, test_index in splitter.split(list(range(len(rows))), groups=[r.group for r in rows]):
        training = [rows[i] for i in train_index]
        fitted = fit(examples_of(training) + list(extra))
        for i in test_index:
            scores[i] = fitted.score(rows[i].text)
            thresholds[i] = fitted.threshold
    return verdicts(rows, scorer=lambda i, _text: scores[i], threshold=lambda i: thresholds[i])


def trained_on(rows: Sequence[Row], examples: Sequence[model.Example]) -> list[tuple[str, str | None]]:
    """Verdicts where the model is trained on `examples` only (another corpus: a corpus scored as unseen text by a
    model trained on the others); the rules are the same."""
    fitted = fit(examples)
    return verdicts(rows, scorer=lambda _i, text_: fitted.score(text_), threshold=lambda _i: fitted.threshold)


def fit(examples: Sequence[model.Example], *, about: dict[str, Any] | None = None, inner_folds: int = 4) -> model.Model:
    """A model and its threshold: the threshold is the lowest score at which, in an inner cross-validation on
    the same examples, the model would hold no more than LAWFUL_HELD_TARGET of the lawful terms."""
    from sklearn.model_selection import GroupKFold

    groups = [e.group or str(i) for i, e in enumerate(examples)]
    lawful_scores: list[float] = []
    if len(set(groups)) >= inner_folds and len({e.prohibited for e in examples}) == 2:
        for train_index, test_index in GroupKFold(n_splits=inner_folds).split(examples, groups=groups):
            inner = model.train([examples[i] for i in train_index], threshold=1.0)
            lawful_scores.extend(inner.score(examples[i].text)[0] for i in test_index if not examples[i].prohibited)
    threshold = _threshold(lawful_scores)
    return model.train(
        examples, threshold=threshold, doubt_below=DOUBT_BELOW, name_doubt_below=NAME_DOUBT_BELOW,
        confirm_above=CONFIRM_ABOVE, refuse_above=REFUSE_ABOVE, pass_below=PASS_BELOW, about=about,
    )  # fmt: skip


def _threshold(lawful_scores: list[float]) -> float:
    if not lawful_scores:
        return 0.5
    ordered = sorted(lawful_scores, reverse=True)
    allowed = int(LAWFUL_HELD_TARGET * len(ordered))
    # Just above the score of the first lawful term beyond the allowance.
    return round(max(0.5, ordered[allowed] + 1e-6), 6)


# --- The report ---------------------------------------------------------------------------------------------------


def _rate(count: int, total: int) -> str:
    return f"{count:4d} ({100.0 * count / total:5.1f}%)" if total else f"{count:4d} (   - )"


def report(rows: Sequence[Row], results: Sequence[tuple[str, str | None]]) -> str:
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_language[row.lang].append(index)
    lines = [
        "Prohibited terms: blocked, held for review, caught (blocked + held), missed. Lawful terms: blocked, held.",
        "",
        f"{'language':<10} {'prohibited':>10} {'blocked':>13} {'held':>13} {'caught':>13} {'missed':>13}"
        f" {'lawful':>7} {'blocked':>13} {'held':>13}",
    ]
    for language in [*sorted(by_language), "all"]:
        indexes = list(range(len(rows))) if language == "all" else by_language[language]
        lines.append(_summary_line(language, [rows[i] for i in indexes], [results[i] for i in indexes]))
    practices = sorted({r.practice for r in rows if r.prohibited and r.practice})
    if practices:
        lines += ["", f"{'practice':<32} {'prohibited':>10} {'blocked':>13} {'held':>13} {'caught':>13} {'missed':>13}"
                      f" {'as named':>13}"]  # fmt: skip
        for practice in practices:
            indexes = [i for i, r in enumerate(rows) if r.prohibited and r.practice == practice]
            count = Counter(results[i][0] for i in indexes)
            named = sum(1 for i in indexes if results[i][0] != PASS and results[i][1] == practice)
            total = len(indexes)
            lines.append(
                f"{practice:<32} {total:>10} {_rate(count[BLOCK], total)} {_rate(count[REVIEW], total)}"
                f" {_rate(count[BLOCK] + count[REVIEW], total)} {_rate(count[PASS], total)} {_rate(named, total)}"
            )
    lines += ["", "Confusion (rows: the label; columns: the verdict)"]
    for language in [*sorted(by_language), "all"]:
        indexes = list(range(len(rows))) if language == "all" else by_language[language]
        lines.append(f"  {language + ':':<10} {'':<12}{'block':>7}{'review':>8}{'pass':>7}")
        for label, prohibited in (("prohibited", True), ("lawful", False)):
            count = Counter(results[i][0] for i in indexes if rows[i].prohibited == prohibited)
            lines.append(f"  {'':<10} {label:<12}{count[BLOCK]:>7}{count[REVIEW]:>8}{count[PASS]:>7}")
    return "\n".join(lines)


def _summary_line(language: str, rows: Sequence[Row], results: Sequence[tuple[str, str | None]]) -> str:
    prohibited = Counter(v for (v, _p), r in zip(results, rows, strict=True) if r.prohibited)
    lawful = Counter(v for (v, _p), r in zip(results, rows, strict=True) if not r.prohibited)
    p_total, l_total = sum(prohibited.values()), sum(lawful.values())
    return (
        f"{language:<10} {p_total:>10} {_rate(prohibited[BLOCK], p_total)} {_rate(prohibited[REVIEW], p_total)}"
        f" {_rate(prohibited[BLOCK] + prohibited[REVIEW], p_total)} {_rate(prohibited[PASS], p_total)}"
        f" {l_total:>7} {_rate(lawful[BLOCK], l_total)} {_rate(lawful[REVIEW], l_total)}"
    )
