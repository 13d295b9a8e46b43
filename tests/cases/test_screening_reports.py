"""The seventh round of the screening (data/README.md): what press reports, observers' minutes, clerks' registers and
long deeds taught it. The verdicts are the rules' (the statistical model set aside), on terms written for these tests.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from cases.screening.result import BLOCK, PASS, REVIEW
from tests.cases.conftest import verdict

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_only")]

WOMEN = "woman-given-in-settlement"
INHERITANCE = "inheritance-deprivation"
CORPORAL = "corporal-punishment-penalty"
COLLECTIVE = "collective-punishment-revenge"


@pytest.mark.parametrize(
    "term",
    [
        "If the diyat is not paid by the end of Ramadan, the family of the deceased is allowed to take revenge on any "
        "man of the accused's tribe.",
        "اگر پول تا عید پرداخت نشود، خانواده مقتول اجازه دارند که از هر مرد قوم متهم انتقام بگیرند.",
        "يُسمح لأهل القتيل بحرق ممتلكات أهل المتهم.",
    ],
)
def test_revenge_licensed_anywhere_in_the_clause_is_refused(term):
    assert verdict(term) == (BLOCK, COLLECTIVE)


@pytest.mark.parametrize(
    "term",
    [
        "اگر قسط وقت پر ادا نہ ہوئی تو مقتول کا خاندان ملزم کے کسی بھی رشتہ دار سے بدلہ لے سکتا ہے۔",
        "که پیسې ورنه کړل شي، د مقتول کورنۍ کولی شي د تورن له هر خپلوان نه بدل واخلي.",
        "Agar raqam waqt par na mili to muddai party ko badla lene ki khuli chhuti hogi.",
    ],
)
def test_revenge_the_other_side_may_take_is_licensed(term):
    assert verdict(term) == (BLOCK, COLLECTIVE)


def test_revenge_no_one_may_take_is_not_licensed():
    assert verdict("کوئی بھی فریق بدلہ نہیں لے سکتا، جرگے کا فیصلہ حتمی ہے۔")[0] == PASS


def test_revenge_given_up_is_not_licensed():
    assert verdict("The family of the deceased has forgiven and gives up any right to take revenge.")[0] != BLOCK


def test_a_share_forgiven_to_the_brothers_is_refused():
    assert verdict("The three sisters have forgiven their share of the land to their brothers.") == (BLOCK, INHERITANCE)


def test_her_share_kept_by_the_men_is_refused_when_she_is_named_elsewhere():
    assert verdict(
        "The widow will live with her in-laws. Her share of the orchard stays with her brothers-in-law."
    ) == (
        BLOCK,
        INHERITANCE,
    )
    assert verdict("Her full share of the orchard is hers by name; nothing stays with the brothers.")[0] == PASS


def test_pashto_girls_sent_as_baad_are_refused():
    assert verdict("مرکې پرېکړه وکړه چې د بد په توګه به یوه انجلۍ د مقتول کورنۍ ته ولېږل شي.") == (BLOCK, WOMEN)


@pytest.mark.parametrize(
    "term",
    [
        "The thief's finger will be cut off in front of the elders.",
        "چور کی انگلی کاٹ دی جائے گی تاکہ سب کو عبرت ہو۔",
        "يقطع إصبع السارق أمام الجماعة.",
    ],
)
def test_a_body_part_cut_off_is_refused(term):
    assert verdict(term) == (BLOCK, CORPORAL)


def test_a_finger_hurt_in_an_accident_is_no_penalty():
    assert (
        verdict("The boy's finger was cut in the accident; the other side pays the hospital for his treatment.")[0]
        == PASS
    )


def test_someone_locked_up_in_public_is_refused():
    assert verdict("The boy will be locked up in the bazaar in front of everyone until the evening.") == (
        BLOCK,
        CORPORAL,
    )


def test_a_proposal_the_forum_accepted_is_a_decision():
    proposed = "The elders proposed that the accused's niece be given in swara to the victim's family"
    assert verdict(proposed + ".")[0] == REVIEW  # a proposal alone: was it taken up?
    assert verdict(proposed + ", and the jirga agreed.") == (BLOCK, WOMEN)
    assert verdict(proposed + ", and the jirga has not agreed.")[0] == REVIEW


def test_a_romanised_tag_in_an_english_term_negates_nothing():
    term = "She is married to the Quran since her father's time na, so there is no question of her share."
    assert verdict(term) == (BLOCK, INHERITANCE)


def test_a_registers_abbreviations_end_no_clause():
    assert verdict("accd. party will give a girl to compl. party in exchange for the FIR.") == (BLOCK, WOMEN)


def test_an_aside_in_brackets_does_not_stretch_the_window():
    term = (
        "The accused party will give one girl (the daughter of Rafiq, about seventeen years old, living with her "
        "uncle in the upper village) to the complainant party as sulh."
    )
    assert verdict(term) == (BLOCK, WOMEN)


@pytest.mark.parametrize(
    "term",
    [
        "After the wedding of the elder's daughter, the jirga meets again on the 20th.",
        "د مشر د لور له واده وروسته به جرګه بیا کېني.",
        "بعد از عروسی دختر ملک، جلسه بعدی جرگه روز دهم است.",
    ],
)
def test_a_wedding_named_as_a_date_is_no_term(term):
    assert verdict(term)[0] == PASS


def test_a_surah_in_a_persons_name_does_not_clear_swara():
    assert verdict("Da Abdul Rahman lur ba pa swara warkawal shi.") == (BLOCK, WOMEN)
    assert verdict("Surah Rahman will be recited when the jirga opens.")[0] == PASS


def test_a_compromise_put_before_the_court_for_its_permission_is_lawful():
    term = "The heirs forgave the murder for a diyat of 30 lakh; the compromise goes to the court for its permission."
    assert verdict(term)[0] == PASS
    assert verdict("The honour killing was forgiven; the compromise goes to the court for its permission.")[0] != PASS


def test_arabic_and_not_negates():
    assert verdict("الأرملة حرة في أمرها، ولا تُجبر على الزواج من أحد.")[0] == PASS


def test_a_lawyer_of_her_choice_is_kept():
    assert verdict("مدعیہ اپنی پسند کا وکیل رکھ سکتی ہے، اس پر کوئی پابندی نہیں۔")[0] == PASS


def test_asking_for_a_girl_is_no_impunity():
    assert verdict("Swara is forbidden and nobody will ask for a girl; the compensation is two buffaloes.")[0] == PASS


def test_an_urdu_passive_is_no_going():
    assert verdict("بدل صلح کی رقم دو قسطوں میں ادا کی جائے گی۔")[0] == PASS
    assert verdict("متاثرہ خاتون کا نام خفیہ رکھا جائے گا اور فیصلے میں نہیں لکھا جائے گا۔")[0] == PASS


def test_until_opens_a_condition_whose_negation_stays_in_it():
    assert verdict("ملزم کا گھر جلا دیا جائے گا جب تک وہ رقم ادا نہ کرے۔") == (BLOCK, COLLECTIVE)


def test_screening_eval_trains_on_other_files(tmp_path):
    training = tmp_path / "training.jsonl"
    rows = [{"text": f"Larki {i} swara mein di jayegi.", "lang": "roman-ur", "prohibited": True} for i in range(8)]
    rows += [{"text": f"Both families repair channel {i}.", "lang": "en", "prohibited": False} for i in range(8)]
    training.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    scored = tmp_path / "scored.jsonl"
    lines = [{"text": "Larki 3 swara mein di jayegi.", "lang": "roman-ur", "prohibited": True}]
    lines += [{"text": "A public apology at the mosque.", "lang": "en", "prohibited": False}]
    scored.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("screening_eval", str(scored), train_on=[str(training)], stdout=out)
    text = out.getvalue()
    assert "the model trained on 15 terms of 1 files" in text  # the scored term itself is left out
    all_line = next(line for line in text.splitlines() if line.startswith("all"))
    assert all_line.split()[1:3] == ["1", "1"]
