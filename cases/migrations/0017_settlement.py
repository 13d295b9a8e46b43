"""The written settlement (placeholder: operations filled in by the settlement work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0016_screening_phrases_revised")]

    operations: list[migrations.operations.base.Operation] = []
