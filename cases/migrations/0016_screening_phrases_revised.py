"""The shipped phrases as the screening engine of 2026-12 reads them: four phrases of 0004 are replaced.

- badal-e-sulh named alone is held for a legal reviewer (a leading "?"), not refused: the words also name the
  lawful compounding sum of PPC s.310, which a term with an amount is;
- the Arabic "girl given for diya" description and the Urdu "non-compoundable … settled" one gain exceptions
  (a daughter's full share by the sharia; a case sent to the police or the court).

Only these exact shipped rows are replaced: phrases an administrator added or changed stay as they are. The
phrases are spelled out here, frozen, rather than read from today's data file.
"""

from django.db import migrations

GENERATION_KEY = "cases.guardrails.generation"

REPLACED = [
    (
        "non-compoundable-honour-killing",
        "ur",
        "ناقابلِ راضی نامہ|ناقابل راضینامہ|ناقابل مصالحت + صلح|راضی|معاف|واپس|ختم",
        "ناقابلِ راضی نامہ|ناقابل راضینامہ|ناقابل مصالحت + صلح|راضی|معاف|واپس|ختم"
        " + !پولیس|تھانے|تھانہ|ایس ایچ او|عدالت|مجسٹریٹ",
    ),
    (
        "woman-given-in-settlement",
        "ar",
        "اعطاء|تعطى|يعطى|تسليم|تسلم|منح|تقديم + فتاه|فتاتان|فتاتين|فتيات|بنت|بنات|ابنه|امراه|نساء|اخت"
        " + ديه|صلح|تسويه|عوض|تعويض|مقابل|ثمن|دم|فديه + !مبلغ|دينار|دنانير|ريال|دولار|روبيه|مال|اموال|نقد*",
        "اعطاء|تعطى|يعطى|تسليم|تسلم|منح|تقديم + فتاه|فتاتان|فتاتين|فتيات|بنت|بنات|ابنه|امراه|نساء|اخت"
        " + ديه|صلح|تسويه|عوض|تعويض|مقابل|ثمن|دم|فديه + !مبلغ|دينار|دنانير|ريال|دولار|روبيه|مال|اموال|نقد*"
        "|كامله|كاملا|نصيب|حسب الشرع|للورثه",
    ),
    (
        "woman-given-in-settlement",
        "en",
        "badal e sulh|badal i sulh|badl e sulh|badal e solh|badal i solh|badal e sulah|badle sulh",
        "?badal e sulh|badal i sulh|badl e sulh|badal e solh|badal i solh|badal e sulah|badle sulh",
    ),
    ("woman-given-in-settlement", "ur", "بدلِ صلح|بدل صلح", "?بدلِ صلح|بدل صلح"),
]


def replace(apps, schema_editor):
    ProhibitedPhrase = apps.get_model("cases", "ProhibitedPhrase")
    ProhibitedPractice = apps.get_model("cases", "ProhibitedPractice")
    db = schema_editor.connection.alias
    for code, language, old, new in REPLACED:
        practice = ProhibitedPractice.objects.using(db).filter(code=code).first()
        if practice is None:
            continue
        stale = ProhibitedPhrase.objects.using(db).filter(practice=practice, language=language, phrase=old)
        if stale.exists():
            stale.delete()
            ProhibitedPhrase.objects.using(db).get_or_create(practice=practice, language=language, phrase=new)
    # Every running process recompiles the phrases on its next check.
    from django.core.cache import cache

    try:
        cache.delete(GENERATION_KEY)
    except Exception:  # noqa: BLE001 - a cache that is down has nothing to forget
        pass


class Migration(migrations.Migration):
    dependencies = [("cases", "0015_screening_verdicts_and_review")]

    operations = [migrations.RunPython(replace, migrations.RunPython.noop)]
