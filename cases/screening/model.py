"""The screening's statistical component: a character n-gram linear model that holds for review what no phrase or
rule names.

Features are scikit-learn's TfidfVectorizer over character n-grams within words (the "char_wb" analyzer: each
word padded with a space, n-grams of 2 to 5 characters), computed here by `ngrams()` on the screening's
normalised text, so training and inference share one function. The classifier is a logistic regression (classes:
each practice, and "lawful"); the prohibited score is 1 − P(lawful).

The trained model ships as a JSON file (data/model.json: vocabulary, idf, coefficients, intercepts, classes,
threshold and the training's provenance), read with the standard library: the runtime imports neither
scikit-learn nor pickle. `manage.py screening_train` writes it (training needs scikit-learn, in requirements.txt).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import text

MODEL_PATH = Path(__file__).resolve().parent / "data" / "model.json"
FORMAT = "sulh-screening-char-ngram-logreg/1"
NGRAM_RANGE = (2, 5)
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


@dataclass(frozen=True)
class Model:
    vocabulary: dict[str, int]
    idf: list[float]
    coefficients: list[list[float]]  # per class, per feature
    intercepts: list[float]
    classes: list[str]
    threshold: float
    about: dict[str, Any]

    def probabilities(self, raw: str) -> dict[str, float]:
        counts = Counter(self.vocabulary[g] for g in ngrams(raw) if g in self.vocabulary)
        weights = {i: (1.0 + math.log(c)) * self.idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        scores = [
            intercept + sum(row[i] * w for i, w in weights.items()) / norm
            for row, intercept in zip(self.coefficients, self.intercepts, strict=True)
        ]
        if len(self.classes) == 2 and len(scores) == 1:  # binary: one row for the second class
            p = 1.0 / (1.0 + math.exp(-scores[0]))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def score(self, raw: str) -> tuple[float, str | None]:
        """The probability that the term is prohibited, and the practice the model finds most likely."""
        probabilities = self.probabilities(raw)
        prohibited = 1.0 - probabilities.get(LAWFUL, 0.0)
        practices = {c: p for c, p in probabilities.items() if c not in (LAWFUL, PROHIBITED_UNKNOWN)}
        practice = max(practices, key=lambda c: practices[c]) if practices else None
        return prohibited, practice

    def to_json(self) -> dict[str, Any]:
        inverse = sorted(self.vocabulary, key=lambda g: self.vocabulary[g])
        return {
            "format": FORMAT,
            "about": self.about,
            "ngram_range": list(NGRAM_RANGE),
            "threshold": self.threshold,
            "classes": self.classes,
            "intercepts": [round(x, 6) for x in self.intercepts],
            "features": [
                [g, round(self.idf[i], 6), [round(row[i], 6) for row in self.coefficients]]
                for i, g in enumerate(inverse)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        if data.get("format") != FORMAT:
            raise ValueError(f"Not a screening model: {data.get('format')!r}")
        features = data["features"]
        rows = len(data["intercepts"])
        return cls(
            vocabulary={g: i for i, (g, _idf, _c) in enumerate(features)},
            idf=[idf for _g, idf, _c in features],
            coefficients=[[c[r] for _g, _idf, c in features] for r in range(rows)],
            intercepts=list(data["intercepts"]),
            classes=list(data["classes"]),
            threshold=float(data["threshold"]),
            about=dict(data.get("about", {})),
        )


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
    head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    path.write_text(f'{head[:-1]},"features":[\n{lines}\n]}}\n', encoding="utf-8")


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


def train(examples: Sequence[Example], *, threshold: float, about: dict[str, Any] | None = None) -> Model:
    """A model fitted on `examples`; deterministic (fixed seed, single-threaded solver, sorted vocabulary)."""
    import numpy
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=2, norm="l2", dtype=numpy.float64)
    matrix = vectorizer.fit_transform([e.text for e in examples])
    labels = [e.label for e in examples]
    classifier = LogisticRegression(C=C, max_iter=5000, random_state=SEED, class_weight="balanced")
    classifier.fit(matrix, labels)
    vocabulary = {g: int(i) for g, i in vectorizer.vocabulary_.items()}
    order = sorted(vocabulary, key=lambda g: vocabulary[g])
    coefficients = classifier.coef_.tolist()
    classes = [str(c) for c in classifier.classes_]
    return Model(
        vocabulary={g: i for i, g in enumerate(order)},
        idf=[float(vectorizer.idf_[vocabulary[g]]) for g in order],
        coefficients=[[float(row[vocabulary[g]]) for g in order] for row in coefficients],
        intercepts=[float(x) for x in classifier.intercept_],
        classes=classes,
        threshold=threshold,
        about=dict(about or {}),
    )
