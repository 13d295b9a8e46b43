"""The summary tables' rows are updated in place chunk after chunk (counts added): room on each page lets
PostgreSQL update them without touching their indexes (heap-only tuples), which measured a quarter off a
summary chunk. Only PostgreSQL has the setting."""

from django.db import migrations

TABLES = ("cases_patternmonth", "cases_patternclosedays", "cases_patternweek")


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_pattern_summaries")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
