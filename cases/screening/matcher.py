"""Matching compiled phrases and rules against one analysed term: where each group occurs, the windows of content
words that hold a whole description, and whether what matched is negated or forbidden by the term itself.

Negation scope (a clause is divided into parts at commas and conjunctions; data/lexicon.json names the words)
- English and Arabic negators ("not", "no", "never", "without"; لا لن لم ليس عدم) reach forward to the end of
  their part: "no girl shall be given", "لن تعطى الفتاة"; when their part says little, on to the end of a list
  ("no one shall burn, demolish or occupy the house"), not into a clause of its own ("…cannot hear it, and the file
  is sent to the police"). "no" before a number ("FIR no 57") and romanised Pashto "no" ("then") negate nothing.
- Negative concord (کوئی، کسی، هېڅ، هیچ; koi, kisi, hech) with the verb's negation after it in the clause is one
  negation that reaches every word between them, across a list: "کسی خاندان کی کوئی لڑکی سوارہ، ونی … نہیں دی
  جائے گی". A name listed after a negated name of the same practice ("…given in swara, vani or in any form of
  badal-e-sulh") shares its negation (`share_list_negation`).
- Urdu, Pashto and Dari negators, written or romanised (نہیں، نہ، مت؛ نه، مه، نشي؛ نمی، نباید؛ nahi, na, mat),
  stand by the verb at the end: they reach their whole part. Pashto "نه" closing "له … نه" (from) is no negator
  unless a verb follows it; negative-concord words (هیچ، هېڅ، "koi") negate nothing by themselves.
- Words that forbid, refuse or reject ("forbidden", "banned", "illegal", "refuse", "rejected"; ممنوع، منع، حرام،
  جرم، مسترد؛ mamnu, haram, radd) reach their part and the parts before it joined by commas or "and"/"or":
  "swara, vani and baad are forbidden" — not a part they are subordinate to ("…, so that the enmity ends").
- "There is no …", "is not within …" (نشته، نیست، ليس من، nishta) reach their part.
- "instead of", "rather than", "به جای", "بدلا من" reach the next three words; Urdu and Pashto "کے بجائے",
  "پر ځای" the three words before.
- A negator within three words of a word that forbids or refuses cancels it: "shall not refuse to give the girl",
  "ممنوع نیست" affirm what follows; "without" (بدون، بغیر، bina) takes a noun and cancels nothing ("a marriage
  without her consent is void").
- A name is negated by any negator of its part, before or after it ("swara is not part of this agreement"), and
  by one after it in the same clause when only commas or "and"/"or" stand between ("کوڑے، منہ کالا … اختیار میں
  نہیں").
- Negators in a conditional part ("if the money is not paid, …") negate nothing outside it.
- Negators among the matched words are part of the description ("will not engage a lawyer", "no share"), not its
  scope; such a description must hold its negation in the same part as its other words.
- A negation inside words that say something worse than their parts ("her consent is not required", "no share",
  "will not be questioned": lexicon.WORSE_NEGATIONS) negates nothing; the words are what the term describes.
- Levantine Arabic negation (ما + the b- imperfect, مش, ما حدا) often follows its subject ("قضية الشرف ما بتنحل
  عشائرياً"): like the Urdu, Pashto and Dari verb's negation, it reaches its whole part.
- A name or description in a clause that also rejects or forbids something elsewhere, or reports a proposal, is
  ambiguous: the engine holds it for review instead of refusing it. A proposal the term says was accepted ("…, and
  the shura agreed", "ومنله", "موافقت کردند") is a decision, not ambiguous.
- Romanised Urdu "na" in an English term is a tag ("from her father's time na, so …"), not a negation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import lexicon, text
from .phrases import BLOCK, LAWFUL, Alternative, Group, Parsed

WINDOW = 10  # content words a description's groups must fit in
EXCEPTION_REACH = 4  # words around the matched ones where an exception is looked for
INSTEAD_REACH = 3
PAIR_REACH = 3  # a negator this close to a word that forbids cancels it
BARE_PART = 2  # content words per part a forward negator may reach through, to the end of a list
LIST_PARTS = 3  # parts of a list a forward negator may reach beyond its own
LIST_GAP = 2  # content words between two names of a list that share a negation (share_list_negation)

Span = tuple[int, int]  # first and last token index, inclusive
GroupIds = tuple[tuple[int, ...], tuple[tuple[str, str], ...]]  # alternative ids, (concept, modifier)

_DATIVE_BEFORE = frozenset(("to", "for", "towards", "among", "amongst"))
_DATIVE_SKIP = frozenset(
    ("the", "a", "an", "his", "her", "their", "its", "our", "each", "both", "two", "three", "four", "own", "young",
     "elder", "eldest", "younger", "youngest", "widowed", "unmarried", "minor", "orphaned", "surviving", "late")
)  # fmt: skip
_ROMAN_DATIVE_AFTER = frozenset(("ta", "tah"))
_PASHTO_DATIVE_AFTER = text.fold("ته")
_PERSIAN_DATIVE_BEFORE = frozenset((text.fold("به"), text.fold("برای"), text.fold("بهر")))
_URDU_FOR = (text.fold("کے"), frozenset((text.fold("لیے"), text.fold("لئے"), text.fold("واسطے"))))
_ARABIC_TO = frozenset((text.fold("إلى"), text.fold("الى")))
_PASHTO_FROM = text.fold("له")
_URDU_KO = text.fold("کو")
_PASHTO_NA = text.fold("نه")
# Words that join a possessor to what it possesses: Urdu کا کی کے, Pashto د, and their romanised forms.
_POSSESSIVE_LINKS = frozenset(
    ("ka", "ki", "ke", "kay", "kee", "da", text.fold("کا"), text.fold("کی"), text.fold("کے"), text.fold("د"))
)


@dataclass(frozen=True)
class Pattern:
    practice: str
    practice_name: str
    citations: tuple[str, ...]
    phrase: str
    level: str  # BLOCK, REVIEW or LAWFUL
    groups: tuple[GroupIds, ...]
    exceptions: GroupIds
    languages: frozenset[str]
    source: str  # "phrase" (the practices' data) or "rule" (data/rules.json)
    whole_term: bool = False  # a lawful use that clears every match of its practice in the term
    clause_wide: bool = False  # the groups anywhere in one clause (rules.json "window": "clause"), not in WINDOW

    @property
    def is_name(self) -> bool:
        return len(self.groups) == 1

    @property
    def names_a_word(self) -> bool:
        """A name of the practice's own words ("badal-e-sulh", "qisas"), not one concept that describes an act
        ("?@confine": someone locked up or chained)."""
        return self.is_name and bool(self.groups[0][0])


@dataclass
class Hit:
    pattern: Pattern
    start: int
    tokens: frozenset[int]
    negated: bool
    ambiguous: bool  # a word that forbids or rejects, or a proposal, elsewhere in the clause
    words: str  # the matched words, for a reviewer


class Index:
    """Every alternative (of the concepts, phrases and rules), indexed by its first word, per comparison mode."""

    def __init__(self) -> None:
        self.alternatives: list[Alternative] = []
        self._ids: dict[Alternative, int] = {}
        self.exact: dict[str, dict[str, list[int]]] = {"latin": {}, "roman": {}, "arabic": {}}
        self.stems: dict[str, dict[str, list[int]]] = {"latin": {}, "roman": {}, "arabic": {}}
        self.stem_lengths: dict[str, list[int]] = {}

    def add(self, alternative: Alternative) -> int:
        known = self._ids.get(alternative)
        if known is not None:
            return known
        index = len(self.alternatives)
        self._ids[alternative] = index
        self.alternatives.append(alternative)
        word, stem, mode = alternative[0]
        (self.stems if stem else self.exact)[mode].setdefault(word, []).append(index)
        return index

    def finish(self) -> None:
        self.stem_lengths = {mode: sorted({len(w) for w in stems}) for mode, stems in self.stems.items()}

    def hits(self, tokens: Sequence[text.Token]) -> dict[int, list[Span]]:
        found: dict[int, list[Span]] = {}
        for start, token in enumerate(tokens):
            candidates: set[int] = set()
            for mode, keys in _keys(token):
                exact, stems, lengths = self.exact[mode], self.stems[mode], self.stem_lengths.get(mode, ())
                for key in keys:
                    candidates.update(exact.get(key, ()))
                    for length in lengths:
                        if length > len(key):
                            break
                        candidates.update(stems.get(key[:length], ()))
            for alternative_id in candidates:
                alternative = self.alternatives[alternative_id]
                end = start + len(alternative) - 1
                if end >= len(tokens) or tokens[end].clause != token.clause:
                    continue
                if all(_matches(word, tokens[start + offset]) for offset, word in enumerate(alternative[1:], 1)):
                    found.setdefault(alternative_id, []).append((start, end))
                elif len(alternative) > 1:
                    skipped = _match_skipping(alternative, tokens, start)
                    if skipped is not None:
                        found.setdefault(alternative_id, []).append((start, skipped))
        return found


# Clitics that stand inside a phrase without changing it: Pashto's future particle and pronoun (به, یې; ba, ye).
_PARTICLES = frozenset((text.fold("به"), text.fold("یې"), "ba", "ye"))


def _match_skipping(alternative: Alternative, tokens: Sequence[text.Token], start: int) -> int | None:
    """The end of the alternative's match from `start` when particles stand between its words, or None."""
    index = start
    for word in alternative[1:]:
        index += 1
        while index < len(tokens) and tokens[index].text in _PARTICLES and not _matches(word, tokens[index]):
            index += 1
        if index >= len(tokens) or tokens[index].clause != tokens[start].clause or not _matches(word, tokens[index]):
            return None
    return index


def _keys(token: text.Token) -> Iterable[tuple[str, Iterable[str]]]:
    if token.script == text.LATIN:
        return (("latin", token.forms), ("roman", (token.skeleton,)))
    if token.script == text.ARABIC_SCRIPT:
        return (("arabic", token.forms),)
    return (("latin", token.forms),)


def _matches(word: tuple[str, bool, str], token: text.Token) -> bool:
    value, stem, mode = word
    if mode == "roman":
        if token.script != text.LATIN:
            return False
        return token.skeleton.startswith(value) if stem else token.skeleton == value
    if (mode == "arabic") != (token.script == text.ARABIC_SCRIPT):
        return False
    if stem:
        return any(form.startswith(value) for form in token.forms)
    return value in token.forms


@dataclass
class Term:
    """One term being screened: its analysis and, computed once, where each alternative and concept occurs."""

    analysed: text.Analysed
    alternative_hits: dict[int, list[Span]]
    concept_alternatives: dict[str, dict[str, tuple[int, ...]]]
    alternative_concepts: dict[int, frozenset[str]] = field(default_factory=dict)  # the reverse of the above
    _concepts: dict[tuple[str, str], list[Span]] = field(default_factory=dict)
    _negators: list[Negator] | None = None
    _part_starts: dict[int, text.Token] | None = None

    @property
    def tokens(self) -> list[text.Token]:
        return self.analysed.tokens

    def present_concepts(self) -> list[str]:
        """The concepts that occur in the term, by name (found from the words that occur, not by trying every
        concept)."""
        names = {name for a in self.alternative_hits for name in self.alternative_concepts.get(a, ())}
        return sorted(name for name in names if self.concept(name))

    def concept(self, name: str, modifier: str = "") -> list[Span]:
        key = (name, modifier)
        spans = self._concepts.get(key)
        if spans is None:
            if modifier == "free":  # decided against the other groups' words, in find()
                spans = self.concept(name)
            elif modifier == "theme":
                spans = [span for span in self.concept(name) if not self._recipient(span, possessor=True)]
            elif modifier == "recipient":
                spans = [span for span in self.concept(name) if self._recipient(span, possessor=False, ko=True)]
            else:
                per_language = self.concept_alternatives.get(name, {})
                lexicons = (*lexicon.LATIN_LEXICONS, *lexicon.ARABIC_LEXICONS.get(self.analysed.language, ()))
                if name in lexicon.OWN_LANGUAGE_ONLY:
                    lexicons = (*lexicon.LATIN_LEXICONS, self.analysed.language or "")
                found = {
                    span
                    for language in lexicons
                    for a in per_language.get(language, ())
                    for span in self.alternative_hits.get(a, ())
                }
                spans = sorted(found)
            self._concepts[key] = spans
        return spans

    def _recipient(self, span: Span, *, possessor: bool, ko: bool = False) -> bool:
        """Marked as a recipient (or, with `possessor`, a possessor), not as what is given: "to the girl",
        "لوڼو ته", "the girl's". With `ko`, Urdu "کو" counts too (it marks a recipient or a definite object)."""
        tokens = self.tokens
        start, end = span
        first, last = tokens[start], tokens[end]
        if possessor and last.possessive:
            return True
        after = tokens[end + 1] if end + 1 < len(tokens) and tokens[end + 1].clause == last.clause else None
        if first.script == text.LATIN:
            index, steps = start - 1, 0
            while index >= 0 and steps < 4 and tokens[index].clause == first.clause:
                previous = tokens[index]
                if previous.text in _DATIVE_BEFORE:
                    return True
                if previous.text not in _DATIVE_SKIP and not previous.possessive:
                    break
                index, steps = index - 1, steps + 1
            return after is not None and (after.text in _ROMAN_DATIVE_AFTER or (ko and after.text == "ko"))
        if first.script != text.ARABIC_SCRIPT:
            return False
        if after is not None and (after.text == _PASHTO_DATIVE_AFTER or (ko and after.text == _URDU_KO)):
            return True
        if (
            after is not None
            and after.text == _URDU_FOR[0]
            and end + 2 < len(tokens)
            and tokens[end + 2].text in _URDU_FOR[1]
        ):
            return True
        previous_token = tokens[start - 1] if start > 0 and tokens[start - 1].clause == first.clause else None
        if self.analysed.language == "ar":
            if first.text.startswith("ل") and not first.text.startswith("ال"):
                return True
            return previous_token is not None and previous_token.text in _ARABIC_TO
        return previous_token is not None and previous_token.text in _PERSIAN_DATIVE_BEFORE

    def possesses(self, owner: Span, owned: Span) -> bool:
        """Whether the words `owner` are the possessor of the words `owned`: "the complainant's daughter", "the
        daughter of the complainant", "mudai ki beti", "مدعی کی بیٹی", "د مدعي د لور", and in Dari and Arabic the
        construct "دختر مدعی", "بنت المشتكي"."""
        tokens = self.tokens
        if tokens[owner[0]].clause != tokens[owned[0]].clause:
            return False
        if owner[1] < owned[0]:
            between = tokens[owner[1] + 1 : owned[0]]
            if tokens[owner[1]].possessive and len(between) <= 1:
                return True
            if between:
                return len(between) <= 2 and all(t.text in _POSSESSIVE_LINKS for t in between)
            return owner[0] > 0 and tokens[owner[0] - 1].text in _POSSESSIVE_LINKS  # "da mudai lur"
        if owned[1] < owner[0]:
            between = tokens[owned[1] + 1 : owner[0]]
            if not between:
                return tokens[owned[1]].script == text.ARABIC_SCRIPT and self.analysed.language in ("fa", "ar")
            return len(between) <= 2 and between[0].text == "of"
        return False

    # --- Negation scope ---------------------------------------------------------------------------------------

    def conditional_parts(self) -> frozenset[int]:
        tokens = self.tokens
        return frozenset(
            tokens[s].part
            for s, _e in self.concept(lexicon.CONDITIONAL)
            if s == 0 or tokens[s - 1].part != tokens[s].part or tokens[s - 1].clause != tokens[s].clause
        )

    def negators(self) -> list[Negator]:
        """Each negator that counts (not cancelled, not absorbed), with the tokens it reaches."""
        if self._negators is not None:
            return self._negators
        tokens = self.tokens
        conditional = self.conditional_parts()
        absorbing = self.concept("not_negation") + self.concept(lexicon.PROHIBITION)
        absorbing = absorbing + self.concept("negation_pred")
        # A negation that makes the term worse is part of what it describes, not a negation of it: "her consent is
        # not required", "the daughters will have no share", "no one will question them".
        absorbing = absorbing + [span for name in lexicon.WORSE_NEGATIONS for span in self.concept(name)]
        forward = [s for s in self.concept(lexicon.NEGATION) if not _inside(s, absorbing)]
        sov = [
            s
            for s in self.concept(lexicon.NEGATION_SOV)
            if not _inside(s, absorbing) and not self._pashto_from(s) and not self._english_na(s)
        ]
        predicates = _outermost(
            [s for s in self.concept("negation_pred") if not _inside(s, self.concept("not_negation"))]
        )
        forbids = _outermost(
            [s for s in self.concept(lexicon.PROHIBITION) if not _inside(s, self.concept("not_negation"))]
        )
        # "no" before a number is "number" ("FIR no 57/2024", "clause no. 4")
        forward = [s for s in forward if not self._numbering(s) and not self._roman_no(s)]
        negations = _outermost(forward + sov)
        cancelled: set[Span] = set()
        for negation in negations:
            if span_text(tokens, negation) in _WITHOUT:
                continue  # "without" takes a noun: "marriage without her consent is void" still forbids
            for forbid in forbids:
                if forbid in cancelled or tokens[negation[0]].part != tokens[forbid[0]].part:
                    continue
                gap = max(forbid[0] - negation[1], negation[0] - forbid[1])
                if 0 < gap <= PAIR_REACH:
                    cancelled.update((negation, forbid))
                    break
        result: list[Negator] = []
        forward_set = set(forward)
        forbid_set = set(forbids)
        predicate_set = set(predicates)
        for span in negations + forbids + predicates:
            if span in cancelled:
                continue
            token = tokens[span[0]]
            if token.part in conditional:  # "if the money is not paid, …": a condition, not a negation
                continue
            if span in forward_set:
                reach = self._forward_reach(span, conditional)
            elif span in forbid_set:
                # a word that forbids: its part, and the parts before it joined by commas or "and"/"or" ("swara,
                # vani and baad are forbidden"), not those it is subordinate to ("…, so that the enmity ends")
                reach = [
                    i
                    for i in range(len(tokens))
                    if tokens[i].clause == token.clause
                    and (
                        tokens[i].part == token.part
                        or (
                            tokens[i].part < token.part
                            and tokens[i].part not in conditional
                            and self._listed(tokens[i].part, token.part)
                        )
                    )
                ]
            else:  # the verb's negation in Urdu, Pashto and Dari: its part
                reach = [i for i in range(len(tokens)) if tokens[i].part == token.part]
            kind = FORBIDS if span in forbid_set else PREDICATE if span in predicate_set else NEGATES
            result.append(Negator(span, frozenset(reach), kind, token.part, token.clause, False))
            if kind == NEGATES and span not in forward_set:
                result.extend(self._concord(span, conditional, sov))
        for span in self.concept("instead"):
            part = tokens[span[0]].part
            reach = [
                i for i in range(span[1] + 1, min(len(tokens), span[1] + 1 + INSTEAD_REACH)) if tokens[i].part == part
            ]
            result.append(Negator(span, frozenset(reach), INSTEAD, part, tokens[span[0]].clause, False))
        for span in self.concept("instead_sov"):
            part = tokens[span[0]].part
            reach = [i for i in range(max(0, span[0] - INSTEAD_REACH), span[0]) if tokens[i].part == part]
            result.append(Negator(span, frozenset(reach), INSTEAD, part, tokens[span[0]].clause, False))
        self._negators = result
        return result

    def _without_affirms(self, negator: Negator, words: frozenset[int]) -> bool:
        """Whether a negation and a "without" together affirm the words: "no peace without swara"."""
        return negator.kind == NEGATES and (
            self._through_without(negator.span, words) or self._doubled_without(negator)
        )

    def _through_without(self, span: Span, hit_tokens: frozenset[int]) -> bool:
        """Whether "without" (بغیر، بدون، baghair, bina) stands between a negation and the words it would reach, in
        one part: "no peace without swara", "ونی کے بغیر صلح نہیں" demand what they name."""
        tokens = self.tokens
        part = tokens[span[0]].part
        low, high = (span[1] + 1, min(hit_tokens)) if span[1] < min(hit_tokens) else (max(hit_tokens) + 1, span[0])
        if any(tokens[i].text in _WITHOUT and tokens[i].part == part for i in range(low, high)):
            return True
        # A verb's negation after the words, and "without" just before them, where "without" precedes its noun
        # (Dari, Pashto): "عروسی بدون رضای خودش صورت نمی‌گیرد", no wedding takes place without her consent.
        first = min(hit_tokens)
        return span[0] > max(hit_tokens) and any(
            tokens[i].text in _WITHOUT and tokens[i].part == part for i in range(max(0, first - WITHOUT_BEFORE), first)
        )

    def _doubled_without(self, negator: Negator) -> bool:
        """A "without" whose part holds another negation of a verb: the two affirm what "without" names."""
        tokens = self.tokens
        if span_text(tokens, negator.span) not in _WITHOUT:
            return False
        return any(
            other.kind == NEGATES
            and other.part == negator.part
            and other.partner is None
            and span_text(tokens, other.span) not in _WITHOUT
            for other in self.negators()
        )

    def _numbering(self, span: Span) -> bool:
        tokens = self.tokens
        following = span[1] + 1
        return (
            span[0] == span[1]
            and tokens[span[0]].text == "no"
            and following < len(tokens)
            and tokens[following].text[:1].isdigit()
        )

    def _roman_no(self, span: Span) -> bool:
        """Romanised Pashto "no" is "so, then" ("…, no jirga masala police ta wasparala"): in a term whose Latin
        words are romanised Urdu or Pashto rather than English, "no" negates nothing."""
        if span[0] != span[1] or self.tokens[span[0]].text != "no":
            return False
        english, roman = lexicon.latin_stopwords()
        words = [t.text for t in self.tokens if t.script == text.LATIN]
        return sum(w in roman for w in words) > sum(w in english for w in words)

    def _english_na(self, span: Span) -> bool:
        """Romanised Urdu "na" in an English term is a tag ("she was married to the Quran from her father's time
        na, so …"), not the verb's negation: in a term whose Latin words are English, "na" negates nothing."""
        if span[0] != span[1] or self.tokens[span[0]].text not in ("na", "nah"):
            return False
        english, roman = lexicon.latin_stopwords()
        words = [t.text for t in self.tokens if t.script == text.LATIN]
        return sum(w in english for w in words) > 2 * sum(w in roman for w in words)

    def _forward_reach(self, span: Span, conditional: frozenset[int]) -> list[int]:
        """An English or Arabic negator reaches forward to the end of its part, and on through the parts of a list
        when its own part says little ("no one shall burn, demolish or occupy the house", "will not, under any
        circumstances, order any beating"): while the words reached hold at most two content words, the next part
        joined by a comma or "and"/"or" is reached too."""
        tokens = self.tokens
        part, clause = tokens[span[0]].part, tokens[span[0]].clause
        reach = [i for i in range(span[1] + 1, len(tokens)) if tokens[i].part == part]
        own = list(reach)
        last = part
        coordinators = lexicon.coordinators()
        while sum(1 for i in reach if tokens[i].content) <= BARE_PART * (last - part + 1):
            following = [i for i in range((reach[-1] if reach else span[1]) + 1, len(tokens))]
            if not following or tokens[following[0]].clause != clause or last - part >= LIST_PARTS:
                break
            next_part = tokens[following[0]].part
            if next_part in conditional or not self._listed(last, next_part):
                break
            if last == part and tokens[following[0]].text in coordinators:
                break  # "…will not hear it, and the file is sent to the police": a clause of its own, not a list
            reach += [i for i in following if tokens[i].part == next_part]
            last = next_part
            if any(tokens[i].text in coordinators for i in following if tokens[i].part == next_part):
                return reach  # the list's last item: "…, demolish or occupy the house"
        return own  # no list: "the jirga cannot hear it, sent back to the SHO" negates only its part

    def _concord(self, negation: Span, conditional: frozenset[int], verbs: list[Span]) -> list[Negator]:
        """Urdu, Pashto and Dari negative concord: a word such as کوئی، کسی، هېڅ، هیچ (koi, kisi, hech) before the
        verb's negation in the same clause makes one negation of both, which reaches every word between them
        across a list ("کسی خاندان کی کوئی لڑکی سوارہ، ونی یا بدل صلح میں نہیں دی جائے گی", "hech jinai pa swara,
        nikah ya bal dol na warkawal kegi"). The concord word alone negates nothing."""
        tokens = self.tokens
        last = tokens[negation[0]]
        for start, end in self.concept(CONCORD):
            first = tokens[start]
            if first.clause != last.clause or end >= negation[0] or first.part in conditional:
                continue
            if any(end < other[0] < negation[0] for other in verbs):
                continue  # the concord word's negation is an earlier one
            if first.part != last.part and not self._listed(first.part, last.part):
                continue
            reach = frozenset(range(start, negation[1] + 1))
            return [Negator((start, end), reach, NEGATES, first.part, first.clause, False, negation)]
        return []

    def _pashto_from(self, span: Span) -> bool:
        """Pashto "له X نه" is "from X", not a negation (unless a verb follows: "له مخې نه بښل کېږي"). A perfective
        verb among the next three words ("له کلي نه وشړل شي", "له هر سړي نه بدل واخلي") says so too: Pashto puts
        the negation inside a perfective verb ("ونه شړل"), never before it."""
        tokens = self.tokens
        index = span[0]
        if tokens[index].text not in (_PASHTO_NA, "na", "nah") or span[0] != span[1] or index < 2:
            return False
        part = tokens[index].part
        if not any(
            tokens[i].text in (_PASHTO_FROM, "la", "da") and tokens[i].part == part
            for i in range(max(0, index - 3), index - 1)
        ):
            return False
        following = [t for t in tokens[index + 1 : index + 4] if t.part == part]
        if any(_perfective(t) for t in following):
            return True
        if tokens[index - 2].text not in (_PASHTO_FROM, "la", "da"):
            return False
        return not (following and following[0].text.endswith(_PASHTO_VERB_ENDINGS))

    def _bare(self, negator: Negator) -> bool:
        """Whether the negator's part holds at most two content words besides the negation itself."""
        return (
            sum(
                1
                for i, token in enumerate(self.tokens)
                if token.part == negator.part and token.content and not negator.span[0] <= i <= negator.span[1]
            )
            <= 2
        )

    def _listed(self, first_part: int, last_part: int) -> bool:
        """Whether the parts after `first_part` up to `last_part` follow one another at commas only."""
        if self._part_starts is None:
            self._part_starts = {}
            for token in self.tokens:
                self._part_starts.setdefault(token.part, token)
        starts = self._part_starts
        subordinators = lexicon.dividers(self.analysed.language) - lexicon.coordinators()
        return all(p not in starts or starts[p].text not in subordinators for p in range(first_part + 1, last_part + 1))

    def reached(self, span: Span, *, outside: frozenset[int] = frozenset()) -> bool:
        """Whether a negator reaches these words (one not among them, nor among `outside`)."""
        words = frozenset(range(span[0], span[1] + 1))
        return any(
            n.reach & words
            and not (n.span[0] <= span[1] and n.span[1] >= span[0])
            and not any(i in outside for i in range(n.span[0], n.span[1] + 1))
            and not (n.partner is not None and any(i in outside for i in range(n.partner[0], n.partner[1] + 1)))
            and not self._without_affirms(n, words)
            for n in self.negators()
        )

    def scope(self, hit_tokens: frozenset[int], *, name: bool, forbidding: bool = True) -> tuple[bool, bool]:
        """(negated, ambiguous): whether a negator reaches the matched words (a name: any negator of its part,
        before or after it), and whether a word that forbids or rejects, or a proposal, stands elsewhere in the
        clause. Without `forbidding`, words that forbid negate nothing (a lawful use: "badal-e-sulh as money
        (lawful) and a woman given as badal (a crime)" forbids the woman, not the money)."""
        tokens = self.tokens
        parts = {tokens[i].part for i in hit_tokens}
        clauses = {tokens[i].clause for i in hit_tokens}
        if clauses & self.analysed.denied:
            return True, False  # asked, and answered "no": "Can the jirga order a beating? No, …"
        ambiguous = clauses <= self.analysed.questions  # asked, not decided: "May the jirga take diyat for …?"
        for negator in self.negators():
            span = negator.span
            if not forbidding and negator.kind == FORBIDS:
                continue
            if span[0] in hit_tokens:
                continue  # the negation is part of the description ("na kawi" where the rule matched "na")
            if self._without_affirms(negator, hit_tokens):
                continue  # "no peace without swara", "wanni ke baghair sulah nahi": two negations affirm it
            if negator.partner is not None and any(
                i in hit_tokens for i in range(negator.partner[0], negator.partner[1] + 1)
            ):
                continue  # "koi wakeel nahi karenge": the negation is part of the description
            if negator.reach & hit_tokens:
                return True, False
            if name and negator.kind != INSTEAD and negator.part in parts:
                return True, False
            if name and negator.kind == PREDICATE and negator.clause in clauses and negator.part > max(parts):
                return True, False  # "کوڑے، منہ کالا … جرگے کے اختیار میں نہیں": a list of names, then "is not …"
            if name and negator.kind == NEGATES and negator.clause in clauses and negator.part > max(parts):
                # a list of names before the verb's negation: "کوڑے، منہ کالا … جرگے کے اختیار میں نہیں" (parts
                # divided by commas, not conjunctions), when the negation's part says little else: a part with its
                # own subject and object ("…، کوئی دکاندار انہیں سودا نہیں دے گا", "…, no case to be pursued by
                # anyone") negates its own words, not the list before it
                if self._listed(max(parts), negator.part) and self._bare(negator):
                    return True, False
            if negator.kind == FORBIDS and negator.clause in clauses and not negator.conditional:
                ambiguous = True
        if not ambiguous and not self._accepted():
            ambiguous = any(tokens[s].clause in clauses and s not in hit_tokens for s, _e in self.concept("proposal"))
        return False, ambiguous

    def _accepted(self) -> bool:
        """Whether the term says a proposal was accepted ("the elders proposed …, and the shura agreed", "پیشنهاد
        کردند … موافقت کردند"): a decision reported, not a suggestion that may have been turned down."""
        return any(not self.reached(span) for span in self.concept("accepted"))


def span_text(tokens: Sequence[text.Token], span: Span) -> str:
    return " ".join(tokens[i].text for i in range(span[0], span[1] + 1))


WITHOUT_BEFORE = 3  # how many words before its noun "without" may stand (بدون رضای, پرته له رضا)
# Negators that take a noun, not a verb: they never cancel a word that forbids ("without consent … is void").
_WITHOUT = frozenset(
    text.fold(w) for w in ("without", "بدون", "بغیر", "بلا", "دون", "پرته", "bina", "baghair", "bagair", "bighair")
)


def share_list_negation(term: Term, hits: list[Hit]) -> None:
    """A name listed after a negated name of the same practice shares its negation: "no girl shall be given in
    swara, vani or in any form of badal-e-sulh" (the comma ends the negation's part, not the list). Only commas,
    "or"/"and" and at most two content words may stand between the two names."""
    tokens = term.tokens
    negated = sorted((h for h in hits if h.negated and h.pattern.is_name), key=lambda h: min(h.tokens))
    if not negated:
        return
    for hit in sorted(hits, key=lambda h: min(h.tokens)):
        if hit.negated or not hit.pattern.is_name or hit.pattern.level == LAWFUL:
            continue
        first = min(hit.tokens)
        for other in negated:
            last = max(other.tokens)
            if (
                other.pattern.practice != hit.pattern.practice
                or last >= first
                or tokens[last].clause != tokens[first].clause
                or tokens[last].part == tokens[first].part
                or not term._listed(tokens[last].part, tokens[first].part)
                or sum(1 for t in tokens[last + 1 : first] if t.content) > LIST_GAP
            ):
                continue
            hit.negated = True
            negated.append(hit)
            break


def _perfective(token: text.Token) -> bool:
    """A Pashto verb in the perfective, written or romanised: و- / وا- / wa- before the stem ("وشړل", "واخلي",
    "washaral", "wabakhi"); verbs whose stem itself begins with و (وهل to beat, وژل to kill, ویل to say, ورکول to
    give, وړل to carry) are left out."""
    word = token.text
    if token.script == text.LATIN:
        skeleton = token.skeleton
        return (
            skeleton.startswith(("va", "vo", "ve", "vu"))
            and not skeleton.startswith(_ROMAN_V_STEMS)
            and len(skeleton) > 4
        )
    return word.startswith("و") and not word.startswith(_PASHTO_V_STEMS) and len(word) > 3


_ROMAN_V_STEMS = (
    "vah",
    "vuh",
    "vaz",
    "vay",
    "var",
    "vrk",
    "vad",
    "vak",
    "vax",
    "vakt",
    "vaj",
    "vel",
    "ver",
    "vey",
    "veh",
)
_PASHTO_V_STEMS = tuple(text.fold(w) for w in ("وه", "وژ", "وی", "ور", "وړ", "واده", "وخت", "واک", "وال"))

NEGATES, FORBIDS, PREDICATE, INSTEAD = "negates", "forbids", "predicate", "instead"
CONCORD = "concord"
_NEGATION_CONCEPTS = frozenset((lexicon.NEGATION, lexicon.NEGATION_SOV, "negation_pred"))
_PASHTO_VERB_ENDINGS = ("ل", "ږي", "ږې", "شي", "کړي", "وي", "ي", "al", "el", "gi", "ge", "i")


@dataclass(frozen=True)
class Negator:
    span: Span
    reach: frozenset[int]
    kind: str  # NEGATES, FORBIDS or INSTEAD
    part: int
    clause: int
    conditional: bool
    partner: Span | None = None  # a concord word's verb negation ("koi … nahi"): the two are one negation


def _inside(span: Span, others: list[Span]) -> bool:
    return any(o[0] <= span[0] and span[1] <= o[1] and o != span for o in others)


def _outermost(spans: list[Span]) -> list[Span]:
    unique = sorted(set(spans))
    return [s for s in unique if not _inside(s, unique)]


# --- Patterns -----------------------------------------------------------------------------------------------


def group_spans(term: Term, group: GroupIds) -> list[Span]:
    alternative_ids, concepts = group
    spans: set[Span] = set()
    for alternative_id in alternative_ids:
        spans.update(term.alternative_hits.get(alternative_id, ()))
    for name, modifier in concepts:
        spans.update(term.concept(name, modifier))
    return sorted(spans)


def find(term: Term, pattern: Pattern) -> Hit | None:
    """The first place in the term where every group of the pattern occurs in one clause within the window, with
    no exception near it."""
    occurrences = [group_spans(term, group) for group in pattern.groups]
    if not all(occurrences):
        return None
    tokens = term.tokens
    content_before = term.analysed.content_before
    # A description that includes a negation ("will not engage a lawyer") must hold it in the same part.
    same_part = any(name in _NEGATION_CONCEPTS for _ids, concepts in pattern.groups for name, _m in concepts)
    free = [any(modifier == "free" for _name, modifier in concepts) for _ids, concepts in pattern.groups]
    exceptions = group_spans(term, pattern.exceptions) if pattern.exceptions[0] or pattern.exceptions[1] else []
    window = len(tokens) if pattern.clause_wide else WINDOW
    negated_hit: Hit | None = None
    lawful_hit: Hit | None = None  # a lawful use: every place it matches (it overrides names on those words)
    for clause_start, clause_end in term.analysed.clauses:
        in_clause = [[s for s in group if clause_start <= s[0] < clause_end] for group in occurrences]
        if not all(in_clause):
            continue
        starts = sorted({s for group in in_clause for s, _e in group})
        for first in starts:
            chosen: list[Span] = []
            for group_index, group in enumerate(in_clause):
                # Each group on words of its own: "wife" is no marriage of itself.
                fitting = [
                    (s, e)
                    for s, e in group
                    if s >= first
                    and content_before[e + 1] - content_before[first] <= window
                    and not any(s <= ce and e >= cs for cs, ce in chosen)
                ]
                if same_part and chosen:
                    fitting = [(s, e) for s, e in fitting if tokens[s].part == tokens[chosen[0][0]].part]
                if free[group_index] and chosen:
                    fitting = [span for span in fitting if not any(term.possesses(span, other) for other in chosen)]
                if not fitting:
                    break
                chosen.append(min(fitting, key=lambda span: span[1]))
            else:
                low = max(clause_start, first - EXCEPTION_REACH)
                high = min(clause_end - 1, max(e for _s, e in chosen) + EXCEPTION_REACH)
                hit_tokens = frozenset(i for s, e in chosen for i in range(s, e + 1))
                if any(
                    s <= high
                    and e >= low
                    # not part of a matched word ("khwakha" in "ka khwakha ye wi ka na")...
                    and not any(cs <= s and e <= ce for cs, ce in chosen)
                    # ...and not itself negated by words outside the match ("without mahr", "no consent")
                    and not term.reached((s, e), outside=hit_tokens)
                    for s, e in exceptions
                ):
                    continue
                words = " … ".join(" ".join(tokens[i].text for i in range(s, e + 1)) for s, e in sorted(chosen))
                negated, ambiguous = term.scope(hit_tokens, name=pattern.is_name, forbidding=pattern.level != LAWFUL)
                hit = Hit(pattern, first, hit_tokens, negated, ambiguous, words)
                if not negated and pattern.level == LAWFUL:
                    if lawful_hit is None:
                        lawful_hit = hit
                    else:
                        lawful_hit.tokens = lawful_hit.tokens | hit_tokens
                    continue
                if not negated:
                    return hit
                if negated_hit is None:
                    negated_hit = hit
    return lawful_hit or negated_hit


def compile_patterns(
    index: Index, entries: Iterable[tuple[str, str, tuple[str, ...], str, Parsed, frozenset[str], str, bool, bool]]
) -> list[Pattern]:
    """Patterns from parsed phrases: (practice code, name, citations, phrase, parsed, languages, source, whether a
    lawful use clears the whole term, whether the groups may stand anywhere in a clause)."""
    patterns = []
    for code, name, citations, phrase, parsed, languages, source, whole_term, clause_wide in entries:
        patterns.append(
            Pattern(
                practice=code,
                practice_name=name,
                citations=citations,
                phrase=phrase,
                level=parsed.level,
                groups=tuple(_group_ids(index, group) for group in parsed.groups),
                exceptions=_group_ids(index, parsed.exceptions),
                languages=languages,
                source=source,
                whole_term=whole_term,
                clause_wide=clause_wide,
            )
        )
    return patterns


def _group_ids(index: Index, group: Group) -> GroupIds:
    return tuple(index.add(a) for a in group.alternatives), group.concepts


__all__ = ["BLOCK", "LAWFUL", "Hit", "Index", "Pattern", "Term", "compile_patterns", "find"]
