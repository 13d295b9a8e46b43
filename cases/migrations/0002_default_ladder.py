"""The default escalation ladder of shared/DOMAIN.md: rung 1 is the restorative base."""

from django.db import migrations

RUNGS = [
    (1, "dialogue", "Dialogue", "Restorative dialogue between the parties, facilitated by the forum."),
    (2, "mediation", "Mediation", "Shuttle mediation by elders or the jaha; guarantors engaged."),
    (3, "decision", "Decision", "A binding forum decision (arbitration, faisla) the parties mandated."),
    (4, "guarantees", "Guarantees", "Guarantees called in: deposit forfeited, guarantors act, written compliance plan."),
    (5, "police", "Police", "Referral to the police or a state-linked council (DRC, SHO, FIR)."),
    (6, "court", "Court", "Court proceedings, protective orders (incapacitation)."),
]


def create(apps, schema_editor):
    Ladder = apps.get_model("cases", "Ladder")
    Rung = apps.get_model("cases", "Rung")
    ladder, _ = Ladder.objects.get_or_create(name="Default ladder", defaults={"review_days": 30})
    for level, code, name, description in RUNGS:
        Rung.objects.get_or_create(ladder=ladder, level=level, defaults={"code": code, "name": name, "description": description})


def remove(apps, schema_editor):
    apps.get_model("cases", "Ladder").objects.filter(name="Default ladder", forums__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
