"""The screening's general rules of the sixth round (the misses of the two spent held-out sets, corpus_5 and
corpus_6): descriptions read over a whole clause, negative concord, a negation that reaches through a list, void
as a word that forbids, "no" before a number, dividers of the term's own language, and the vocabulary of boycotts,
of child marriages "when she grows up" and of humiliating punishments. The verdict a facilitator would see, with
the statistical model set aside so that retraining cannot change it. The terms are written for these tests, not
taken from a corpus.
"""

from __future__ import annotations

import pytest

from cases.screening.result import BLOCK, PASS, REVIEW
from tests.cases.conftest import verdict

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_only")]

COUNSEL = "counsel-waiver-victim-identity"
COLLECTIVE = "collective-punishment-revenge"
MARRIAGE = "forced-child-exchange-marriage"
NON_COMPOUNDABLE = "non-compoundable-honour-killing"


# --- A clause-level window: formal deeds spread the victim, her name and the verb over many words ----------------


@pytest.mark.parametrize(
    "term",
    [
        "The name of the victim, together with her father's name and the name of her village as entered in the "
        "FIR of 3 March at Police Station Saddar before the investigating officer, shall be read out to the elders.",
        "يُعلن اسم المجني عليها واسم والدها وعنوان بيتها في قرية الحصن على جميع أبناء العشائر في الديوان.",
    ],
)
def test_a_victims_identity_disclosed_anywhere_in_the_clause_is_refused(term):
    assert verdict(term) == (BLOCK, COUNSEL)


def test_a_waiver_of_counsel_anywhere_in_the_clause_is_refused():
    term = (
        "The accused, who appeared before the committee on 4 May with his two brothers and the guarantor Haji "
        "Akbar of Mohallah Qazi Khel and the Numberdar of the village, waives his right to counsel."
    )
    assert verdict(term) == (BLOCK, COUNSEL)


def test_the_clause_window_stops_at_the_clause():
    term = "The name of the victim is kept in a sealed register. The elders will read out the agreement at the mosque."
    assert verdict(term) == (PASS, None)


# --- Negative concord: koi / kisi / هېڅ / هیچ … the verb's negation ------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Kisi bhi khandan ki koi larki swara, vani ya badal-e-sulh ke taur par nahi di jaye gi.",
        "کسی بھی خاندان کی کوئی بیٹی سوارہ، ونی یا بدل صلح میں نہیں دی جائے گی۔",
        "د هېڅ کورنۍ نجلۍ په سوره، بدو یا بل ډول نه ورکول کېږي.",
    ],
)
def test_negative_concord_reaches_across_a_list(term):
    assert verdict(term) == (PASS, None)


def test_a_concord_negation_that_is_the_description_still_refuses():
    assert verdict("Koi bhi fareeq wakeel nahi karega aur jirga hi faisla karegi.")[0] == BLOCK


# --- A forward negation reaches through a list, not beyond it ------------------------------------------------------


def test_a_negation_reaches_the_end_of_a_list():
    assert verdict("Nobody shall burn, loot or demolish the houses of the accused's family.") == (PASS, None)


def test_a_negation_without_a_list_stays_in_its_part():
    verdict_, practice = verdict("The jirga cannot stop it, the houses of the accused will be burned.")
    assert (verdict_, practice) == (BLOCK, COLLECTIVE)


# --- "Void" forbids; "without" does not cancel it ---------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["A marriage without the girl's consent is void.", "ازدواج دختر بدون رضایت خودش باطل است."],
)
def test_a_forced_marriage_declared_void_passes(term):
    assert verdict(term) == (PASS, None)


# --- "no" before a number --------------------------------------------------------------------------------------


def test_no_before_a_number_is_no_negation():
    term = "FIR no 12/2025 zer dafa 376 ka muamla 3 lakh rupay par tay ho gaya."
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


# --- Vocabulary and morphology --------------------------------------------------------------------------------------


def test_a_family_shut_out_of_the_mosque_and_the_market_is_held():
    term = "No man of the accused's tribe may enter the mosque or the bazaar until the diyat is paid."
    assert verdict(term) == (REVIEW, COLLECTIVE)


def test_a_truce_that_keeps_each_side_from_the_others_shops_passes():
    term = "During the truce no man of either family will go to the other side's shops or fields."
    assert verdict(term)[0] == PASS


def test_pa_badal_ke_is_in_return_for():
    assert verdict("Da zyan pa badal ke ba mulzim panzos zara rupai warkai.") == (PASS, None)


def test_a_pashto_verb_of_taking_is_not_vani():
    assert verdict("مشرانو د دواړو لاسونه ونیول او روغه وشوه.") == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "The nikah of the girl will be read now and the rukhsati when she grows up, to close the feud.",
        "كتب الكتاب للبنت هلأ والعرس لما تكبر، وهيك بينتهي الخلاف.",
    ],
)
def test_a_marriage_for_when_she_grows_up_is_refused(term):
    assert verdict(term)[0] == BLOCK


def test_the_family_that_refuses_the_decision_is_no_negation():
    assert verdict("فیصلہ نہ ماننے والے خاندان کا گھر لشکر جلا دے گا۔") == (BLOCK, COLLECTIVE)


def test_a_wedding_procession_is_no_girl_given():
    assert verdict("بارات کی واپسی پر جھگڑا ہوا تھا؛ دونوں خاندان معافی پر راضی ہیں۔")[0] == PASS


# --- Names in a list share the first one's negation; romanised Pashto "no" is "then" -------------------------------


def test_a_name_listed_after_a_negated_name_is_negated_too():
    term = "It is recorded that no girl of either side shall be given in swara, vani or in any form of badal-e-sulh."
    assert verdict(term) == (PASS, None)


def test_a_name_after_a_negated_name_but_in_its_own_statement_still_refuses():
    term = "No money was paid, and the elders decided that the accused's niece goes in swara to the other family."
    assert verdict(term)[0] == BLOCK


def test_romanised_pashto_no_is_then_not_a_negation():
    term = "Da qatl da ghairat pa num shaway, no jirga masala police ta wasparala."
    assert verdict(term) == (PASS, None)


def test_a_pashto_perfective_after_la_x_na_is_from_not_a_negation():
    assert verdict("Da mulzim wror aw tre zaman ba la kali na wesharal shi.") == (BLOCK, COLLECTIVE)


def test_badal_e_sulh_paid_is_the_lawful_compensation():
    assert verdict("The accused's family will pay the badal-e-sulh before the next hearing.") == (PASS, None)


def test_the_refusing_household_is_no_refusal():
    assert verdict("Inkar karne wale ghar ka huqqa pani band hoga.") == (BLOCK, COLLECTIVE)


# --- "Without" and a negation affirm what they name ----------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["There will be no peace without swara.", "ونی کے بغیر صلح نہیں ہوگی۔", "Wanni ke baghair sulah nahi hogi."],
)
def test_no_settlement_without_the_practice_demands_it(term):
    assert verdict(term) == (BLOCK, "woman-given-in-settlement")


def test_without_alone_still_negates():
    assert verdict("The matter was settled without swara or vani.") == (PASS, None)


# --- The ninth round (corpus_9, the spent heldout_5, read) -------------------------------------------------------


def test_arabic_alla_that_not_negates():
    # "ألّا" is "أن لا" written as one word; "إلا" (except) folds to the same letters and is left alone
    assert verdict("قرر الوجهاء ألا يُنشر اسم المجني عليها وعنوانها في الديوان.") == (PASS, None)
    assert verdict("قرر الوجهاء أن يُنشر اسم المجني عليها وعنوانها في الديوان.") == (BLOCK, COUNSEL)
    assert verdict("وألّا توكّل المشتكية أي محامٍ في القضية.") == (BLOCK, COUNSEL)


def test_without_before_its_noun_and_a_verbs_negation_after_it_demand_the_noun():
    assert verdict("نکاح بدون رضای دختر صورت نمی‌گیرد.") == (PASS, None)
    assert verdict("نکاح بدون رضای دختر صورت می‌گیرد.") == (BLOCK, MARRIAGE)


@pytest.mark.parametrize(
    "term",
    ["وروڼو یې د میراث برخه نه ورکوله.", "Wrunro ye da meeraas brakha na warkawale."],
)
def test_a_share_withheld_is_held_unless_the_claim_goes_to_a_court(term):
    assert verdict(term) == (REVIEW, "inheritance-deprivation")
    sent = {"ps": " د وېش دعوا به سول جج ته ځي.", "roman": " Da taqseem daawa ba civil judge ta zi."}
    assert verdict(term + sent["roman" if term.isascii() else "ps"]) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    ["دختر به ستون بازار بسته شود و برادرش بیست ضربه شلاق به او بزند.", "Jirge ke samne us ko 20 dande maare jayenge."],
)
def test_a_beating_before_the_market_or_the_jirga_is_refused(term):
    assert verdict(term) == (BLOCK, "corporal-punishment-penalty")


@pytest.mark.parametrize(
    "term",
    [
        "جرګې د تېر کال د کور سوځولو غندنه وکړه.",
        "جرگے نے گھر جلانے کی مذمت کی۔",
        "Jirga ne ghar ko aag lagane ki muzammat ki.",
        "الجلوة لم تعد مقبولة، وعائلة الجاني باقية في بيوتها.",
    ],
)
def test_a_past_harm_condemned_or_no_longer_accepted_is_no_term(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "البنات المتزوجات من خارج العائلة لا يرثن في أرض أبيهن.",  # "من خارج", from outside, forbids nothing
        "تتعهد البنات بعدم المطالبة بحصصهن في أرض أبيهن.",  # "عدم المطالبة", the verbal noun of "not claim"
    ],
)
def test_arabic_daughters_who_do_not_inherit_or_claim_are_deprived(term):
    assert verdict(term) == (BLOCK, "inheritance-deprivation")


def test_a_guarantors_claim_given_up_is_no_inheritance_term():
    assert verdict("يتعهد الكفلاء بعدم المطالبة بأي تعويض عن السيارة.") == (PASS, None)


# --- The tenth round (corpus_10, the spent heldout_6, read) ------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Because the killing was done in the name of honour, the heirs' pardon does not end the case (PPC 311).",
        "Qatl ghairat ke naam par hua hai, is liye waris ki maafi se muqadma khatam nahi hota.",
        "چونکہ قتل غیرت کے نام پر ہوا، اس لیے ورثا کی معافی سے مقدمہ ختم نہیں ہوتا۔",
        "چون قتل به نام ناموس بوده، بخشش ورثه قضیه را ختم نمی کند.",
        "القتل بداعي الشرف لا يجوز فيه الصلح، وإسقاط الورثة لحقهم لا ينهي الدعوى العامة.",
        "د غیرت په نوم قتل د روغې وړ جرم نه دی.",
    ],
)
def test_the_law_explained_an_honour_killing_is_not_settled_passes(term):
    # Counsel and committees write that the law keeps the case alive: the term settles nothing.
    assert verdict(term)[0] != BLOCK


@pytest.mark.parametrize(
    "term",
    [
        "The heirs forgive the brother who killed his sister in the name of honour, and the case is withdrawn.",
        "Ghairat ke naam par qatl karne wale ko waris maaf karte hain aur muqadma wapas liya jaye ga.",
    ],
)
def test_an_honour_killing_forgiven_and_withdrawn_is_still_refused(term):
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


@pytest.mark.parametrize(
    "term",
    [
        "The complainant has engaged his own lawyer; the committee has no objection and the lawyer will attend.",
        "Muddai ne apna vakeel rakha hai; committee ko koi aitraz nahi aur vakeel agli sunwai mein hazir hoga.",
        "مدعی نے اپنا وکیل رکھا ہے؛ کمیٹی کو کوئی اعتراض نہیں اور وکیل اگلی سماعت میں حاضر ہوگا۔",
    ],
)
def test_a_lawyer_engaged_with_no_objection_is_no_waiver(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "The complainant waives her right to a lawyer and has no objection to the committee's decision.",
        "Muddai ko vakeel ki zarurat nahi; committee ko koi aitraz nahi.",
    ],
)
def test_a_lawyer_given_up_is_still_refused(term):
    assert verdict(term) == (BLOCK, COUNSEL)


# --- The eleventh round (the spent heldout_7 read) -----------------------------------------------------------------

WOMAN = "woman-given-in-settlement"
PENALTY = "corporal-punishment-penalty"


@pytest.mark.parametrize(
    "term",
    [
        "Any member who suggests swara or vani in a settlement will be reported to the police.",
        "Jo shakhs kisi faisle mein vani ya swara ki baat karega uski report police ko ki jaye gi.",
        "جو شخص کسی فیصلے میں ونی یا سوارہ کی بات کرے گا اس کی رپورٹ پولیس کو کی جائے گی۔",
        "هر کسی که در فیصله بد دادن دختر را مطرح کند، به پولیس گزارش داده می شود.",
        "كل من يطرح في الصلح إعطاء فتاة سيبلغ عنه للشرطة.",
    ],
)
def test_whoever_proposes_a_practice_is_reported_to_the_police_forbids_it(term):
    # A sanction by the law for proposing a practice forbids the practice; it settles nothing by it.
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "The girl will be given in vani to the other family; whoever objects will be reported to the police.",
        "Larki vani mein dusre khandan ko di jaye gi; jo aitraz karega uski report police ko ki jaye gi.",
    ],
)
def test_a_practice_imposed_beside_a_report_to_the_police_is_still_refused(term):
    assert verdict(term) == (BLOCK, WOMAN)


@pytest.mark.parametrize(
    "term",
    [
        "Ghairat ke naam par qatl ka case committee nahi sunegi; SHO ko refer kar diya, koi razinama nahi hua.",
        "غیرت کے نام پر قتل کا کیس ایس ایچ او کو ریفر کر دیا گیا، کوئی راضی نامہ نہیں ہوا۔",
    ],
)
def test_an_honour_killing_referred_to_the_sho_passes(term):
    assert verdict(term) == (PASS, None)


def test_arabic_a_lawyer_we_engaged_is_counsel_kept():
    assert verdict("وقد وكّلنا المحامي سامي للدفاع عن ابننا، ورفضنا أي تسوية خارج المحكمة.") == (PASS, None)


def test_dari_what_the_elders_condemned_is_no_punishment():
    term = "ریش سفیدان لت و کوب دختران در قریه را محکوم کردند و گفتند این کار دیگر تکرار نشود."
    assert verdict(term)[1] != PENALTY


def test_dari_a_sentence_passed_by_the_forum_is_still_a_penalty():
    level, practice = verdict("شورا متهم را به دو سال حبس در خانه ملک محکوم کرد.")
    assert level in (BLOCK, REVIEW)
    assert practice == PENALTY


@pytest.mark.parametrize(
    "term",
    [
        "Explain the difference: badal-e-sulh paid in money is lawful; a girl given as badal is a crime.",
        "Farq samjhayen: badal e sulh jo paison mein ho jaiz hai, larki ko badal mein dena jurm hai.",
    ],
)
def test_badal_e_sulh_as_money_beside_a_forbidden_badal_of_a_girl_passes(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "د هېڅ کورنۍ ښځه به د پرېکړې برخه نه وي؛ شخړه په پیسو حل شوه.",
        "Hes khaza ba da faisle barkha na wi; shkhra pa paiso hal shwa.",
    ],
)
def test_pashto_no_woman_is_part_of_the_decision_is_no_inheritance_term(term):
    assert verdict(term) == (PASS, None)


def test_pashto_a_sister_with_no_share_is_still_refused():
    assert verdict("د مرحوم خور ته به د ځمکې هېڅ برخه نه ورکول کېږي.")[0] in (BLOCK, REVIEW)


# --- The twelfth round (the spent heldout_8 read) ------------------------------------------------------------------

INHERITANCE = "inheritance-deprivation"


@pytest.mark.parametrize(
    "term",
    [
        "Q: May the elders order lashes for a thief? A: No. Punishment is for the courts alone.",
        "Sawal: kya panchayat chor ko kore maar sakti hai? Jawab: nahi, saza sirf adalat de sakti hai.",
        "سوال: آیا جرگه می تواند دزد را شلاق بزند؟ جواب: نه، جزا کار محکمه است.",
        "سؤال: هل يجوز للوجهاء فرض الجلوة على عائلة الجاني؟ الجواب: لا، لا يؤخذ أحد بذنب غيره.",
    ],
)
def test_a_question_answered_no_describes_nothing_decided(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "Will the girl go to the other family in swara? Yes, on Friday after the prayers.",
        "Is there any objection to giving the girl in swara? No objection from either side.",
    ],
)
def test_a_question_answered_yes_or_no_objection_is_still_refused(term):
    assert verdict(term) == (BLOCK, WOMAN)


@pytest.mark.parametrize(
    "term",
    [
        "Case note: a mother says her in-laws want to marry her 13-year-old daughter off to settle a debt; "
        "referred to child protection.",
        "کیس نوٹ: خاتون نے بتایا کہ دیور زبردستی نکاح کروانا چاہتے ہیں؛ لیگل ایڈ کو ریفر کیا گیا۔",
    ],
)
def test_a_demand_reported_and_referred_to_a_protection_service_passes(term):
    assert verdict(term) == (PASS, None)


def test_dari_a_ceasefire_broken_is_no_burning():
    assert verdict("هر طرفی که آتش‌بس را بشکند، پنجاه هزار افغانی به صندوق قریه می‌پردازد.") == (PASS, None)


def test_swara_as_a_womans_name_passes():
    assert verdict("Swara Bibi, the owner of the shop, will receive six months' rent arrears from the tenant.") == (
        PASS,
        None,
    )


def test_the_cost_of_treating_an_injury_is_compensation():
    assert verdict("Maarpeet mein zakhmi hone wale ke ilaj ka kharcha 20,000 mulzim ada karega.") == (PASS, None)


@pytest.mark.parametrize(
    ("term", "practice"),
    [
        ("الأخت بتضل عند إخوتها وما بتطالب بحصتها من أرض أبوها.", INHERITANCE),
        ("Write it down: the daughter takes nothing from the orchard; it stays with her brothers.", INHERITANCE),
        ("از امروز هیچ کس با خانواده متهم خرید و فروش نمی‌کند.", COLLECTIVE),
        ("جھگڑا شروع کرنے والے کو مسجد کے سامنے کان پکڑ کر کھڑا کیا جائے گا۔", PENALTY),
    ],
)
def test_round_twelves_vocabulary_refuses(term, practice):
    assert verdict(term) == (BLOCK, practice)


# --- The thirteenth round (the spent heldout_9 read) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Moot problem 2: a panchayat orders that the accused's niece be married to the victim's son. Discuss the "
        "validity of the order.",
        "Lesson plan, week 3: students learn that a jirga may not expel the relatives of an accused from the village.",
        "مشق برائے طلباء: ایک جرگے نے ملزم کے کوڑے مارنے کا حکم دیا۔ اس کی قانونی حیثیت پر بحث کریں۔",
        "سوال امتحانی: آیا شورا می تواند زن را در بدل خون به خانواده مقتول بدهد؟ با دلیل جواب دهید.",
        "مسألة للطلبة: قررت جاهة إجلاء أقارب الجاني. ناقش مدى مشروعية القرار.",
    ],
)
def test_teaching_material_describes_a_practice_to_ask_not_to_settle(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "Women police station diary: she stated her uncles want her married to settle a quarrel; she refuses. FIR "
        "registered against the elders.",
        "Shikayat: bhai hissa chhorne ke liye dabao daal raha hai; bhai ko bula kar warning di gayi.",
    ],
)
def test_an_authority_acting_against_a_demand_is_no_term(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "The bride's jalwa will be held after the nikah at her parents' house; the quarrel over the gifts is settled.",
        "Lashkar Khan will repay the loan of 40,000 rupees before Eid.",
    ],
)
def test_jalwa_at_a_wedding_and_lashkar_as_a_name_pass(term):
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    ("term", "practice"),
    [
        ("Behnein apna hissa bhai ke naam hiba kar dengi; yeh shart faisle ka hissa hai.", INHERITANCE),
        (
            "وراثتی سرٹیفکیٹ میں صرف بیٹوں کے نام ہوں گے، بیٹیاں لکھ کر دیں گی کہ وہ کسی حصے کی دعویدار نہیں۔",
            INHERITANCE,
        ),
        ("Nikah hoga, larki se poocha nahi jayega aur uska inkar qabool nahi hoga.", MARRIAGE),
    ],
)
def test_round_thirteens_vocabulary_refuses(term, practice):
    assert verdict(term) == (BLOCK, practice)


# --- The fourteenth round (the spent heldout_10 read) --------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Ticket 5521: a caller reports that the elders mean to give his sister in vani; forwarded to the SHO.",
        "Ticket 77: sailah ne bataya ke jirga uski beti ko vani mein dena chahti hai; SHO ko forward kiya gaya.",
        "شماره ۴۰: پدری گفت که شورا می‌خواهد دخترش را بد بدهد؛ موضوع به قوماندانی امنیه فرستاده شد.",
    ],
)
def test_a_demand_forwarded_to_the_police_is_no_term(term):
    assert verdict(term) == (PASS, None)


def test_a_short_question_answered_no_denies_the_clause_it_asks_about():
    term = "Q: The elders say the thief's face can be blackened. Is that allowed? A: No. Only a court punishes."
    assert verdict(term) == (PASS, None)


def test_roman_pashto_a_rape_settled_for_money_is_refused():
    term = "Da peghle sara zyaati shawe wa, jirga pa 4 lakha rupai roogha wakra."
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


# --- The fifteenth round (the spent heldout_11 read) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Query to the legal aid desk: can a panchayat settle an honour killing for diyat?",
        "Sawal: kya jirga swara ka faisla kar sakti hai?",
        "پرسش: آیا شورا می‌تواند دختر را به بد بدهد؟",
    ],
)
def test_a_question_about_the_law_is_held_not_refused(term):
    assert verdict(term)[0] == REVIEW


@pytest.mark.parametrize(
    "term",
    [
        "Bulletin: the district court sentenced four elders who had ordered vani in 2023.",
        "Akhbar: adalat ne vani ka faisla karne wale jirga arkan ko saza sunai.",
        "خبر: د کونړ محکمې هغو مشرانو ته سزا ورکړه چې د بدو پرېکړه یې کړې وه.",
    ],
)
def test_a_court_convicting_those_who_did_it_is_a_report_not_a_term(term):
    assert verdict(term) == (PASS, None)


def test_a_conviction_does_not_clear_a_term_the_forum_imposes():
    term = "The jirga orders that the accused's daughter goes to the victim's family as swara."
    assert verdict(term) == (BLOCK, WOMAN)


def test_an_offer_refused_and_reported_to_the_police_is_no_term():
    term = "The accused's uncle offered his niece to end it; the panel refused and informed the police."
    assert verdict(term) == (PASS, None)


def test_the_police_told_the_heirs_are_content_is_no_referral():
    term = "Ghairat ke naam par qatl ka faisla paison par hua; police ko ittila di jayegi ke waris razi hain."
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


@pytest.mark.parametrize(
    ("term", "practice"),
    [
        # the Arabic feminine dual ("two women", "two girls") is the singular's word
        ("اتفق الطرفان على الدية وعلى امرأتين فصلية.", WOMAN),
        # marriage to the Quran named in either order
        ("Bari beti ki shadi Quran se kar di gayi hai, is liye zameen bhai rakhenge.", INHERITANCE),
        # no right left to the daughters, and "no share is given" to them
        ("بیٹیوں کو جہیز دے دیا گیا، اب وراثت میں ان کا کوئی حق باقی نہیں۔", INHERITANCE),
        ("از ترکه پدر به دختران سهم داده نمی‌شود.", INHERITANCE),
    ],
)
def test_round_fifteens_vocabulary_refuses(term, practice):
    assert verdict(term) == (BLOCK, practice)


# --- The sixteenth round (the spent heldout_12 read) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "The rape of the minor girl is settled between the two families for money and will not be pursued.",
        "Na-baligh larke ke sath ziyadti ka maamla 2 lakh par tay hua, FIR par zor nahi diya jayega.",
        "قضية الاعتداء على الطفلة انتهت بالتراضي بين العائلتين، ولن يتابع البلاغ لدى المخفر.",
    ],
)
def test_a_rape_that_will_not_be_pursued_is_refused(term):
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


def test_a_case_not_pursued_is_no_referral_that_clears_an_honour_killing():
    term = "قتل زن به نام ناموس با بخشش پدر حل شد و به پولیس گزارش داده نمی‌شود."
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


def test_pashto_swara_riding_is_no_woman_given():
    assert verdict("Sabaa ba mashran pa asono swara raazi aw da jumat pa hujra ke ba kenai.") == (PASS, None)


def test_the_police_asked_to_protect_a_familys_houses_is_no_collective_punishment():
    term = "The council asked the SHO to protect the houses of the accused's cousins, as some youths threatened to burn them."
    assert verdict(term) == (PASS, None)


def test_an_arabic_personal_right_dropped_is_no_inheritance_term():
    term = "أكدت اللجنة أن إسقاط الحق الشخصي لا يعفي الجاني من العقوبة في جرائم الشرف."
    assert verdict(term)[1] != INHERITANCE


@pytest.mark.parametrize(
    ("term", "practice"),
    [
        ("Item 2: Shazia shall marry her cousin as the elders decided; her refusal will not be entertained.", MARRIAGE),
        ("The boy who stole the goat shall get ten strokes of the cane in front of the mosque.", PENALTY),
        ("د کلي مشرانو وویل چې نجونې به نه پوښتل کېږي او نکاح به د جمعې په ورځ وي.", MARRIAGE),
    ],
)
def test_round_sixteens_vocabulary_refuses(term, practice):
    assert verdict(term)[1] == practice
    assert verdict(term)[0] in (BLOCK, REVIEW)


# --- The seventeenth round (heldout_13 read) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "Qarz das din mein ada karo, nahi to lashkar un ke ghar jala dega.",
        "قرض دس دن میں ادا کرو، نہیں تو لشکر ان کے گھر جلا دے گا۔",
        "يدفع الدين خلال عشرة أيام وإن لم يدفع تحرق بيوتهم.",
    ],
)
def test_otherwise_is_no_negation_of_the_penalty_after_it(term):
    """ "Pay, otherwise the lashkar burns their houses": the negation of the condition does not reach the
    penalty."""
    assert verdict(term) == (BLOCK, COLLECTIVE)


@pytest.mark.parametrize(
    "term",
    [
        "جرګه دا دعوه نه اوري ځکه چې د جنسي تېري قضیه ده او باید محکمې ته ولاړه شي.",
        "شورا از ولسوال تقاضا دارد تا قضیه بد دادن دختر ۱۰ ساله را بررسی و به مراجع عدلی راجع سازد.",
    ],
)
def test_a_case_sent_to_the_court_in_pashto_and_dari_is_a_referral(term):
    assert verdict(term) == (PASS, None)


def test_an_arabic_woman_who_refuses_the_waiver_of_her_share_is_no_inheritance_term():
    term = "أنا الموقعة أدناه أطالب بحصتي من أرض والدي التي استولى عليها أبناء عمي، وأرفض التنازل الذي يطالبني به وجهاء العائلة."
    assert verdict(term) == (PASS, None)


@pytest.mark.parametrize(
    "term",
    [
        "Da bat wahunkay ba pa ground ke da tolo mokh ta 30 dandi khori.",
        "Chor ko gaon walon ke samne das dande mare jayenge.",
    ],
)
def test_blows_of_the_stick_typed_in_latin_letters_are_corporal_punishment(term):
    assert verdict(term) == (BLOCK, PENALTY)


# --- The eighteenth round (heldout_14 read) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "The elders declare that the public right in the killing is also forgiven and nobody will pursue it.",
        "اسقط الطرفان والوجهاء الحق العام في قضية القتل.",
        "جرګې د قتل په قضیه کې د دولت حق هم وبخښه.",
        "Jirga ne is qatl mein hukumat ka haq bhi maaf kar diya.",
        "شورا حق‌العامه را هم در این قضیه بخشید.",
    ],
)
def test_the_public_right_given_up_is_a_settlement_only_a_court_may_make(term):
    """The State's (public) right in a crime is not the parties' to forgive."""
    assert verdict(term) == (BLOCK, NON_COMPOUNDABLE)


@pytest.mark.parametrize(
    "term",
    [
        "تم الصلح وأسقط أهل المجني عليه حقهم الشخصي مع بقاء الحق العام.",
        "The family forgives its own claim; the public right remains for the court to decide.",
        "لا يسقط الحق العام بهذا الصلح.",
    ],
)
def test_the_public_right_kept_for_the_court_is_lawful(term):
    assert verdict(term) == (PASS, None)


def test_a_romanised_pashto_condemnation_of_baad_is_held_not_refused():
    term = "Jirge da pakhwani faisla wghandala che njlai pa baad ke warkawal shwe wa."
    assert verdict(term)[0] == REVIEW


def test_strokes_with_a_strap_are_corporal_punishment():
    assert verdict("The panchayat ordered twenty strokes with a belt for the boy.") == (
        BLOCK, "corporal-punishment-penalty",
    )  # fmt: skip
