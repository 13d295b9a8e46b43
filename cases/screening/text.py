"""The screening's view of a term's text: which language its letters say it is in, its clauses, and its words in
the forms the lexicons and phrases are compared with.

Script-aware normalisation
--------------------------
- The language of the Arabic-script words comes from their letters, before anything is unified: Pashto's own
  letters (ټ ډ ړ ښ ږ ګ ڼ ې ۍ) make it Pashto; Urdu's (ٹ ڈ ڑ ں ے ھ ۓ) Urdu; Persian letters (پ چ ژ گ ی) without the
  Arabic ة or ى make it Dari; anything else in that script is Arabic. Latin-script words are English or romanised
  Urdu or Pashto, told apart by the lexicons, not here.
- Letters are then unified as keyboards substitute them (pyarabic for diacritics, tatweel, hamza seats and
  ligatures; a table for the letters pyarabic does not know). Unlike the name key (cases.guardrails.normalise),
  Urdu's yeh barree ے stays apart from yeh, so that "بیٹے" (sons) is not "بیٹی" (daughter), and Pashto's ې and ۍ
  stay apart too, so that "لوری" (a side) is not "لور" + "ې" (daughters).
- Each word gets a few forms: itself and, by a light stemmer for its language, the word without a plural,
  oblique, indefinite or possessive ending (Urdu -وں -یں -یاں -ے, Pashto -ې -ۍ -و -انو -ونه, Dari -ها -ان -ی -ش,
  Arabic -ات -ون -ین -ها -ه); Arabic words also without one leading proclitic (و ف ب ل ك ال وال بال فال كال لل).
  Proclitics come off Arabic words only: in Pashto "لوڼې" (daughters) is not "ل" + "ونی" (vani). English words
  lose their inflections (-s, -es, -ies, -ed, -ied, -ing); romanised words get a spelling skeleton as well
  (doubled letters single, ee → i, oo → u, w → v, q → k) so that "larkee", "larki" and "swarra", "swara" meet.
- A clause ends at . ; : ؛ ۔ ! ? ؟ and at a line break; a period after an abbreviation ("Rs.", "s.") or between
  digits ends nothing, and a short label before a colon ("Swara: two girls …") belongs to the clause after it.
  Commas and a few conjunctions divide a clause into parts, which only bound the reach of a negation.
- Legal citations ("PPC 310-A", "s. 345(7)", "PLD 2004 SC 123", "دفعہ 310") are kept as one word that counts for
  nothing, like the stop words of each language: windows are counted in content words. So do the words of an aside
  in brackets ("to give 1 girl (d/o Rafiq, aged abt 17) to compl. party"): they are matched, not counted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import regex
from pyarabic import araby

LATIN, ARABIC_SCRIPT = "latin", "arabic"
LANGUAGES = ("ur", "ps", "fa", "ar")

_PASHTO = set("ټډړښږګڼېۍ")
_URDU = set("ٹڈڑںےھۓ")
_PERSIAN = set("پچژگی")
_ARABIC_ONLY = set("ةى")


def detect_language(text: str) -> str | None:
    """The language of the Arabic-script words of `text` by their letters (ur, ps, fa, ar), or None when it has
    none."""
    letters = set(text)
    if not any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" for ch in letters):
        return None
    if letters & _PASHTO:
        return "ps"
    if letters & _URDU:
        return "ur"
    if letters & _PERSIAN and not letters & _ARABIC_ONLY:
        return "fa"
    return "ar"


# --- Letters ---------------------------------------------------------------------------------------------------

_LETTERS = {
    "ک": "ك",
    "ڪ": "ك",
    "ګ": "گ",
    "ی": "ي",
    "ى": "ي",
    "ێ": "ې",
    "ۓ": "ے",
    "ہ": "ه",
    "ھ": "ه",
    "ە": "ه",
    "ۃ": "ه",
    "ة": "ه",
    "ں": "ن",
    "ڼ": "ن",
    "ټ": "ٹ",
    "ډ": "ڈ",
    "ړ": "ڑ",
    "ښ": "ش",
    "ږ": "ژ",
    "ٱ": "ا",
    "\u200c": " ",  # zero-width non-joiner: "می‌دهند" is written with it, a space, or nothing
}
_LETTERS.update({chr(0x0660 + d): str(d) for d in range(10)})
_LETTERS.update({chr(0x06F0 + d): str(d) for d in range(10)})
_TRANSLATE = str.maketrans(_LETTERS)

_APOSTROPHES = regex.compile(r"['\u2018\u2019\u02bc\u02bb\u02be\u02bf\u0060\u00b4]")
_COMBINING_HAMZA = regex.compile(r"[\u0654\u0655]")
_MARKS = regex.compile(r"\p{Mn}+")
_FORMAT = regex.compile(r"\p{Cf}+")
_DOUBLE_YEH = regex.compile(r"ي{2,}")
_WORD = regex.compile(r"[\p{L}\p{N}]+")


def fold(text: str) -> str:
    """Lower case, one letter for each set of letters keyboards substitute, no marks; punctuation kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _COMBINING_HAMZA.sub("", text)
    text = araby.strip_tatweel(araby.strip_tashkeel(text))
    text = araby.normalize_teh(araby.normalize_hamza(araby.normalize_ligature(text), method="tasheel"))
    text = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))
    text = _APOSTROPHES.sub("", text).translate(_TRANSLATE)
    text = _FORMAT.sub("", text)
    return _DOUBLE_YEH.sub("ي", text)


def normalise(text: str) -> str:
    """The text as the screening compares it, words separated by single spaces (a reviewer's decision is kept
    under this form's hash)."""
    return " ".join(_WORD.findall(fold(text)))


# --- Word forms ------------------------------------------------------------------------------------------------

_PROCLITICS = (
    ("وال", 2),
    ("بال", 2),
    ("فال", 2),
    ("كال", 2),
    ("لل", 2),
    ("ال", 2),
    ("و", 3),
    ("ف", 3),
    ("ب", 3),
    ("ل", 3),
)
_JOINED_PARTICLES = frozenset({"وما", "ولا", "ولم", "ولن", "فما", "فلا", "فلم", "فلن"})
_SUFFIXES = {
    # after unifying letters: ں→ن, ه for ہ/ھ/ة, ي for ی/ى; Pashto's ې and ۍ stay apart from ي
    "ar": ("ات", "ون", "ين", "ان", "ها", "هم", "هن", "يه", "ه", "ي", "تها", "تهم", "تهن", "ا"),
    "ur": ("يون", "يان", "ون", "ين", "ے", "ي", "وں", "ان"),
    "ps": ("ې", "ۍ", "و", "انو", "ونو", "ونه", "گانې", "گانو", "ه", "ان"),
    "fa": ("ها", "هاي", "هايش", "ان", "ي", "ش", "شان", "اش", "اي", "يش", "ه"),
}
# Pashto typed on a Persian keyboard has no Pashto letters and is read as Dari: Dari forms try Pashto endings too.
_SUFFIXES["fa"] = _SUFFIXES["fa"] + tuple(x for x in _SUFFIXES["ps"] if x not in _SUFFIXES["fa"])
_MIN_STEM = 3


def _strip_suffixes(word: str, suffixes: tuple[str, ...], out: set[str]) -> None:
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            out.add(word[: -len(suffix)])


def arabic_script_forms(word: str, language: str) -> frozenset[str]:
    forms = {word}
    if language == "ar":
        suffixes = _SUFFIXES["ar"]
        bases = [word]
        for clitic, rest in _PROCLITICS:
            if word.startswith(clitic) and len(word) - len(clitic) >= rest:
                bases.append(word[len(clitic) :])
        if word in _JOINED_PARTICLES:  # "وما بتطالب", "ولا يجوز": "and" before a negation too short to strip
            bases.append(word[1:])
        forms.update(bases)
        for base in bases:
            _strip_suffixes(base, suffixes if not base.endswith(("ها", "نا")) else suffixes[:-1], forms)
            if base.endswith("ت") and len(base) > _MIN_STEM:  # "ابنته": teh marbuta before a pronoun
                forms.add(base[:-1] + "ه")
            if base.endswith(("تان", "تين")) and len(base) - 2 > _MIN_STEM:  # the feminine dual: "امرأتان" → امراه
                forms.add(base[:-3] + "ه")
    else:
        _strip_suffixes(word, _SUFFIXES.get(language, _SUFFIXES["ur"]), forms)
        if language in ("ps", "fa") and word.endswith(("ې", "ۍ")):  # typed with ی by some: "ترهګرۍ", "ترهګري"
            forms.add(word[:-1] + "ي")
        if language == "ur" and word.endswith("ے") and len(word) > _MIN_STEM:  # بیٹے → بیٹا
            forms.add(word[:-1] + "ا")
    return frozenset(forms)


def english_forms(word: str) -> frozenset[str]:
    forms = {word}
    n = len(word)
    if n > 4 and word.endswith(("ies", "ied")):
        forms.add(word[:-3] + "y")
    if n > 4 and word.endswith("ing"):
        base = word[:-3]
        forms.update((base, base + "e"))
        if len(base) > 2 and base[-1] == base[-2]:
            forms.add(base[:-1])
    if n > 3 and word.endswith("ed"):
        base = word[:-2]
        forms.update((base, base + "e"))
        if len(base) > 2 and base[-1] == base[-2]:
            forms.add(base[:-1])
    if n > 3 and word.endswith("es"):
        forms.add(word[:-2])
    if n > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return frozenset(forms)


_ROMAN_RULES = (("ee", "i"), ("oo", "u"), ("w", "v"), ("q", "k"))
_DOUBLED = regex.compile(r"(\p{L})\1+")


def roman_skeleton(word: str) -> str:
    """Romanised Urdu and Pashto are spelled as heard: one skeleton for "larkee"/"larki", "swarra"/"swara",
    "wani"/"vanni", "qatl"/"katl"."""
    for old, new in _ROMAN_RULES:
        word = word.replace(old, new)
    return _DOUBLED.sub(r"\1", word)


# --- Citations and clauses ---------------------------------------------------------------------------------------

_CITATION = regex.compile(
    r"""
    (?:\(\s*)?\b(?:PLD|SCMR|YLR|MLD|CLC|PCr\.?\s?LJ|P\.?\s?Cr\.?\s?L\.?\s?J|NLR|KLR|PLJ)\b[\s.,]*(?:\d{4}\s*)?
        (?:[A-Z][\w.]*\s+){0,3}\d+(?:\s*\))?                                      # law reports: PLD 2004 SC 123
    | \b(?:u/s|r/w|ss?\.|secs?\.?|sections?|arts?\.|articles?|rules?|paras?\.?|clauses?)\s*
        \d+[\w]*(?:\s*\(\s*\w{1,4}\s*\))*(?:\s*(?:,|and|&|/|-|to)\s*\d+[\w]*(?:\s*\(\s*\w{1,4}\s*\))*)*
    | \b(?:PPC|P\.P\.C\.?|CrPC|Cr\.P\.C\.?|EVAW|EVAWL|CPC|Qanun-e-Shahadat)\b(?:\s*\d+[\w-]*(?:\s*\(\s*\w{1,4}\s*\))*)?
    | (?:دفعہ|دفعه|ماده|مادہ|المادة|المادہ|مادة|فقرہ|فقره|بند)\s*[\d۰-۹٠-٩]+[\w\-]*(?:\s*\(\s*\w{1,4}\s*\))*
    | \b\d{1,3}-[A-Z]\b                                                           # 310-A, 498-B
    """,
    regex.VERBOSE | regex.IGNORECASE,
)
CITATION_TOKEN = "§"
# A case reference in brackets: "(FIR No. 112/2023 P.S. Kohat Cantt)", "(ایف آئی آر نمبر ۱۱۲/۲۰۲۳ تھانہ …)".
_REFERENCE = regex.compile(
    r"\((?=[^()]*\d)(?=[^()]*(?:\bFIR\b|\bNo\b|\bP\.?S\b|\bcase\b|نمبر|ایف آئی آر|شماره|رقم|دوسیه|قضيه|پرونده))[^()]{1,80}\)",
    regex.IGNORECASE,
)

# A period that ends nothing: after these abbreviations, or between digits.
_ABBREVIATIONS = {"rs", "mr", "mrs", "ms", "dr", "no", "nos", "vs", "st", "sr", "jr", "etc", "eg", "ie", "s", "ss", "art",
                  "arts", "sec", "para", "p", "pp", "vol", "co", "ltd", "govt", "dept", "approx",
                  # case registers' own: "accd. party", "compl. party", "aged abt. 17", "vill. Sherpao", "distt. Swat"
                  "accd", "acc", "compl", "complt", "abt", "vill", "distt", "dist", "teh", "resp", "petr", "deptt"}  # fmt: skip
_BOUNDARY = regex.compile(r"[;:؛۔!?؟\n\r\u2029]+|\.(?=\s|$)|\.{2,}|…")
_SUBCLAUSE = regex.compile(r"[,،]")


def _depth(depth: int, between: str) -> int:
    """The bracket depth after the text between two words."""
    for char in between:
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
    return depth


def is_latin(word: str) -> bool:
    return bool(word) and ("a" <= word[0] <= "z" or "\u00e0" <= word[0] <= "\u024f")


@dataclass
class Token:
    text: str  # folded
    script: str  # LATIN, ARABIC_SCRIPT or NUMBER
    clause: int
    part: int  # the part of the clause (commas and dividing conjunctions), numbered across the term
    content: bool  # counts in a window: not a stop word, not a citation
    possessive: bool = False  # written "girl's" or "girls'"
    forms: frozenset[str] = field(default_factory=frozenset)  # Latin and Arabic script: the stemmer's forms
    skeleton: str = ""  # Latin: the romanised-spelling skeleton


NUMBER = "number"


@dataclass
class Analysed:
    text: str
    language: str | None  # the Arabic-script words' language, or None
    tokens: list[Token]
    clauses: list[tuple[int, int]]  # token ranges [start, end)
    content_before: list[int]  # content_before[i]: content words among tokens[:i]
    # Clauses (Token.clause) asking a question that the next clause answers "no" ("Q: Can the jirga make a man's
    # relatives leave the village? A: No. …"): what they describe is denied, not decided.
    denied: frozenset[int] = frozenset()
    # Clauses that ask a question that no "yes" answers ("Question: may the jirga accept diyat in an honour killing?
    # Please advise."): they ask what the law allows, they impose nothing; what they name is held for a reviewer.
    questions: frozenset[int] = frozenset()


# Arabic "ألّا" (أن لا, "that … not") written as one word: the hamza above the alif tells it from "إلّا" (except),
# which folding would make the same word; it is read as "أن لا", whose "لا" negates ("قررت اللجنة ألا يُذكر اسمها").
_THAT_NOT = regex.compile(r"(?<!\p{L})([وف]?)أ\p{Mn}*ل\p{Mn}*ا(?![\p{L}\p{Mn}])")
_DIGIT_GROUPS = regex.compile(r"(?<=\d)[,\u066c\u060c'’ ](?=\d{3}(?!\d))")
_TOKEN = regex.compile(r"§|[\p{L}\p{N}][\p{L}\p{M}\p{N}\u200d]*(?:['’ʼ][\p{L}\p{M}]+)*")
_POSSESSIVE_AFTER = regex.compile(r"['’ʼ](?!\p{L})")


def analyse(raw: str, *, stopwords: frozenset[str], dividers: Callable[[str | None], frozenset[str]]) -> Analysed:
    """Tokens, clauses and parts of a term (see the module's docstring). `dividers` gives the words that begin a
    part for the language the term's letters show."""
    language = detect_language(raw)
    starts_part = dividers(language)
    raw = unicodedata.normalize("NFKC", raw)
    raw = _DIGIT_GROUPS.sub("", raw)
    raw = _THAT_NOT.sub(r"\1أن لا", raw)
    raw = _REFERENCE.sub(f" {CITATION_TOKEN} ", raw)
    raw = _CITATION.sub(f" {CITATION_TOKEN} ", raw)
    tokens: list[Token] = []
    clauses: list[tuple[int, int]] = []
    part = 0
    pieces = _clauses(raw)
    for clause_index, (clause_text, _question) in enumerate(pieces):
        first = len(tokens)
        depth = 0  # inside brackets: an aside ("(d/o Rafiq, aged abt 17)") that counts for nothing in a window
        for piece_index, piece in enumerate(_SUBCLAUSE.split(clause_text)):
            if piece_index or len(tokens) > first:
                part += 1
            seen = 0
            for match in _TOKEN.finditer(piece):
                depth = _depth(depth, piece[seen : match.start()])
                seen = match.end()
                aside = depth > 0
                word = match.group()
                possessive = bool(regex.search(r"['’ʼ]s$", word)) or bool(_POSSESSIVE_AFTER.match(piece, match.end()))
                folded = fold(word)
                if not folded:
                    continue
                if folded in starts_part and len(tokens) > first:
                    part += 1
                if word == CITATION_TOKEN:
                    tokens.append(Token(folded, NUMBER, clause_index, part, False))
                    continue
                if folded.isdigit():
                    tokens.append(Token(folded, NUMBER, clause_index, part, not aside, forms=frozenset((folded,))))
                elif is_latin(folded):
                    tokens.append(
                        Token(
                            folded, LATIN, clause_index, part, folded not in stopwords and not aside, possessive,
                            english_forms(folded), roman_skeleton(folded),
                        )
                    )  # fmt: skip
                else:
                    tokens.append(
                        Token(
                            folded, ARABIC_SCRIPT, clause_index, part, folded not in stopwords and not aside, False,
                            arabic_script_forms(folded, language or "ar"),
                        )
                    )  # fmt: skip
            depth = _depth(depth, piece[seen:])
        if len(tokens) > first:
            clauses.append((first, len(tokens)))
            part += 1
    content_before = [0]
    for token in tokens:
        content_before.append(content_before[-1] + (1 if token.content else 0))
    denied: set[int] = set()
    for index, (question_text, question) in enumerate(pieces):
        if question and index + 1 < len(pieces) and _NO_ANSWER.match(pieces[index + 1][0]):
            denied.add(index)
            if index and len(_WORD.findall(question_text)) <= _SHORT_QUESTION:
                denied.add(index - 1)  # "Our jirga says the girl can be given in badal. Is this allowed? A: No."
    questions = frozenset(
        index
        for index, (_text, question) in enumerate(pieces)
        if question and not (index + 1 < len(pieces) and _YES_ANSWER.match(pieces[index + 1][0]))
    )
    return Analysed(raw, language, tokens, clauses, content_before, frozenset(denied), questions)


_SHORT_QUESTION = 5  # words of a question that asks about what the clause before it says ("Is this allowed?")
# An answer that opens (after a label such as "A (clinic):" or "جواب:", which _clauses joins to it with " , ") with a
# bare "no": "No. …", "nahi, …", "نه، …", "لا، …" — not "No objection".
_NO_ANSWER = regex.compile(
    r"\s*(?:[^,]{0,40} , )?\s*(?:no|nope|nahi|nahin|nai|naa|نہیں|نہ|نه|لا|كلا|کلا|خیر|خير|نخیر)\s*(?:[.,،!؛;]|$)",
    regex.IGNORECASE,
)


# An answer that opens with "yes" or "no objection": the question it answers was decided ("Will the girl go in swara?
# Yes, on Friday."), not asked.
_YES_ANSWER = regex.compile(
    r"\s*(?:[^,]{0,40} , )?\s*(?:yes|yeah|yep|haan|han|ji haan|jee haan|ho|aw|ہاں|جی ہاں|جی|بلی|بله|آری|هو|نعم|اي|إي|ايوه|أجل"
    r"|no objection|koi (?:aitraz|etraz|aitiraz|itiraz) nahi|کوئی اعتراض نہیں|هیڅ اعتراض|اعتراضی نیست|لا مانع)(?!\p{L})",
    regex.IGNORECASE,
)


def _clauses(text: str) -> list[tuple[str, bool]]:
    """Split at clause ends, each clause with whether it ends in a question mark; a short label before a colon
    ("Swara: …") stays with what follows."""
    pieces: list[str] = []
    last = 0
    for match in _BOUNDARY.finditer(text):
        mark = match.group()
        if mark == ".":
            words = _WORD.findall(text[max(last, match.start() - 12) : match.start()])
            if words and fold(words[-1]) in _ABBREVIATIONS:
                continue
        pieces.append(text[last : match.start()])
        pieces.append(mark)
        last = match.end()
    pieces.append(text[last:])
    clauses: list[tuple[str, bool]] = []
    label = ""
    for index in range(0, len(pieces), 2):
        body = pieces[index]
        mark = pieces[index + 1] if index + 1 < len(pieces) else ""
        if label:
            body, label = label + " , " + body, ""
        if mark.startswith(":") and 0 < len(_WORD.findall(body)) <= 3 and index + 2 < len(pieces):
            label = body
            continue
        clauses.append((body, "?" in mark or "؟" in mark))
    if label:
        clauses.append((label, False))
    return clauses
