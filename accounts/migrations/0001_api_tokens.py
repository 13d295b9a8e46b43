"""API tokens stored as hashes, with an expiry (accounts.models.ApiToken).

DRF's authtoken app, which kept the keys in clear, is no longer installed: its table goes (API clients log in
again). Its rows point at users, and a foreign key left behind would stop users being deleted.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(blank=True, max_length=100, verbose_name="name")),
                ("prefix", models.CharField(max_length=12, verbose_name="prefix")),
                ("digest", models.CharField(max_length=64, unique=True, verbose_name="SHA-256 of the key")),
                ("created", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("expires", models.DateTimeField(verbose_name="expires")),
                ("last_used", models.DateTimeField(blank=True, null=True, verbose_name="last used")),
                ("revoked", models.DateTimeField(blank=True, null=True, verbose_name="revoked")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created"],
                "indexes": [models.Index(fields=["user", "revoked"], name="apitoken_user_live")],
            },
        ),
    ]
