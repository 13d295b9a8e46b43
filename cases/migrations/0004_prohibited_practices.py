"""The prohibited practices of shared/DOMAIN.md, with their citations and phrases, from
cases/data/prohibited_practices.json (the same file `cases.guardrails.load_practices` reads).

Safe to run on a database that already holds them: practices are matched by code and updated, phrases
are added only when missing, a practice an administrator switched off stays off, and phrases an
administrator added stay. Reversing leaves the data in place (nothing to undo that is safe to undo).
"""

import json
from pathlib import Path

from django.db import migrations

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "prohibited_practices.json"

# cases.guardrails compares its compiled copy of the phrases with this token; dropping it makes every
# running process (web workers, Celery) recompile on its next check.
GENERATION_KEY = "cases.guardrails.generation"


def load(apps, schema_editor):
    ProhibitedPractice = apps.get_model("cases", "ProhibitedPractice")
    ProhibitedPhrase = apps.get_model("cases", "ProhibitedPhrase")
    db = schema_editor.connection.alias
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    for entry in data["practices"]:
        practice, _created = ProhibitedPractice.objects.using(db).update_or_create(
            code=entry["code"], defaults={"name": entry["name"], "citations": "\n".join(entry["citations"])}
        )
        for language, phrases in entry["phrases"].items():
            for phrase in phrases:
                ProhibitedPhrase.objects.using(db).get_or_create(practice=practice, language=language, phrase=phrase)
    try:
        from django.core.cache import cache

        cache.delete(GENERATION_KEY)
    except Exception:  # An unreachable cache must not stop a migration; processes restart after one anyway.
        pass


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_cases_timeline_agreements")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
