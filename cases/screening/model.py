"""The screening's statistical component: a character n-gram linear model that holds for review what no phrase or
rule names (and refuses it from a line far above its threshold: engine.combine).

Two kinds of features, side by side in one logistic regression (classes: each practice, and "lawful"; the
prohibited score is 1 − P(lawful)):

- the spelling: scikit-learn's TfidfVectorizer over character n-grams within words (the "char_wb" analyzer: each
  word padded with a space, n-grams of 2 to 5 characters), computed here by `ngrams()` on the screening's
  normalised text, so training and inference share one function;
- the meaning: which of the screening's concepts (data/lexicon.json: a girl, giving, the other side, a share, a
  victim, a name, consent, a negation…) the term holds, whether a negation reaches them, and which pairs of
  them it holds, in one clause or not (`concept_features()`). The lexicons map the words of every language to the
  same concepts, so what the model learns from a Dari term ("a girl" + "goes to" + "the other family") it applies
  to the same idea in Pashto or romanised Urdu, and to a wording no phrase names. They are binary, scaled by
  CONCEPT_WEIGHT beside the n-grams' unit vector.

The trained model ships as a JSON file (data/model.json: vocabulary, idf, coefficients, intercepts, classes,
threshold and the training's provenance), read with the standard library: the runtime imports neither
scikit-learn nor pickle. `manage.py screening_train` writes it (training needs scikit-learn, in requirements.txt).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import text

if TYPE_CHECKING:
    from .matcher import Term

MODEL_PATH = Path(__file__).resolve().parent / "data" / "model.json"
FORMAT = "sulh-screening-char-ngram-logreg/2"
FORMATS = ("sulh-screening-char-ngram-logreg/1", FORMAT)  # /1: n-grams only
NGRAM_RANGE = (2, 5)
CONCEPT_WEIGHT = 0.3
LAWFUL = "lawful"
PROHIBITED_UNKNOWN = "prohibited"  # a prohibited example without a practice


def ngrams(raw: str) -> list[str]:
    """Character n-grams within the words of the normalised text, as scikit-learn's "char_wb" analyzer makes
    them (a word shorter than n gives itself, padded, once)."""
    low, high = NGRAM_RANGE
    grams: list[str] = []
    for word in text.normalise(raw).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, length - n + 1)))
            if length <= n:
                break
    return grams


@cache
def _concept_index():
    """The lexicons' concepts compiled without the practices' phrases (they are data of the database): enough to
    find concepts in a text, in training (no database) as at run time."""
    from .compiled import build

    return build([], [])


def concept_term(raw: str) -> Term:
    return _concept_index().term(raw)


def concept_features(term: Term) -> list[str]:
    """The concepts the term holds ("c:girl"; "c:girl~neg" when a negation reaches every place it is named), and
    each pair of them ("p:a+b"; "q:a+b" when both stand in one clause)."""
    present: list[tuple[str, frozenset[int]]] = []
    for name in term.present_concepts():
        spans = term.concept(name)
        negated = all(term.reached(span) for span in spans)
        clauses = frozenset(term.tokens[start].clause for start, _end in spans)
        present.append((f"{name}~neg" if negated else name, clauses))
    features = [f"c:{name}" for name, _clauses in present]
    for (a, in_a), (b, in_b) in combinations(present, 2):
        features.append(f"p:{a}+{b}")
        if in_a & in_b:
            features.append(f"q:{a}+{b}")
    return features


@dataclass(frozen=True)
class Model:
    vocabulary: dict[str, int]
    idf: list[float]
    coefficients: list[list[float]]  # per class, per feature
    intercepts: list[float]
    classes: list[str]
    threshold: float
    about: dict[str, Any]
    concepts: dict[str, int] = field(default_factory=dict)  # concept feature → its column
    concept_coefficients: list[list[float]] = field(default_factory=list)  # per class, per concept feature
    concept_weight: float = CONCEPT_WEIGHT
    doubt_below: float | None = None  # a rule's refusal scored below this is held instead (engine.combine)
    name_doubt_below: float | None = None  # the same for a practice's name (None: doubt_below)
    confirm_above: float | None = None  # a partial description's hold scored at or above this is a refusal
    refuse_above: float | None = None  # a term no rule matched, scored at or above this, is refused
    pass_below: float | None = None  # a hold by a partial description or an ambiguous match scored below this passes

    def probabilities(self, raw: str, term: Term | None = None) -> dict[str, float]:
        """`term`: the text as the rules analysed it (its concepts are the same), to save analysing it again."""
        counts = Counter(self.vocabulary[g] for g in ngrams(raw) if g in self.vocabulary)
        weights = {i: (1.0 + math.log(c)) * self.idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        scores = [
            intercept + sum(row[i] * w for i, w in weights.items()) / norm
            for row, intercept in zip(self.coefficients, self.intercepts, strict=True)
        ]
        if self.concepts:
            found = [self.concepts[f] for f in concept_features(term or concept_term(raw)) if f in self.concepts]
            scores = [
                score + self.concept_weight * sum(row[i] for i in found)
                for score, row in zip(scores, self.concept_coefficients, strict=True)
            ]
        if len(self.classes) == 2 and len(scores) == 1:  # binary: one row for the second class
            p = 1.0 / (1.0 + math.exp(-scores[0]))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def score(self, raw: str, term: Term | None = None) -> tuple[float, str | None]:
        """The probability that the term is prohibited, and the practice the model finds most likely."""
        probabilities = self.probabilities(raw, term)
        prohibited = 1.0 - probabilities.get(LAWFUL, 0.0)
        practices = {c: p for c, p in probabilities.items() if c not in (LAWFUL, PROHIBITED_UNKNOWN)}
        practice = max(practices, key=lambda c: practices[c]) if practices else None
        return prohibited, practice

    def to_json(self) -> dict[str, Any]:
        inverse = sorted(self.vocabulary, key=lambda g: self.vocabulary[g])
        concepts = sorted(self.concepts, key=lambda f: self.concepts[f])
        return {
            "format": FORMAT,
            "about": self.about,
            "ngram_range": list(NGRAM_RANGE),
            "threshold": self.threshold,
            "doubt_below": self.doubt_below,
            "name_doubt_below": self.name_doubt_below,
            "confirm_above": self.confirm_above,
            "refuse_above": self.refuse_above,
            "pass_below": self.pass_below,
            "classes": self.classes,
            "intercepts": [round(x, 6) for x in self.intercepts],
            "features": [
                [g, round(self.idf[i], 6), [round(row[i], 6) for row in self.coefficients]]
                for i, g in enumerate(inverse)
            ],
            "concept_weight": self.concept_weight,
            "concept_features": [
                [f, [round(row[i], 6) for row in self.concept_coefficients]] for i, f in enumerate(concepts)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        if data.get("format") not in FORMATS:
            raise ValueError(f"Not a screening model: {data.get('format')!r}")
        features = data["features"]
        rows = len(data["intercepts"])
        concepts = data.get("concept_features", [])
        return cls(
            vocabulary={g: i for i, (g, _idf, _c) in enumerate(features)},
            idf=[idf for _g, idf, _c in features],
            coefficients=[[c[r] for _g, _idf, c in features] for r in range(rows)],
            intercepts=list(data["intercepts"]),
            classes=list(data["classes"]),
            threshold=float(data["threshold"]),
            about=dict(data.get("about", {})),
            concepts={f: i for i, (f, _c) in enumerate(concepts)},
            concept_coefficients=[[c[r] for _f, c in concepts] for r in range(rows)] if concepts else [],
            concept_weight=float(data.get("concept_weight", CONCEPT_WEIGHT)),
            doubt_below=_optional(data.get("doubt_below")),
            name_doubt_below=_optional(data.get("name_doubt_below")),
            confirm_above=_optional(data.get("confirm_above")),
            refuse_above=_optional(data.get("refuse_above")),
            pass_below=_optional(data.get("pass_below")),
        )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


@cache
def shipped() -> Model | None:
    """The model shipped with the code, or None when there is none (the rules alone then decide)."""
    if not MODEL_PATH.exists():
        return None
    return Model.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))


def save(model: Model, path: Path) -> None:
    """Write the model as JSON, one feature a line (a retrained model's diff stays readable)."""
    data = model.to_json()
    features = data.pop("features")
    concepts = data.pop("concept_features")
    head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def rows(items: list) -> str:
        return ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in items)

    path.write_text(
        f'{head[:-1]},"concept_features":[\n{rows(concepts)}\n],"features":[\n{rows(features)}\n]}}\n',
        encoding="utf-8",
    )


# --- Training (scikit-learn, imported only here) -------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    prohibited: bool
    practice: str | None = None
    group: str | None = None
    language: str | None = None

    @property
    def label(self) -> str:
        if not self.prohibited:
            return LAWFUL
        return self.practice or PROHIBITED_UNKNOWN


SEED = 20261206
C = 4.0


def train(
    examples: Sequence[Example],
    *,
    threshold: float,
    doubt_below: float | None = None,
    name_doubt_below: float | None = None,
    confirm_above: float | None = None,
    refuse_above: float | None = None,
    pass_below: float | None = None,
    about: dict[str, Any] | None = None,
) -> Model:
    """A model fitted on `examples`; deterministic (fixed seed, single-threaded solver, sorted vocabulary)."""
    import numpy
    from scipy import sparse
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=2, norm="l2", dtype=numpy.float64)
    matrix = vectorizer.fit_transform([e.text for e in examples])
    concept_vectorizer = DictVectorizer(dtype=numpy.float64, sort=True)
    concept_matrix = concept_vectorizer.fit_transform(
        [dict.fromkeys(concept_features(concept_term(e.text)), 1.0) for e in examples]
    )
    width = matrix.shape[1]
    labels = [e.label for e in examples]
    classifier = LogisticRegression(C=C, max_iter=5000, random_state=SEED, class_weight="balanced")
    classifier.fit(sparse.hstack([matrix, concept_matrix * CONCEPT_WEIGHT]).tocsr(), labels)
    vocabulary = {g: int(i) for g, i in vectorizer.vocabulary_.items()}
    order = sorted(vocabulary, key=lambda g: vocabulary[g])
    coefficients = classifier.coef_.tolist()
    concepts = {str(f): int(i) for f, i in concept_vectorizer.vocabulary_.items()}
    concept_order = sorted(concepts, key=lambda f: concepts[f])
    classes = [str(c) for c in classifier.classes_]
    return Model(
        vocabulary={g: i for i, g in enumerate(order)},
        idf=[float(vectorizer.idf_[vocabulary[g]]) for g in order],
        coefficients=[[float(row[vocabulary[g]]) for g in order] for row in coefficients],
        intercepts=[float(x) for x in classifier.intercept_],
        classes=classes,
        threshold=threshold,
        about=dict(about or {}),
        concepts={f: i for i, f in enumerate(concept_order)},
        concept_coefficients=[[float(row[width + concepts[f]]) for f in concept_order] for row in coefficients],
        concept_weight=CONCEPT_WEIGHT,
        doubt_below=doubt_below,
        name_doubt_below=name_doubt_below,
        confirm_above=confirm_above,
        refuse_above=refuse_above,
        pass_below=pass_below,
    )
