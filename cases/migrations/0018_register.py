"""Paper registers brought in (placeholder: operations filled in by the import_register work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0017_settlement")]

    operations: list[migrations.operations.base.Operation] = []
