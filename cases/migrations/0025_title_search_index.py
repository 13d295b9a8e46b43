"""The case search index on the title alone, as cases.selectors._search filters on it.

Since the summary was encrypted (0019), the search reads the title only, and the index of 0006 (title and summary)
no longer matched its expression: a search by words scanned every case (1.2 s at a million), while every case
written kept a GIN index of its encrypted summary's letters up to date.
"""

from django.db import migrations


def _title_index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    # The same expression cases.selectors._search filters on, so the planner uses it for ?q=.
    return GinIndex(SearchVector("title", config="simple"), name="case_title_search")


def _old_index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("title", "summary", config="simple"), name="case_search")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("cases", "Case")
        schema_editor.execute('DROP INDEX IF EXISTS "case_search"')
        schema_editor.add_index(model, _title_index())


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("cases", "Case")
        schema_editor.remove_index(model, _title_index())
        schema_editor.add_index(model, _old_index())


class Migration(migrations.Migration):
    dependencies = [("cases", "0024_covering_party_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
