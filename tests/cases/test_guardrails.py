"""Prohibited-term recognition (cases/guardrails.py) against the shipped list of practices."""

import json
import time

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from cases import guardrails
from cases.guardrails import DATA_PATH, find_prohibition, load_practices, normalise, validate_phrase
from cases.models import ProhibitedPhrase, ProhibitedPractice

pytestmark = pytest.mark.django_db

WOMEN = "woman-given-in-settlement"
MARRIAGE = "forced-child-exchange-marriage"
INHERITANCE = "inheritance-deprivation"
PUNISHMENT = "corporal-punishment-penalty"
COLLECTIVE = "collective-punishment-revenge"
COUNSEL = "counsel-waiver-victim-identity"
HONOUR = "non-compoundable-honour-killing"

# (language, term, the practice it must be refused as)
PROHIBITED = [
    # Giving a woman or girl to settle a dispute: swara, vani, baad, badal-e-sulh, exchange of women.
    ("en", "The offender's family gives a girl in marriage to the victim's family (swara).", WOMEN),
    ("en", "give a girl in marriage as swara", WOMEN),
    ("en", "SWARA: TWO GIRLS WILL BE GIVEN TO THE OTHER FAMILY.", WOMEN),
    ("en", "Sawara of the accused's niece to settle the feud.", WOMEN),
    ("en", "The girl will be given in vani to end the enmity.", WOMEN),
    ("en", "Wanni of a minor daughter as settlement.", WOMEN),
    ("en", "Vanni: one girl from each side.", WOMEN),
    ("en", "Badal-e-Sulh: one girl from each family.", WOMEN),
    ("en", "His sister will be married to the victim's brother as compensation for the killing.", WOMEN),
    ("en", "Exchange of women between the two tribes to end the dispute.", WOMEN),
    ("en", "The girl is given in baad to the family of the murdered man.", WOMEN),
    ("en", "Two daughters will be handed over as blood money.", WOMEN),
    ("en", "The accused's family will give their daughter to the victim's family.", WOMEN),
    ("en", "The offender shall hand over his daughter to the deceased's family.", WOMEN),
    ("ur", "مجرم کا خاندان سوارہ میں ایک لڑکی مقتول کے خاندان کو دے گا۔", WOMEN),
    ("ur", "لڑکی سوره کے طور پر دی جائے گی۔", WOMEN),
    ("ur", "لڑکی سُوارَہ کے طور پر دی جائے گی۔", WOMEN),  # With diacritics.
    ("ur", "صلح کے بدلے ملزم کی بہن کا نکاح مقتول کے بھائی سے ہوگا۔", WOMEN),
    ("ur", "ونی کی رسم کے تحت دو لڑکیاں دی جائیں گی۔", WOMEN),
    ("ur", "بدلِ صلح میں بیٹی دی جائے گی۔", WOMEN),
    ("ps", "د قاتل کورنۍ به یوه نجلۍ په بدو کې د مقتول کورنۍ ته ورکړي.", WOMEN),
    ("ps", "دوې جینۍ به د پخلاینې لپاره په سوره ورکړل شي.", WOMEN),
    ("ps", "د قاتل لور به د دښمنۍ د ختمولو لپاره واده شي.", WOMEN),
    ("fa", "یک دختر به بد داده می‌شود تا دشمنی پایان یابد.", WOMEN),
    ("fa", "يك دختر به بد داده ميشود.", WOMEN),  # Arabic ي and ك, no zero-width non-joiner.
    ("fa", "دختر قاتل به عنوان خون‌بها به خانواده مقتول داده می‌شود.", WOMEN),
    ("fa", "دختر را برای صلح به خانواده مقتول می‌دهند.", WOMEN),
    ("ar", "تزويج ابنة الجاني لأحد أبناء عائلة القتيل لإنهاء النزاع.", WOMEN),
    ("ar", "تُعطى فتاتان من العشيرة كفصلية لأهل القتيل.", WOMEN),
    ("ar", "النساء الفصلية لتسوية الدم.", WOMEN),
    ("ar", "مبادلة النساء بين العشيرتين.", WOMEN),
    # Forced, child or exchange marriage (watta satta).
    ("en", "Watta satta between the two families.", MARRIAGE),
    ("en", "WATTA-SATTA MARRIAGE OF THE CHILDREN.", MARRIAGE),
    ("en", "The girl will be married against her will to the eldest son.", MARRIAGE),
    ("en", "The 12-year-old daughter will be married to the complainant's son.", MARRIAGE),
    ("en", "Exchange marriage (badal) between the families.", MARRIAGE),
    ("en", "A forced nikah will take place after Eid.", MARRIAGE),
    ("en", "Child marriage of the two cousins.", MARRIAGE),
    ("ur", "دونوں خاندانوں میں وٹہ سٹہ کی شادی ہوگی۔", MARRIAGE),
    ("ur", "دونوں خاندانوں میں وٹے سٹے ہوں گے۔", MARRIAGE),
    ("ur", "کم عمر لڑکی کا نکاح کیا جائے گا۔", MARRIAGE),
    ("ur", "لڑکی کی شادی زبردستی کی جائے گی۔", MARRIAGE),
    ("ps", "نجلۍ به په زور واده شي.", MARRIAGE),
    ("ps", "د ماشومې نجلۍ واده به وشي.", MARRIAGE),
    ("fa", "ازدواج اجباری دختر با پسر خانواده مقابل.", MARRIAGE),
    ("fa", "ازدواج بدل میان دو خانواده.", MARRIAGE),
    ("fa", "نکاح دختر خردسال با پسر کاکایش.", MARRIAGE),
    ("ar", "زواج الشغار بين العائلتين.", MARRIAGE),
    ("ar", "تزويج القاصر لابن عائلة المدعي.", MARRIAGE),
    ("ar", "الزواج القسري للفتاة من ابن عمها.", MARRIAGE),
    # Depriving a woman of her inheritance; marriage to the Quran.
    ("en", "The sisters will give up their share of the inheritance to their brothers.", INHERITANCE),
    ("en", "The widow is excluded from the estate.", INHERITANCE),
    ("en", "Haq bakhshish: the eldest daughter stays unmarried.", INHERITANCE),
    ("en", "The eldest daughter will be married to the Quran.", INHERITANCE),
    ("en", "The daughters will not receive any share of the land.", INHERITANCE),
    ("en", "The sisters must sign away their inheritance.", INHERITANCE),
    ("ur", "بہنیں وراثت میں اپنے حصے سے دستبردار ہوں گی۔", INHERITANCE),
    ("ur", "بیٹی کی شادی قرآن سے کر دی جائے گی۔", INHERITANCE),
    ("ur", "بیوہ کو جائیداد سے محروم کیا جائے گا۔", INHERITANCE),
    ("ur", "بہنوں کا حصہ بھائیوں کو ملے گا۔", INHERITANCE),
    ("ps", "خوېندې به له میراث نه بې برخې شي.", INHERITANCE),
    ("ps", "لور به له قرآن سره واده شي.", INHERITANCE),
    ("fa", "دختران از ارث محروم می‌شوند.", INHERITANCE),
    ("fa", "ازدواج دختر با قرآن.", INHERITANCE),
    ("ar", "حرمان البنات من الميراث.", INHERITANCE),
    ("ar", "تتنازل الأخوات عن نصيبهن من الإرث لإخوتهن.", INHERITANCE),
    # Corporal or humiliating punishment, or a ruling on a criminal penalty.
    ("en", "The offender will be flogged twenty times in front of the village.", PUNISHMENT),
    ("en", "His face will be blackened and he will be paraded on a donkey.", PUNISHMENT),
    ("en", "The jirga sentences the accused to death.", PUNISHMENT),
    ("en", "The culprit will receive 50 lashes.", PUNISHMENT),
    ("en", "THE BOY WILL BE BEATEN IN PUBLIC.", PUNISHMENT),
    ("en", "The thief's hand will be cut off.", PUNISHMENT),
    ("ur", "ملزم کو سرِعام کوڑے مارے جائیں گے۔", PUNISHMENT),
    ("ur", "ملزم کا منہ کالا کر کے گدھے پر گھمایا جائے گا۔", PUNISHMENT),
    ("ur", "جرگہ ملزم کو سزا دے گا۔", PUNISHMENT),
    ("ps", "تورن به په ښکاره کوړې وخوري.", PUNISHMENT),
    ("ps", "تورن به په ښکاره ووهل شي.", PUNISHMENT),
    ("fa", "متهم در برابر مردم شلاق زده می‌شود.", PUNISHMENT),
    ("ar", "يُجلد الجاني عشرين جلدة أمام الناس.", PUNISHMENT),
    ("ar", "الحكم على المتهم بالسجن خمس سنوات.", PUNISHMENT),
    # Burning houses, lashkar enforcement, expelling relatives (jalwa), licensing revenge.
    ("en", "The offender's house will be burned.", COLLECTIVE),
    ("en", "A lashkar will enforce the decision.", COLLECTIVE),
    ("en", "The killer's relatives will be expelled from the village (jalwa).", COLLECTIVE),
    ("en", "The victim's family is free to take revenge if the money is not paid.", COLLECTIVE),
    ("en", "The accused family must leave the village forever.", COLLECTIVE),
    ("ur", "ملزم کا گھر جلا دیا جائے گا۔", COLLECTIVE),
    ("ur", "ملزم کے رشتہ داروں کو علاقہ بدر کیا جائے گا۔", COLLECTIVE),
    ("ps", "د تورن کور به وسوځول شي.", COLLECTIVE),
    ("ps", "لښکر به د جرګې پرېکړه پلي کړي.", COLLECTIVE),
    ("fa", "خانه متهم به آتش کشیده می‌شود.", COLLECTIVE),
    ("ar", "جلوة أقارب الجاني من المنطقة.", COLLECTIVE),
    ("ar", "ترحيل عائلة القاتل من القرية.", COLLECTIVE),
    ("ar", "يحق لأهل القتيل الأخذ بالثأر.", COLLECTIVE),
    # Waiving the right to a lawyer; disclosing a victim's identity.
    ("en", "The accused waives his right to a lawyer.", COUNSEL),
    ("en", "The complainant will not hire a lawyer.", COUNSEL),
    ("en", "The victim's name and photograph will be announced at the mosque.", COUNSEL),
    ("en", "Jirga orders the girl's photo to be shown in the village.", COUNSEL),
    ("ur", "ملزم وکیل کے حق سے دستبردار ہوگا۔", COUNSEL),
    ("ur", "متاثرہ لڑکی کا نام مسجد میں اعلان کیا جائے گا۔", COUNSEL),
    ("ps", "د قرباني نجلۍ نوم به په جومات کې اعلان شي.", COUNSEL),
    ("ps", "تورن به بې وکیله محکمې ته ځي.", COUNSEL),
    ("fa", "متهم از حق داشتن وکیل مدافع صرف نظر می‌کند.", COUNSEL),
    ("fa", "نام قربانی در مسجد اعلام می‌شود.", COUNSEL),
    ("ar", "يتنازل المتهم عن حقه في محامٍ.", COUNSEL),
    ("ar", "نشر اسم الضحية وصورتها في القرية.", COUNSEL),
    # Settling a non-compoundable offence or an honour killing.
    ("en", "The killing is forgiven and the case withdrawn from court.", HONOUR),
    ("en", "Karo-kari: the matter is settled by the jirga.", HONOUR),
    ("en", "The honour killing will be settled with compensation.", HONOUR),
    ("en", "The rape case will be withdrawn after the families reconcile.", HONOUR),
    ("en", "The girl was killed for honour; the families settle.", HONOUR),
    ("en", "The murder charge will be dropped by the heirs.", HONOUR),
    ("ur", "کاروکاری کا معاملہ جرگے میں طے ہوگا۔", HONOUR),
    ("ur", "قتل معاف کر دیا گیا اور مقدمہ عدالت سے واپس لے لیا جائے گا۔", HONOUR),
    ("ur", "غیرت کے نام پر قتل کا فیصلہ جرگہ کرے گا۔", HONOUR),
    ("ps", "وژنه وبښل شوه او دوسیه به له محکمې بیرته واخیستل شي.", HONOUR),
    ("ps", "د غیرت په نوم وژنه به په جرګه کې حل شي.", HONOUR),
    ("fa", "قتل ناموسی با پرداخت پول حل می‌شود.", HONOUR),
    ("fa", "قاتل بخشیده شد و پرونده از محکمه پس گرفته می‌شود.", HONOUR),
    ("ar", "جريمة الشرف تُسوّى بالصلح العشائري.", HONOUR),
    ("ar", "العفو عن القتل وسحب القضية من المحكمة.", HONOUR),
]

# Terms a forum may agree: none of them may ever be refused.
ORDINARY = [
    # The terms the service tests and the demo data record.
    ("en", "Repair the channel together before the sowing season."),
    ("en", "Pay 25,000 PKR for the lost harvest."),
    ("en", "A one-year truce between the two families."),
    ("en", "The second family apologises publicly at the mosque."),
    ("en", "Repair the channel and pay 25,000 PKR"),
    ("en", "A public apology"),
    ("en", "Pay 25,000 PKR diya in three instalments."),
    ("en", "A one-year hudna between the families."),
    ("en", "Teega (tiga) of one year: neither family will approach the other's house."),
    ("en", "Restitution of the two kanals of land taken from the Yousaf family."),
    ("en", "Both families will repair the water channel together."),
    ("en", "A shared meal at the hujra to mark the reconciliation."),
    ("en", "Musafaha: the elders of both families shake hands in public."),
    ("en", "The husband will pay the mahr owed to his wife."),
    ("en", "Return the dowry to the bride's family."),
    ("en", "The daughter will inherit her full share under the law."),
    ("en", "The widow will not be deprived of her share."),
    ("en", "The accused will be handed to the police."),
    ("en", "Both families will respect the court's decision."),
    ("en", "Guarantors deposit 50,000 PKR."),
    ("en", "The victim's family accepts the apology."),
    ("en", "The two families will attend the wedding as guests."),
    ("en", "The offender will give 25,000 PKR as compensation to the victim's daughter."),
    ("en", "Each family will pay its own lawyer's fees."),
    ("en", "The victim's identity will be kept confidential."),
    ("en", "Neither family will take revenge; the feud is over."),
    ("en", "The boy who was beaten will receive his medical costs from the other family."),
    ("en", "Compensation for the house burned in the quarrel will be paid in two instalments."),
    ("en", "The families will exchange gifts, and the women of both families will share a meal."),
    ("en", "THE FIRST FAMILY WILL APOLOGISE AND PAY DIYA."),
    ("en", "The bad blood between the families ends today; both give their word."),
    ("en", "The sisters of the injured man will receive 10,000 PKR."),
    ("en", "The agreement will be executed within thirty days."),
    ("en", "The complainant will withdraw the complaint of hurt before the magistrate, as the law allows."),
    ("en", "The elders will recite Surah Al-Hujurat at the reconciliation."),
    ("en", "The daughter, who married of her own free will, will not be harmed and no penalty falls on her husband."),
    ("en", "The two families will recognise the daughter's marriage, and the dispute over it is settled."),
    ("en", "The children of the married couple will stay with their mother."),
    ("en", "This agreement comes into force on the day of the wedding."),
    ("en", "The man who breaks the truce will be punished by forfeiting his deposit."),
    ("en", "The apology ends the humiliation suffered by the Khan family."),
    ("en", "No lawyer is needed to sign this agreement; both parties may consult a lawyer before signing."),
    ("en", "No revenge will be taken by either family."),
    ("en", "The victim's name will not be published."),
    ("en", "The families forgive each other and the land case is withdrawn from court."),
    ("en", "The Khan family will give the Yousaf family two sheep as a gesture of goodwill."),
    ("en", "The elders of the Wani family will guarantee the truce."),  # A surname, not the custom.
    ("en", "Compensation of 300,000 PKR for the burnt crops."),
    ("en", "The marriage will follow the Quran and Sunnah."),
    ("en", "The accused's daughter's wedding will be attended by both families."),
    ("en", "Compensation for the injured hand: 40,000 PKR."),
    ("en", "The murder case will continue in court; the families keep the peace."),
    ("en", "The complainant will withdraw the complaint of theft."),
    ("ur", "دوسرا خاندان مسجد میں سرِعام معافی مانگے گا۔"),
    ("ur", "تین قسطوں میں 25,000 روپے دیت ادا کی جائے گی۔"),
    ("ur", "دونوں خاندانوں کے درمیان ایک سال کی جنگ بندی۔"),
    ("ur", "شوہر اپنی بیوی کا واجب الادا حق مہر ادا کرے گا۔"),
    ("ur", "جہیز دلہن کے خاندان کو واپس کیا جائے گا۔"),
    ("ur", "بیٹی کو قانون کے مطابق وراثت میں پورا حصہ ملے گا۔"),
    ("ur", "بیوہ کو اس کے حصے سے محروم نہیں کیا جائے گا۔"),
    ("ur", "ملزم کو پولیس کے حوالے کیا جائے گا۔"),
    ("ur", "دونوں خاندان عدالت کے فیصلے کا احترام کریں گے۔"),
    ("ur", "ضامن 50,000 روپے جمع کرائیں گے۔"),
    ("ur", "مقتول کی بیٹی کو 25,000 روپے دیے جائیں گے۔"),
    ("ur", "دونوں خاندان مہمانوں کی حیثیت سے شادی میں شرکت کریں گے۔"),
    ("ur", "سورہ فاتحہ کی تلاوت کے بعد صلح کا اعلان ہوگا۔"),
    ("ur", "دونوں خاندان مل کر پانی کی نالی کی مرمت کریں گے۔"),
    ("ur", "متاثرہ خاندان معافی قبول کرتا ہے۔"),
    ("ur", "دونوں خاندان بیٹی کی پسند کی شادی کو تسلیم کریں گے اور صلح ہوگی۔"),
    ("ur", "نکاح قرآن و سنت کے مطابق ہوگا۔"),
    ("ur", "سورہ یٰسین پڑھی جائے گی اور دعا ہوگی۔"),
    ("ur", "دونوں خاندان ایک دوسرے کو معاف کرتے ہیں اور زمین کا مقدمہ عدالت سے واپس لیا جائے گا۔"),
    ("ps", "دوهمه کورنۍ به په جومات کې په ښکاره بښنه وغواړي."),
    ("ps", "د یو کال لپاره تیګه (اوربند) د دواړو کورنیو ترمنځ."),
    ("ps", "د مقتول کورنۍ ته به په دریو قسطونو کې ۲۵۰۰۰ کلدارې دیت ورکړل شي."),
    ("ps", "لور به د قانون سره سم خپله بشپړه برخه په میراث کې ترلاسه کړي."),
    ("ps", "کونډه به له خپلې برخې نه محرومه نه شي."),
    ("ps", "تورن به پولیسو ته وسپارل شي."),
    ("ps", "دواړه کورنۍ به د محکمې پرېکړه ومني."),
    ("ps", "ضامنان به ۵۰۰۰۰ کلدارې امانت کېږدي."),
    ("ps", "دواړه کورنۍ به د مېلمنو په توګه واده ته ورشي."),
    ("ps", "د اوبو ویاله به په ګډه ترمیم شي."),
    ("ps", "په حجره کې ګډه ډوډۍ."),
    ("ps", "د ځمکې په بدل کې به ۲۵۰۰۰ کلدارې ورکړل شي."),
    ("ps", "د مقتول لور ته به ۲۵۰۰۰ کلدارې ورکړل شي."),
    ("fa", "خانواده دوم در مسجد به طور علنی عذرخواهی می‌کند."),
    ("fa", "آتش‌بس یک‌ساله میان دو خانواده."),
    ("fa", "دیه به مبلغ ۲۵۰۰۰ افغانی در سه قسط پرداخت می‌شود."),
    ("fa", "زمین غصب‌شده به خانواده یوسف مسترد می‌شود."),
    ("fa", "شوهر مهر همسر خود را می‌پردازد."),
    ("fa", "جهیزیه به خانواده عروس بازگردانده می‌شود."),
    ("fa", "دختر سهم کامل خود را مطابق قانون از میراث می‌برد."),
    ("fa", "بیوه از سهم خود محروم نخواهد شد."),
    ("fa", "متهم به پولیس تحویل داده می‌شود."),
    ("fa", "هر دو خانواده به حکم محکمه احترام می‌گذارند."),
    ("fa", "هر دو خانواده به عنوان مهمان در عروسی شرکت می‌کنند."),
    ("fa", "ترمیم جوی آب به طور مشترک."),
    ("fa", "سهم دختر مقتول از دیه به او داده می‌شود."),
    ("fa", "دیه را به دختران مقتول می‌دهند."),
    ("fa", "سوره فاتحه خوانده می‌شود."),
    ("ar", "تعتذر العائلة الثانية علنًا في المسجد."),
    ("ar", "دفع دية قدرها 25,000 روبية على ثلاثة أقساط."),
    ("ar", "هدنة (عطوة) لمدة سنة بين العائلتين."),
    ("ar", "إعادة الأرض إلى عائلة يوسف."),
    ("ar", "إصلاح قناة الماء بشكل مشترك."),
    ("ar", "وليمة مشتركة (منسف) في بيت الجاهة."),
    ("ar", "المصافحة بين كبار العائلتين."),
    ("ar", "يدفع الزوج المهر المستحق لزوجته."),
    ("ar", "إعادة الجهاز إلى أهل العروس."),
    ("ar", "ترث البنت نصيبها كاملاً وفق القانون."),
    ("ar", "لن تُحرم الأرملة من نصيبها."),
    ("ar", "يسلَّم المتهم إلى الشرطة."),
    ("ar", "تحترم العائلتان حكم المحكمة."),
    ("ar", "يودع الكفلاء 50,000 روبية."),
    ("ar", "تقبل عائلة الضحية الاعتذار."),
    ("ar", "تحضر العائلتان حفل الزفاف ضيوفًا."),
    ("ar", "تحضر العائلتان عقد قران ابنيهما برضاهما."),
    ("ar", "تُدفع الأقساط الفصلية للدية في موعدها."),
    ("ar", "قراءة سورة الفاتحة عند الصلح."),
    ("ar", "تعلن عائلة الضحية باسم العشيرة قبول الاعتذار."),
    ("ar", "تلتزم العائلتان بعدم الانتقام."),
    ("ar", "للمرأة الحق في نصيبها من الميراث."),
    ("ar", "تعويض عن حروق في جلده."),
]


@pytest.mark.parametrize(
    ("language", "term", "code"), PROHIBITED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PROHIBITED)]
)
def test_prohibited_terms_are_recognised_as_their_practice(language, term, code):
    hit = find_prohibition(term)
    assert hit is not None, term
    assert hit.practice_code == code, (term, hit)
    assert hit.citations
    assert hit.matched


@pytest.mark.parametrize(("language", "term"), ORDINARY, ids=[f"{o[0]}-{i}" for i, o in enumerate(ORDINARY)])
def test_ordinary_terms_are_never_refused(language, term):
    assert find_prohibition(term) is None


def test_the_corpora_cover_every_practice_and_language():
    shipped = {entry["code"] for entry in json.loads(DATA_PATH.read_text(encoding="utf-8"))["practices"]}
    assert {code for _language, _term, code in PROHIBITED} == shipped
    for code in shipped:
        assert sum(1 for _language, _term, c in PROHIBITED if c == code) >= 5, code
    assert {language for language, _term, _code in PROHIBITED} == {"en", "ur", "ps", "fa", "ar"}
    assert {language for language, _term in ORDINARY} == {"en", "ur", "ps", "fa", "ar"}
    assert len(ORDINARY) >= 40


def test_every_shipped_phrase_is_valid_and_in_a_known_language():
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    languages = set(ProhibitedPhrase.Language.values)
    for entry in data["practices"]:
        assert entry["citations"], entry["code"]
        assert set(entry["phrases"]) == languages, entry["code"]
        for phrases in entry["phrases"].values():
            for phrase in phrases:
                validate_phrase(phrase)
                assert len(phrase) <= ProhibitedPhrase._meta.get_field("phrase").max_length


@pytest.mark.parametrize(
    "term",
    [
        "The offender's family gives a girl in marriage to the victim's family (swara).",
        "give a girl in marriage as swara",
    ],
)
def test_the_service_tests_swara_terms_cite_section_310_a(term):
    hit = find_prohibition(term)
    assert hit is not None
    assert hit.practice_code == WOMEN
    assert any("310-A" in citation for citation in hit.citations)


@pytest.mark.parametrize(
    ("spelling", "same_as"),
    [
        ("SWARA", "swara"),
        ("Sawara", "swara"),
        ("swarah", "swara"),
        ("the WANI custom", "vani"),
        ("VANNI", "vani"),
        ("badal-i-sulh with a girl", "badal e sulh with a girl"),
        ("سُوارَہ", "سوارہ"),
        ("سوارا", "سوارہ"),
        ("بدلِ صلح میں بیٹی", "بدل صلح میں بیٹی"),
        ("ونّی", "ونی"),
    ],
)
def test_spelling_variants_of_the_names_are_refused(spelling, same_as):
    hit = find_prohibition(f"The families agree to {spelling}.")
    assert hit is not None, spelling
    assert hit.practice_code == find_prohibition(f"The families agree to {same_as}.").practice_code == WOMEN


@pytest.mark.parametrize(("spelling", "same_as"), [("badal-i-sulh", "badal e sulh"), ("بدلِ صلح", "بدل صلح")])
def test_spelling_variants_of_badal_e_sulh_alone_are_held_alike(spelling, same_as):
    # Alone, badal-e-sulh is the lawful compensation of PPC s.310 or a woman given under s.310-A: a legal
    # reviewer decides (with a woman it is refused, with an amount it passes: tests/cases/test_screening_engine.py).
    from cases.screening import engine

    assert find_prohibition(f"The families agree to {spelling}.") is None
    held, same = engine.decide(f"The families agree to {spelling}."), engine.decide(f"The families agree to {same_as}.")
    assert (held[0], held[1].pattern.practice) == (same[0], same[1].pattern.practice) == ("review", WOMEN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SWARA", "swara"),
        ("Badal-e-Sulh!", "badal e sulh"),
        ("Qur'an", "quran"),
        ("Qur’ān", "quran"),
        ("سُوارَہ", "سواره"),
        ("سوارہ", "سواره"),
        ("سُورَة", "سوره"),
        ("کتاب", "كتاب"),  # Persian and Urdu keheh, Arabic kaf.
        ("کتاب ی", "كتاب ي"),  # Persian yeh, Arabic yeh.
        ("ىی", "ي"),
        ("قرآن", "قران"),
        ("إفشاء", "افشاء"),
        ("ښځه", "شځه"),
        ("نجلۍ", "نجلي"),
        ("می\u200cدهند", "مي دهند"),
        ("۲۵٬۰۰۰ PKR", "25 000 pkr"),
        ("٢٥ ألف", "25 الف"),
        ("كـــبير", "كبير"),
        ("  several   spaces, and punctuation… ", "several spaces and punctuation"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_phrase_syntax_stems_alternatives_windows_and_exceptions():
    practice = ProhibitedPractice.objects.create(code="test-practice", name="Test practice", citations="Test law s.1")
    ProhibitedPhrase.objects.create(
        practice=practice, language="en", phrase="zorb*|quib + flarn|glim gask + !never|no one"
    )
    assert find_prohibition("the zorbing of a flarn").practice_code == "test-practice"
    assert find_prohibition("a quib and then a glim gask").practice_code == "test-practice"
    assert find_prohibition("glim gask before quib").practice_code == "test-practice"  # Any order.
    assert find_prohibition("a glim and a gask with a quib") is None  # "glim gask" is one name.
    # Within 10 content words of one clause: stop words do not use up the window, a clause end stops it.
    assert find_prohibition("zorb alpha bravo charlie delta echo foxtrot golf hotel india flarn") is None
    assert (
        find_prohibition("zorb alpha bravo charlie delta echo foxtrot golf hotel flarn").practice_code
        == "test-practice"
    )
    assert find_prohibition("zorb alpha bravo charlie delta of the echo foxtrot golf hotel flarn").practice_code == (
        "test-practice"
    )
    assert find_prohibition("zorb alpha bravo. flarn") is None
    assert find_prohibition("never a zorb with a flarn") is None
    assert find_prohibition("zorb with a flarn, so that no one objects") is None
    assert find_prohibition("no one objects here at all today: zorb with a flarn").practice_code == "test-practice"


def test_a_phrase_added_through_the_orm_is_recognised_at_once():
    term = "The families will settle by a custom called zimzam."
    assert find_prohibition(term) is None
    practice = ProhibitedPractice.objects.get(code=WOMEN)
    ProhibitedPhrase.objects.create(practice=practice, language="en", phrase="zimzam")
    hit = find_prohibition(term)
    assert hit is not None
    assert (hit.practice_code, hit.matched) == (WOMEN, "zimzam")


def test_a_deactivated_practice_no_longer_matches_and_a_reactivated_one_does():
    term = "give a girl in marriage as swara"
    assert find_prohibition(term).practice_code == WOMEN
    practice = ProhibitedPractice.objects.get(code=WOMEN)
    practice.is_active = False
    practice.save()
    assert find_prohibition(term) is None
    practice.is_active = True
    practice.save()
    assert find_prohibition(term).practice_code == WOMEN


def test_a_deleted_phrase_no_longer_matches():
    phrase = ProhibitedPhrase.objects.create(
        practice=ProhibitedPractice.objects.get(code=WOMEN), language="en", phrase="zimzam"
    )
    assert find_prohibition("a zimzam") is not None
    phrase.delete()
    assert find_prohibition("a zimzam") is None


def test_a_committed_change_tells_the_other_processes(django_capture_on_commit_callbacks):
    assert find_prohibition("anything") is None
    before = cache.get(guardrails._GENERATION_KEY)
    assert before is not None
    with django_capture_on_commit_callbacks(execute=True):
        ProhibitedPhrase.objects.create(
            practice=ProhibitedPractice.objects.get(code=WOMEN), language="en", phrase="zimzam"
        )
    assert cache.get(guardrails._GENERATION_KEY) != before


def test_a_copy_compiled_for_an_older_generation_is_rebuilt():
    term = "The families will settle by a custom called zimzam."
    assert find_prohibition(term) is None
    practice = ProhibitedPractice.objects.get(code=WOMEN)
    ProhibitedPhrase.objects.bulk_create([ProhibitedPhrase(practice=practice, language="en", phrase="zimzam")])
    assert find_prohibition(term) is None  # bulk_create sends no signal: this process's copy is stale...
    cache.set(guardrails._GENERATION_KEY, "changed by another process")
    assert find_prohibition(term).practice_code == WOMEN  # ...until the shared generation changes.


def test_invalidate_makes_a_bulk_change_count_at_once():
    assert find_prohibition("swara").practice_code == WOMEN
    ProhibitedPractice.objects.filter(code=WOMEN).update(is_active=False)  # No signal...
    assert find_prohibition("swara") is not None  # ...so this process still holds the old copy...
    guardrails.invalidate()
    assert find_prohibition("swara") is None  # ...until invalidate() drops it.


def test_loading_the_shipped_list_twice_creates_nothing_new():
    practices, phrases = ProhibitedPractice.objects.count(), ProhibitedPhrase.objects.count()
    assert practices == 7  # Loaded by migration 0004.
    assert phrases > 0
    first = load_practices()
    second = load_practices()
    assert first == second == phrases
    assert (ProhibitedPractice.objects.count(), ProhibitedPhrase.objects.count()) == (practices, phrases)


def test_loading_keeps_a_practice_an_administrator_switched_off_and_phrases_they_added():
    ProhibitedPractice.objects.filter(code=MARRIAGE).update(is_active=False)
    practice = ProhibitedPractice.objects.get(code=WOMEN)
    ProhibitedPhrase.objects.create(practice=practice, language="en", phrase="zimzam")
    load_practices()
    assert not ProhibitedPractice.objects.get(code=MARRIAGE).is_active
    assert ProhibitedPhrase.objects.filter(practice=practice, phrase="zimzam").exists()


def test_citations_are_one_per_line():
    women = ProhibitedPractice.objects.get(code=WOMEN)
    lines = women.citations.splitlines()
    assert len(lines) == 2
    assert "310-A" in lines[0]
    assert "Elimination of Violence against Women" in lines[1]
    hit = find_prohibition("swara")
    assert hit.citations == tuple(lines)


@pytest.mark.parametrize("phrase", ["", "   ", "swara + ", "a* + girl", "!never", "girl + !", "| + girl"])
def test_validate_phrase_rejects_a_bad_phrase(phrase):
    with pytest.raises(ValidationError) as caught:
        validate_phrase(phrase)
    assert caught.value.code == "invalid_phrase"


@pytest.mark.parametrize("phrase", ["swara", "marr* + girl|daughter* + !never", "girl + !never + !no one"])
def test_validate_phrase_accepts_a_good_phrase(phrase):
    validate_phrase(phrase)


def test_an_unusable_stored_phrase_is_skipped_not_fatal(caplog):
    practice = ProhibitedPractice.objects.get(code=WOMEN)
    ProhibitedPhrase.objects.create(practice=practice, language="en", phrase="x* + girl")
    with caplog.at_level("WARNING", logger="cases.guardrails"):
        assert find_prohibition("give a girl in marriage as swara").practice_code == WOMEN
    assert "Skipping prohibited phrase" in caplog.text


def test_a_long_term_is_checked_fast():
    words = (
        "The two families agree that the channel will be repaired together before the sowing season and that"
        " 25,000 PKR diya will be paid in three instalments to the family of the injured man; "
        "دونوں خاندان صلح کریں گے اور ایک سال کی جنگ بندی ہوگی؛ "
        "تحضر العائلتان حفل الزفاف ضيوفًا. "
    )
    term = (words * 10)[:1000]
    assert len(term) == 1000
    assert find_prohibition(term) is None
    assert find_prohibition(term[:-40] + " swara").practice_code == WOMEN
    calls = 200
    started = time.perf_counter()
    for _ in range(calls):
        find_prohibition(term)
    per_call = (time.perf_counter() - started) / calls
    assert per_call < 0.020, f"{per_call * 1000:.2f} ms per 1,000-character term"
