"""The written settlement: an agreement frozen when it becomes final, its verification code, its attestations."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0016_screening_phrases_revised"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Settlement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=10, unique=True, verbose_name="verification code")),
                # config.crypto.EncryptedJSONField: a text column holding a Fernet token.
                ("content", models.TextField(verbose_name="frozen content")),
                ("sha256", models.CharField(max_length=64, verbose_name="SHA-256 of the content")),
                (
                    "status",
                    models.CharField(
                        choices=[("final", "Final"), ("attested", "Read aloud and attested")],
                        default="final",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="frozen at")),
                (
                    "agreement",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="settlement",
                        to="cases.agreement",
                        verbose_name="agreement",
                    ),
                ),
            ],
            options={
                "verbose_name": "written settlement",
                "verbose_name_plural": "written settlements",
            },
        ),
        migrations.CreateModel(
            name="SettlementAttestation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("read_to", models.TextField(max_length=300, verbose_name="read aloud to")),
                ("language", models.CharField(max_length=10, verbose_name="language")),
                ("witnesses", models.TextField(default=list, verbose_name="witnesses")),
                ("read_on", models.DateField(verbose_name="read on")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
                (
                    "settlement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attestations",
                        to="cases.settlement",
                        verbose_name="settlement",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement attestation",
                "verbose_name_plural": "settlement attestations",
                "ordering": ["settlement", "recorded_at", "id"],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="settlement",
            trigger=pgtrigger.compiler.Trigger(
                name="settlement_frozen",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."agreement_id" IS DISTINCT FROM NEW."agreement_id" OR OLD."code" IS DISTINCT FROM NEW."code" OR OLD."content" IS DISTINCT FROM NEW."content" OR OLD."sha256" IS DISTINCT FROM NEW."sha256" OR OLD."created_at" IS DISTINCT FROM NEW."created_at")',  # noqa: E501
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="15cf2a481b69e057c6cb50579a742a720bb9f043",
                    operation="UPDATE",
                    pgid="pgtrigger_settlement_frozen_f8e2d",
                    table="cases_settlement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="settlement",
            trigger=pgtrigger.compiler.Trigger(
                name="settlement_no_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="955192decf678f141a9ba34ed91348a03a02470e",
                    operation="DELETE",
                    pgid="pgtrigger_settlement_no_delete_a760a",
                    table="cases_settlement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="settlementattestation",
            trigger=pgtrigger.compiler.Trigger(
                name="settlement_attestation_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="202c7e9e2615c7962ac1b20aed736a3e35a66932",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_settlement_attestation_append_only_bb431",
                    table="cases_settlementattestation",
                    when="BEFORE",
                ),
            ),
        ),
    ]
