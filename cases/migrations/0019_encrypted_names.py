"""Names encrypted at rest (placeholder: operations filled in by the encryption work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0018_register")]

    operations: list[migrations.operations.base.Operation] = []
