"""Live connections and server processes' heartbeats: a dead process's sockets are swept."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0002_encrypted_lines")]

    operations = [
        migrations.CreateModel(
            name="ProcessBeat",
            fields=[
                ("process", models.CharField(max_length=80, primary_key=True, serialize=False)),
                ("seen_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="LiveConnection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("process", models.CharField(db_index=True, max_length=80)),
                ("opened_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "participant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="live_connections",
                        to="deliberation.participant",
                    ),
                ),
            ],
        ),
    ]
