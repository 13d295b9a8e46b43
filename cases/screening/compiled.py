"""The practices' phrases (ProhibitedPhrase, editable in the admin) and the screening's rules and lexicons,
compiled once per process into one index.

Saving or deleting a practice or a phrase drops the compiled copy at once (cases.guardrails connects the
signals); when the change commits, a generation token in Django's cache changes too, so other processes (the other
web workers, Celery) recompile on their next check. Bulk changes that bypass signals (`QuerySet.update`,
`bulk_create`) must call `invalidate()` themselves. When the cache is unreachable, the copy this process holds is
used rather than refusing every agreement.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.db import transaction

from ..models import ProhibitedPhrase, ProhibitedPractice
from . import lexicon, text
from .matcher import Hit, Index, Pattern, Term, compile_patterns, find, share_list_negation
from .phrases import Parsed, parse

logger = logging.getLogger(__name__)

GENERATION_KEY = "cases.guardrails.generation"  # also dropped by migration 0004 when it loads the practices


@dataclass
class Compiled:
    index: Index
    patterns: list[Pattern]
    concept_alternatives: dict[str, dict[str, tuple[int, ...]]]  # concept → lexicon language → alternative ids
    users: dict[int, tuple[int, ...]]  # alternative id → the patterns that use it
    concept_users: dict[str, tuple[int, ...]]
    practices: dict[str, tuple[str, tuple[str, ...]]]  # active practices: code → (name, citations)
    alternative_concepts: dict[int, frozenset[str]]  # alternative id → the concepts it belongs to

    def term(self, raw: str) -> Term:
        analysed = text.analyse(raw, stopwords=lexicon.stopwords(), dividers=lexicon.dividers)
        return Term(analysed, self.index.hits(analysed.tokens), self.concept_alternatives, self.alternative_concepts)

    def hits(self, term: Term) -> list[Hit]:
        """Every pattern that matches the term (negated ones too), in the order of the patterns."""
        candidates: set[int] = set()
        for alternative_id in term.alternative_hits:
            candidates.update(self.users.get(alternative_id, ()))
        for name in term.present_concepts():
            candidates.update(self.concept_users.get(name, ()))
        language = term.analysed.language
        found = []
        for pattern_id in sorted(candidates):
            pattern = self.patterns[pattern_id]
            if pattern.languages and not _applies(pattern.languages, term, language):
                continue
            hit = find(term, pattern)
            if hit is not None:
                found.append(hit)
        share_list_negation(term, found)
        return found


def _applies(languages: frozenset[str], term: Term, language: str | None) -> bool:
    if language is not None and language in languages:
        return True
    return "latin" in languages and any(t.script == text.LATIN for t in term.tokens)


@lru_cache(maxsize=8192)
def _parse(phrase: str) -> Parsed:
    """A phrase's parse (phrases and rules change rarely; every compile after the first reuses it)."""
    return parse(phrase, lexicon.concept_names())


def build(phrases: Iterable[ProhibitedPhrase], practices: Iterable[ProhibitedPractice]) -> Compiled:
    index = Index()
    concept_alternatives = {
        name: {language: tuple(index.add(a) for a in alternatives) for language, alternatives in languages.items()}
        for name, languages in lexicon.concepts().items()
    }
    active = {
        p.code: (p.name, tuple(line.strip() for line in p.citations.splitlines() if line.strip())) for p in practices
    }
    entries: list[tuple[str, str, tuple[str, ...], str, Parsed, frozenset[str], str, bool, bool]] = []
    for phrase in phrases:
        try:
            parsed = _parse(phrase.phrase)
        except ValueError as exc:
            logger.warning("Skipping prohibited phrase %s (%r): %s", phrase.pk, phrase.phrase, exc)
            continue
        code = phrase.practice.code
        if code in active:
            entries.append((code, *active[code], phrase.phrase, parsed, frozenset(), "phrase", False, False))
    for rule in lexicon.rules():
        if rule.practice not in active:
            continue
        try:
            parsed = _parse(rule.phrase)
        except ValueError as exc:  # A shipped rule that does not parse is a bug; tests parse them all.
            logger.error("Skipping screening rule %r: %s", rule.phrase, exc)
            continue
        entries.append(
            (
                rule.practice, *active[rule.practice], rule.phrase, parsed, rule.languages, "rule", rule.whole_term,
                rule.clause_wide,
            )
        )  # fmt: skip
    patterns = compile_patterns(index, entries)
    index.finish()
    users: dict[int, list[int]] = {}
    concept_users: dict[str, list[int]] = {}
    for pattern_id, pattern in enumerate(patterns):
        for alternative_ids, concepts in pattern.groups:
            for alternative_id in alternative_ids:
                users.setdefault(alternative_id, []).append(pattern_id)
            for name, _theme in concepts:
                concept_users.setdefault(name, []).append(pattern_id)
    return Compiled(
        index,
        patterns,
        concept_alternatives,
        {k: tuple(sorted(set(v))) for k, v in users.items()},
        {k: tuple(sorted(set(v))) for k, v in concept_users.items()},
        active,
        _reverse(concept_alternatives),
    )


def _reverse(concept_alternatives: dict[str, dict[str, tuple[int, ...]]]) -> dict[int, frozenset[str]]:
    concepts: dict[int, set[str]] = {}
    for name, languages in concept_alternatives.items():
        for alternative_ids in languages.values():
            for alternative_id in alternative_ids:
                concepts.setdefault(alternative_id, set()).add(name)
    return {a: frozenset(names) for a, names in concepts.items()}


# --- The in-process copy --------------------------------------------------------------------------------------

_lock = threading.Lock()
_compiled: tuple[str | None, Compiled | None] = (None, None)  # (generation it was built for, compiled)


def _generation() -> str | None:
    """The shared generation token, created if the cache has none; None when the cache is unreachable."""
    try:
        token = cache.get(GENERATION_KEY)
        if token is None:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(GENERATION_KEY)
        return token
    except Exception:
        logger.warning("The cache did not answer; using this process's copy of the prohibited phrases", exc_info=True)
        return None


def current() -> Compiled:
    global _compiled
    generation = _generation()
    built_for, compiled = _compiled
    if compiled is not None and (generation is None or generation == built_for):
        return compiled
    with _lock:
        built_for, compiled = _compiled
        if compiled is None or (generation is not None and generation != built_for):
            phrases = ProhibitedPhrase.objects.filter(practice__is_active=True).select_related("practice")
            practices = ProhibitedPractice.objects.filter(is_active=True).order_by("code")
            compiled = build(phrases.order_by("practice__code", "id"), practices)
            _compiled = (generation, compiled)
        return compiled


def invalidate(using: str | None = None) -> None:
    """Forget the compiled phrases in this process now, and in every process once the change commits."""
    global _compiled
    _compiled = (None, None)
    transaction.on_commit(_publish, using=using)


def _publish() -> None:
    global _compiled
    # Another thread may have compiled the data as it stood before the commit; drop that copy too.
    _compiled = (None, None)
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("Could not tell other processes that the prohibited phrases changed", exc_info=True)
