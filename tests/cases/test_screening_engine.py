"""The screening engine (cases.screening): the verdict a facilitator sees on a term, and the practice it names,
in English, romanised Urdu and Pashto, Urdu, Pashto, Dari and Arabic.

Most tests pin what the rules decide, with the statistical model set aside (`rules_only`), so that retraining
the model cannot change them; the model's own tests follow. The terms here are written for these tests: they
are not sentences of the labelled corpus.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from django.core.management import call_command

from cases.screening import engine, model, text
from cases.screening.evaluation import read
from cases.screening.lexicon import concept_names, rules
from cases.screening.phrases import parse
from cases.screening.result import BLOCK, PASS, REVIEW, Screening
from tests.cases.conftest import verdict

pytestmark = pytest.mark.django_db

WOMEN = "woman-given-in-settlement"
MARRIAGE = "forced-child-exchange-marriage"
INHERITANCE = "inheritance-deprivation"


# --- Names, in every language ------------------------------------------------------------------------------

NAMES = [
    ("en", "The offender's family will give a girl in swara to the victim's family."),
    ("roman-ur", "Larki ko swara mein diya jayega."),
    ("roman-ur", "Mulzim ki bhateeji wanni mein di jayegi."),
    ("roman-ps", "Da mulzim lur ba pa swara warkawal shi."),
    ("ur", "مجرم کا خاندان سوارہ میں ایک لڑکی دے گا۔"),
    ("ps", "د قاتل کورنۍ به یوه نجلۍ په بدو کې د مقتول کورنۍ ته ورکړي."),
    ("fa", "یک دختر به بد داده می‌شود."),
    ("ar", "تُعطى فتاة من عائلة الجاني لأهل القتيل فصليةً."),
]


@pytest.mark.parametrize(("language", "term"), NAMES)
def test_a_named_practice_is_refused(rules_only, language, term):
    assert verdict(term) == (BLOCK, WOMEN)


SANG_CHATTI = [
    ("en", "Sang chatti: two girls of the accused's family."),
    ("roman-ur", "Faisla sang chatti ke mutabiq hoga."),
    ("roman-ps", "Da sang chatti pa tor dwa njoni warkawal kegi."),
    ("ur", "سنگ چٹی کے طور پر دو لڑکیاں دی جائیں گی۔"),
    ("ps", "د سنګ چټي په توګه دوه نجونې ورکول کیږي."),
    ("fa", "دو دختر به رسم سنگ چتی داده می‌شود."),
    ("ar", "تُعطى فتاتان وفق عادة سنك جتي."),
]


@pytest.mark.parametrize(("language", "term"), SANG_CHATTI)
def test_sang_chatti_is_refused_in_every_language(rules_only, language, term):
    assert verdict(term) == (BLOCK, WOMEN)


# --- Descriptions that never name the practice --------------------------------------------------------------

EUPHEMISMS = [
    ("en", "The accused's daughter will be married into the victim's family to end the feud."),
    ("en", "A girl from the Khan family goes to the Yousaf family as part of the settlement."),
    ("roman-ur", "Mulzim ki beti maqtool ke ghar jayegi aur dushmani khatam hogi."),
    ("roman-ps", "Da mulzim lur ba da maqtool kor ta zi aw dushmani ba khatma shi."),
    ("ur", "ملزم کی بیٹی مقتول کے گھر جائے گی اور دشمنی ختم ہوگی۔"),
    ("ps", "د تورن لور به د مقتول کور ته ځي او دښمني به ختمه شي."),
    ("fa", "دختر متهم به خانهٔ مقتول می‌رود و دشمنی ختم می‌شود."),
    ("ar", "تنتقل ابنة الجاني إلى بيت أهل القتيل إنهاءً للنزاع."),
]


@pytest.mark.parametrize(("language", "term"), EUPHEMISMS)
def test_a_girl_sent_to_the_other_side_in_settlement_is_refused(rules_only, language, term):
    assert verdict(term) == (BLOCK, WOMEN)


PLURAL_AND_OBLIQUE = [
    ("en", "The daughters of the accused will be handed over as compensation."),
    ("ur", "ملزم کی بیٹیوں کا نکاح مقتول کے بیٹوں سے صلح کے بدلے ہوگا۔"),
    ("ps", "د قاتل لوڼې به د دښمنۍ د ختمولو لپاره ورکړل شي."),
    ("fa", "دختران قاتل به خانواده مقتول به عنوان خون‌بها داده می‌شوند."),
    ("ar", "تُسلَّم بنات الجاني إلى أهل القتيل تعويضاً."),
]


@pytest.mark.parametrize(("language", "term"), PLURAL_AND_OBLIQUE)
def test_plural_oblique_and_inflected_forms_are_recognised(rules_only, language, term):
    assert verdict(term) == (BLOCK, WOMEN)


def test_a_long_description_with_a_citation_in_the_middle_is_refused(rules_only):
    term = (
        "The girl, as the jirga decided on 2 June under the customary arrangement recorded in PLD 2004 SC 123 and"
        " PPC 310-A, will be given to the victim's family."
    )
    assert verdict(term) == (BLOCK, WOMEN)
    # Stop words and citations do not use up the window; a clause end does stop it.
    assert verdict("The girl will be given. The victim's family gets the land.") == (PASS, None)


# --- Lawful homonyms ------------------------------------------------------------------------------------------

LAWFUL = [
    ("en", "Badal-e-sulh of Rs 500,000 will be paid to the heirs under PPC 310."),
    ("roman-ur", "Badal-e-sulh mein 5 lakh rupay diye jayenge."),
    ("ur", "بدلِ صلح کے طور پر پانچ لاکھ روپے ادا کیے جائیں گے۔"),
    ("en", "Diyat of Rs 1,000,000 will be paid to the daughters of the deceased."),
    ("fa", "دیه به مبلغ ۲۵۰۰۰ افغانی به دختران مقتول داده می‌شود."),
    ("ur", "شادی کے بعد دونوں خاندان ملیں گے۔"),  # بعد: after, not baad
    ("roman-ur", "Nikah ke baad dono khandan milenge."),
    ("ur", "سورہ یٰسین پڑھی جائے گی اور دعا ہوگی۔"),
    ("ps", "د سوره یاسین تلاوت به وشي."),
    ("ar", "سورة يس تتلى عند الصلح."),
    ("en", "The elders will swear on the Quran to keep the peace."),
    ("en", "The daughters will receive their share of the inheritance in full."),
    ("ps", "لوڼو ته میراث په بشپړه توګه ورکول کیږي."),  # "to the daughters", not "ل" + "ونی"
    ("en", "The two families will attend the wedding as guests."),
]


@pytest.mark.parametrize(("language", "term"), LAWFUL)
def test_lawful_homonyms_pass(rules_only, language, term):
    assert verdict(term) == (PASS, None)


def test_badal_e_sulh_alone_is_held_and_with_a_girl_refused(rules_only):
    assert verdict("Badal-e-sulh will be settled later.") == (REVIEW, WOMEN)
    assert verdict("Badal-e-Sulh: one girl from each family.") == (BLOCK, WOMEN)


def test_the_pashto_daughters_are_not_vani():
    forms = text.arabic_script_forms(text.fold("لوڼې"), "ps")
    assert text.fold("ونی") not in forms
    assert text.detect_language("لوڼو ته میراث") == "ps"


# --- Negation and prohibition scope ---------------------------------------------------------------------------

NEGATED = [
    ("en", "No girl shall be given in settlement of this dispute."),
    ("en", "Swara is forbidden."),
    ("roman-ur", "Koi larki swara mein nahi di jayegi."),
    ("roman-ur", "Swara mana hai."),
    ("roman-ps", "Swara nishta, rogha ba pa paiso kegi."),
    ("ur", "کوئی لڑکی سوارہ میں نہیں دی جائے گی۔"),
    ("ur", "سوارہ ممنوع ہے۔"),
    ("ps", "هېڅ نجلۍ به په بدو کې نه ورکول کیږي."),
    ("ps", "سوره منع ده."),
    ("fa", "هیچ دختری به بد داده نمی‌شود."),
    ("fa", "بد دادن ممنوع است."),
    ("ar", "لن تُعطى أي فتاة فصليةً."),
    ("ar", "الفصلية محرمة."),
]


@pytest.mark.parametrize(("language", "term"), NEGATED)
def test_a_term_that_negates_or_forbids_the_practice_passes(rules_only, language, term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "The family shall not refuse to give the girl to the victim's family.",
        "Nobody will prevent the girl being given in swara.",
        "If the money is not paid, the girl will be given in swara.",
    ],
)
def test_a_negation_that_does_not_reach_the_practice_does_not_save_it(rules_only, term):
    assert verdict(term) == (BLOCK, WOMEN)


def test_a_rejected_proposal_is_held_not_refused(rules_only):
    term = "The elder who proposed giving a girl in swara was asked to leave, and the proposal was struck out."
    assert verdict(term)[0] in (PASS, REVIEW)


# --- Other practices -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "practice"),
    [
        ("Watta satta between the two families.", MARRIAGE),
        ("Nikah of the 13 year old girl will be performed within a month.", MARRIAGE),
        ("Larki se poochne ki zaroorat nahi, walid ne haan kar di hai.", MARRIAGE),
        ("The sisters will relinquish their inheritance to their brothers.", INHERITANCE),
        ("Betiyon ko sirf jahez milega.", INHERITANCE),
        ("Neither party shall engage a lawyer.", "counsel-waiver-victim-identity"),
        ("The accused will walk on burning coals to prove his innocence.", "corporal-punishment-penalty"),
        ("Ghairat ke naam par qatl ka faisla jirga karega.", "non-compoundable-honour-killing"),
    ],
)
def test_the_other_practices_are_described_too(rules_only, term, practice):
    assert verdict(term) == (BLOCK, practice)


# --- Detail, key, data ---------------------------------------------------------------------------------------


def test_the_detail_says_what_matched(rules_only):
    screening = engine.screen("Larki ko swara mein diya jayega.")
    assert "swara" in screening.detail
    assert engine.screen("A public apology").detail == ""


def test_the_reviewer_key_normalises_script_and_spelling_marks():
    assert engine.normalise("سُوارَہ!") == engine.normalise("سوارہ")
    assert engine.normalise("Badal-e-Sulh") == "badal e sulh"


def test_every_shipped_rule_parses_and_names_a_shipped_practice():
    from cases.guardrails import DATA_PATH

    codes = {entry["code"] for entry in json.loads(DATA_PATH.read_text(encoding="utf-8"))["practices"]}
    for rule in rules():
        parse(rule.phrase, concept_names())
        assert rule.practice in codes, rule


@pytest.mark.parametrize(
    ("letters", "language"),
    [("لوڼې", "ps"), ("بیٹیاں", "ur"), ("دختران پ", "fa"), ("بنات الجاني", "ar"), ("swara", None)],
)
def test_the_language_comes_from_the_letters(letters, language):
    assert text.detect_language(letters) == language


# --- Negations that make a term worse, colloquial Arabic, and what clears a practice ----------------------------

CORPORAL = "corporal-punishment-penalty"
COLLECTIVE = "collective-punishment-revenge"
COUNSEL = "counsel-waiver-victim-identity"
HONOUR = "non-compoundable-honour-killing"

WORSE_NEGATIONS = [
    ("en", "Her consent is not required for the nikah.", MARRIAGE),
    ("en", "Even if she refuses, the nikah will be read on Friday.", MARRIAGE),
    ("en", "The daughters will have no share in their father's land.", INHERITANCE),
    ("roman-ur", "Behnon ka wirasat mein koi hissa nahi hoga.", INHERITANCE),
    ("roman-ps", "Konda ba da khawand da zmake hets barkha na akhli.", INHERITANCE),
    ("fa", "خواهرها از زمین پدر هیچ سهمی ندارند.", INHERITANCE),
    ("ar", "البنات ما إلهن حصة بأرض أبوهن.", INHERITANCE),
]


@pytest.mark.parametrize(("language", "term", "practice"), WORSE_NEGATIONS)
def test_a_negation_that_makes_the_term_worse_does_not_save_it(rules_only, language, term, practice):
    assert verdict(term) == (BLOCK, practice)


LEVANTINE_NEGATED = [
    "البنت مش رح تنعطى لأهل المرحوم.",
    "ما حدا بيعطي بنت بالدم، الدية مصاري بس.",
    "الجاهة ما بتقبل تزويج البنت لأهل الدم.",
]


@pytest.mark.parametrize("term", LEVANTINE_NEGATED)
def test_levantine_negation_reaches_what_it_negates(rules_only, term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "This is an honour killing: the forum will not hear it, and the file is sent back to the police.",
        "غیرت کے نام پر قتل کا مقدمہ جرگہ نہیں سنے گا، اسے پولیس کو بھیج دیا گیا۔",
        "جرګې وویل دا د غیرت په نوم وژنه ده، دوسیه پولیسو ته ولېږل شوه.",
    ],
)
def test_a_case_sent_on_to_the_police_is_lawful_whatever_it_names(rules_only, term):
    assert verdict(term) == (PASS, None)


def test_a_case_forgiven_and_withdrawn_is_not_cleared_by_a_mention_of_the_police(rules_only):
    term = "The honour killing was forgiven by the heirs and the FIR sent back to the police will be withdrawn."
    assert verdict(term) == (BLOCK, HONOUR)


def test_a_lawyer_kept_is_lawful_and_a_lawyer_given_up_is_not(rules_only):
    assert verdict("Dono fariq apna vakeel rakh sakte hain, koi kisi ko nahi rokega.") == (PASS, None)
    assert verdict("يتنازل الطرفان عن حقهما في توكيل محام.") == (BLOCK, COUNSEL)
    needless = engine.screen("Panel ne kaha is sulah mein vakeel ki zarurat nahi.")
    assert (needless.verdict != PASS, needless.practice) == (True, COUNSEL)


@pytest.mark.parametrize(
    "term",
    [
        "Mudai ki beti ki shadi agle mahine hai, is liye sunwai agle hafte hogi.",
        "مدعی کی بیٹی کی شادی اگلے مہینے ہے، اس لیے اگلی سماعت بعد میں ہوگی۔",
        "عروسی دختر مدعی ماه آینده است، جلسه بعدی به تعویق افتاد.",
    ],
)
def test_a_partys_own_daughter_marrying_is_no_term(rules_only, term):
    assert verdict(term)[0] != BLOCK


def test_a_girl_of_one_side_sent_to_the_other_is_still_refused(rules_only):
    assert verdict("Mulzim ki beti mudai ke ghar bahu ban kar jaye gi.") == (BLOCK, WOMEN)
    assert verdict("دختر متهم به خانواده مقتول داده می‌شود.") == (BLOCK, WOMEN)


@pytest.mark.parametrize("term", ["Da qatil wrunra ba la kali na washaral shi.", "د قاتل ورونه به له کلي نه وشړل شي."])
def test_pashto_from_before_a_perfective_verb_is_no_negation(rules_only, term):
    assert verdict(term) == (BLOCK, COLLECTIVE)


def test_trees_in_pashto_are_not_vani(rules_only):
    assert verdict("د ونو شخړه: کورنۍ به لس نوې ونې کري او ګاونډي ته به زر روپۍ ورکړي.") == (PASS, None)


def test_a_fine_for_a_crime_is_a_penalty_and_a_fine_for_breaking_the_truce_is_not(rules_only):
    assert verdict(
        "The boy who stole the goat will pay a fine of Rs 20,000 to the jirga as punishment for the theft."
    ) == (
        BLOCK,
        CORPORAL,
    )
    assert verdict("Whoever breaks the truce pays Rs 100,000 into the jirga's fund.") == (PASS, None)
    assert verdict("The accused will be locked up in the elder's hujra for a month.") == (REVIEW, CORPORAL)


def test_a_later_negation_with_its_own_words_does_not_negate_a_name_before_it(rules_only):
    """ "…, no shopkeeper will sell them anything" negates its own words, not the boycott before it; a bare "…, will
    not happen" after a list of names still negates them."""
    assert verdict("Aaj se un ka mukammal boycott hoga, koi dukandar unhein sauda nahi dega.") == (BLOCK, COLLECTIVE)
    assert verdict("Karo kari ka mamla 5 lakh par khatam, koi case adalat mein nahi chalega.")[0] == BLOCK
    assert verdict("Kore, munh kala karna, nahi hoga.") == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "Larki ki razamandi nahi li gai, nikah agle jumma ko hoga.",
        "ازدواج بدل میان دو خانواده انجام می‌شود و رضایت دخترها شرط نیست.",
    ],
)
def test_consent_not_taken_is_refused_like_consent_not_required(rules_only, term):
    assert verdict(term) == (BLOCK, MARRIAGE)


def test_a_hold_the_model_agrees_with_is_a_refusal_and_a_name_is_doubted_less():
    level, hit, hits = engine.decide("The family will hand over the land and give up the estate.")
    assert level == REVIEW
    lines = {"threshold": 0.7, "doubt_below": 0.5, "name_doubt_below": 0.3, "confirm_above": 0.7}
    assert engine.combine(level, hit, hits, 0.9, None, **lines).verdict == BLOCK
    assert engine.combine(level, hit, hits, 0.5, None, **lines).verdict == REVIEW
    ambiguous = engine.decide("Badal-e-sulh will be agreed between the families.")
    assert ambiguous[0] == REVIEW
    assert engine.combine(*ambiguous, 0.9, None, **lines).verdict == REVIEW
    named = engine.decide("Larki ko swara mein diya jayega.")
    assert engine.combine(*named, 0.4, None, **lines).verdict == BLOCK
    assert engine.combine(*named, 0.2, None, **lines).verdict == REVIEW
    # one concept that describes an act is refused when the model is surer than for a description of several parts
    confined = engine.decide("The accused will be locked in the hujra for forty days.")
    assert confined[0] == REVIEW
    assert engine.combine(*confined, 0.7 + engine.SINGLE_CONCEPT_MARGIN, None, **lines).verdict == BLOCK
    assert engine.combine(*confined, 0.7 + engine.SINGLE_CONCEPT_MARGIN - 0.01, None, **lines).verdict == REVIEW
    shipped = model.shipped()
    assert shipped is not None
    assert shipped.name_doubt_below is not None
    assert shipped.doubt_below is not None
    assert shipped.name_doubt_below < shipped.doubt_below
    assert shipped.confirm_above is not None
    assert shipped.doubt_below < shipped.confirm_above < 1.0


def test_a_term_no_rule_matches_that_the_model_is_sure_of_is_refused_as_the_practice_it_finds():
    level, hit, hits = engine.decide("Repair the channel together before the sowing season.")
    assert level == ""
    lines = {"threshold": 0.7, "doubt_below": 0.5, "refuse_above": 0.95}
    refused = engine.combine(level, hit, hits, 0.96, WOMEN, **lines)
    assert (refused.verdict, refused.practice) == (BLOCK, WOMEN)
    assert "refused" in refused.detail
    assert engine.combine(level, hit, hits, 0.94, WOMEN, **lines).verdict == REVIEW
    # no practice to name in the refusal (a model without practices), or no refusal line: held
    assert engine.combine(level, hit, hits, 0.99, None, **lines).verdict == REVIEW
    assert engine.combine(level, hit, hits, 0.99, WOMEN, threshold=0.7, doubt_below=0.5).verdict == REVIEW
    # an affirmed lawful use still keeps the model from deciding
    lawful = engine.decide("Badal-e-sulh of Rs 500,000 paid in cash.")
    assert engine.combine(*lawful, 0.99, WOMEN, **lines).verdict == PASS


def test_a_hold_the_model_finds_lawful_passes_but_a_doubted_refusal_is_only_held():
    lines = {"threshold": 0.7, "doubt_below": 0.5, "name_doubt_below": 0.3, "confirm_above": 0.7, "pass_below": 0.1}
    partial = engine.decide("The family will hand over the land and give up the estate.")
    assert partial[0] == REVIEW
    assert engine.combine(*partial, 0.05, None, **lines) == Screening(PASS, None, "", 0.05)
    assert engine.combine(*partial, 0.1, None, **lines).verdict == REVIEW
    ambiguous = engine.decide("Badal-e-sulh will be agreed between the families.")
    assert engine.combine(*ambiguous, 0.05, None, **lines).verdict == PASS
    assert engine.combine(*ambiguous, 0.2, None, **lines).verdict == REVIEW
    named = engine.decide("Larki ko swara mein diya jayega.")
    assert named[0] == BLOCK
    assert engine.combine(*named, 0.01, None, **lines).verdict == REVIEW  # the rules were sure: a reviewer decides


def test_the_shipped_lines_are_in_order():
    shipped = model.shipped()
    assert shipped is not None
    assert shipped.pass_below is not None
    assert shipped.refuse_above is not None
    assert shipped.name_doubt_below is not None
    assert shipped.doubt_below is not None
    assert 0.0 < shipped.pass_below < shipped.name_doubt_below < shipped.doubt_below < shipped.threshold
    assert shipped.threshold < shipped.refuse_above < 1.0


# --- The statistical model -----------------------------------------------------------------------------------


def test_the_shipped_model_loads_and_scores():
    shipped = model.shipped()
    assert shipped is not None
    prohibited, practice = shipped.score("The girl will be given to the other family to end the enmity.")
    lawful, _practice = shipped.score("Repair the channel and pay 25,000 PKR")
    assert 0.0 <= lawful < prohibited <= 1.0
    assert practice is not None
    assert 0.0 < shipped.threshold < 1.0


def test_a_high_score_holds_a_term_no_rule_matches(monkeypatch):
    shipped = model.shipped()
    assert shipped is not None
    eager = model.Model(
        shipped.vocabulary, shipped.idf, shipped.coefficients, shipped.intercepts, shipped.classes, 0.0, {}
    )
    monkeypatch.setattr(model, "shipped", lambda: eager)
    screening = engine.screen("Repair the channel together before the sowing season.")
    assert screening.verdict == REVIEW
    assert "model" in screening.detail
    assert screening.score is not None


def _eager(shipped: model.Model, **changes) -> model.Model:
    """The shipped model with another threshold or doubt line."""
    return dataclasses.replace(shipped, **changes)


def test_the_model_reads_the_same_idea_in_every_language():
    """Its concept features name the idea, not the words: what it learnt of a girl given to the other family in
    one language it applies to the same idea in another."""
    terms = [
        "The girl will be given to the other family to end the enmity.",
        "لڑکی دشمنی ختم کرنے کے لیے دوسرے خاندان کو دی جائے گی۔",
        "دختر برای ختم دشمنی به خانواده مقابل داده می‌شود.",
    ]
    features = [set(model.concept_features(model.concept_term(term))) for term in terms]
    shared = set.intersection(*features)
    assert {"c:female", "c:give", "c:other_side", "c:settle"} <= shared
    assert {"q:female+give", "q:give+other_side"} <= shared


def test_a_negation_is_part_of_what_the_model_reads():
    features = model.concept_features(model.concept_term("No girl shall be given to the other family."))
    assert "c:female~neg" in features
    assert "c:give~neg" in features
    assert "c:female" not in features


def test_a_refusal_the_model_doubts_is_held_for_a_reviewer():
    """Two readings disagree (the rules refuse, the model finds the term unlike every prohibited one it learnt):
    a legal reviewer decides, and nothing is refused."""
    level, hit, hits = engine.decide("Larki ko swara mein diya jayega.")
    assert level == "block"
    doubted = engine.combine(level, hit, hits, 0.2, None, threshold=0.7, doubt_below=0.5)
    assert (doubted.verdict, doubted.practice) == (REVIEW, WOMEN)
    assert "held, not refused" in doubted.detail
    assert engine.combine(level, hit, hits, 0.9, None, threshold=0.7, doubt_below=0.5).verdict == BLOCK
    assert engine.combine(level, hit, hits, 0.2, None, threshold=0.7, doubt_below=None).verdict == BLOCK


def test_the_model_reads_a_term_whose_only_matches_are_negated(monkeypatch):
    """A negated match does not stop the model ("the girls' consent will not be asked" negates consent, not the
    exchange); an affirmed lawful use does ("badal-e-sulh of Rs 500,000")."""
    shipped = model.shipped()
    assert shipped is not None
    monkeypatch.setattr(model, "shipped", lambda: _eager(shipped, threshold=0.0))
    negated = "No girl shall be given in swara to the other family."
    assert engine.decide(negated)[0] == ""
    assert engine.screen(negated).verdict == REVIEW
    assert engine.screen("Badal-e-sulh of Rs 500,000 paid in cash.").verdict == PASS


def test_the_shipped_model_knows_the_concepts_and_its_doubt_line():
    shipped = model.shipped()
    assert shipped is not None
    assert len(shipped.concepts) > 100
    assert shipped.doubt_below is not None
    assert 0.0 < shipped.doubt_below < shipped.threshold


@pytest.mark.parametrize(("language", "term"), LAWFUL)
def test_with_the_model_a_lawful_homonym_is_never_refused(language, term):
    assert engine.screen(term).verdict != BLOCK


def _small_corpus(path):
    rows = []
    for group in range(8):
        rows.append({"text": f"The girl number {group} will be given in swara to the other family.", "lang": "en",
                     "prohibited": True, "practice": WOMEN, "group": f"p{group}"})  # fmt: skip
        rows.append({"text": f"Larki {group} swara mein di jayegi.", "lang": "roman-ur", "prohibited": True,
                     "practice": WOMEN, "group": f"p{group}"})  # fmt: skip
        rows.append({"text": f"Both families repair channel {group} and pay 25,000 PKR.", "lang": "en",
                     "prohibited": False, "group": f"l{group}"})  # fmt: skip
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_training_is_deterministic(tmp_path):
    corpus = _small_corpus(tmp_path / "corpus.jsonl")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    call_command("screening_train", corpus=str(corpus), out=str(first), no_examples=True, stdout=io.StringIO())
    call_command("screening_train", corpus=str(corpus), out=str(second), no_examples=True, stdout=io.StringIO())
    assert first.read_bytes() == second.read_bytes()
    trained = model.Model.from_json(json.loads(first.read_text(encoding="utf-8")))
    assert trained.score("Larki 3 swara mein di jayegi.")[0] > trained.score("Both families repair channel 3")[0]
    assert trained.concepts  # the concept features travel in the file too


def test_screening_train_reads_several_corpora(tmp_path):
    first = _small_corpus(tmp_path / "first.jsonl")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps({"text": "A public apology at the mosque.", "lang": "en", "prohibited": False}) + "\n")
    out = tmp_path / "model.json"
    output = io.StringIO()
    call_command("screening_train", corpus=[str(first), str(second)], out=str(out), no_examples=True, stdout=output)
    assert "Trained on 25 examples" in output.getvalue()
    about = json.loads(out.read_text(encoding="utf-8"))["about"]
    assert about["corpora"] == ["first.jsonl", "second.jsonl"]


def test_screening_eval_prints_the_table(tmp_path, capsys):
    path = tmp_path / "terms.jsonl"
    lines = [
        {"text": "Larki ko swara mein diya jayega.", "lang": "roman-ur", "prohibited": True},
        {"text": "Swara is forbidden.", "lang": "en", "prohibited": False},
        {"text": "A public apology", "lang": "en", "prohibited": False},
        {"text": "سوارہ ممنوع ہے۔", "lang": "ur", "prohibited": False},
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    assert [row.prohibited for row in read(path)] == [True, False, False, False]
    call_command("screening_eval", str(path))
    out = capsys.readouterr().out
    assert "roman-ur" in out
    assert "\nur " in out
    all_line = next(line for line in out.splitlines() if line.startswith("all"))
    assert all_line.split()[1:3] == ["1", "1"]  # one prohibited term, blocked
    assert "Confusion" in out
