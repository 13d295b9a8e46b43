"""Session lines encrypted at rest (placeholder: operations filled in by the encryption work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_sessions"), ("cases", "0019_encrypted_names")]

    operations: list[migrations.operations.base.Operation] = []
