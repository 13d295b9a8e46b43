"""Conflicts of interest (issue 19, item 4): a forum member's declared tie to a party of a case, and its resolution
(recused, or accepted by each side). The note and who accepted for each side are encrypted at rest (config.crypto);
here they are plain text columns. The regulator summary counts the cases with a declared tie (reports.patterns)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0020_guarantees"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="patternmonth",
            name="cases_with_ties",
            field=models.IntegerField(default=0),
        ),
        migrations.CreateModel(
            name="TieDeclaration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("kin", "Kin"),
                            ("tribe", "Tribe or clan"),
                            ("business", "Business"),
                            ("other", "Other"),
                        ],
                        max_length=10,
                        verbose_name="kind of tie",
                    ),
                ),
                ("note", models.TextField(blank=True, max_length=1000, verbose_name="note")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("declared", "Awaiting both sides"),
                            ("recused", "Recused"),
                            ("accepted", "Accepted by both sides"),
                        ],
                        default="declared",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("declared_at", models.DateTimeField(verbose_name="declared at")),
                ("recused_at", models.DateTimeField(blank=True, null=True, verbose_name="recused at")),
                (
                    "first_accepted_by",
                    models.TextField(blank=True, max_length=200, verbose_name="accepted for the first party by"),
                ),
                (
                    "first_accepted_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="first party accepted at"),
                ),
                (
                    "second_accepted_by",
                    models.TextField(blank=True, max_length=200, verbose_name="accepted for the second party by"),
                ),
                (
                    "second_accepted_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="second party accepted at"),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ties",
                        to="cases.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "declared_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="declared by",
                    ),
                ),
                (
                    "first_recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="first party's acceptance recorded by",
                    ),
                ),
                (
                    "party",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.party",
                        verbose_name="party",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="person tied",
                    ),
                ),
                (
                    "recused_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recusal recorded by",
                    ),
                ),
                (
                    "second_recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="second party's acceptance recorded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "declared tie",
                "verbose_name_plural": "declared ties",
                "ordering": ["case", "declared_at", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("case", "person", "party"), name="tie_once_per_person_and_party"),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["kin", "tribe", "business", "other"])), name="tie_kind_known"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status", "declared"),
                            models.Q(("recused_at__isnull", False), ("status", "recused")),
                            models.Q(
                                ("first_accepted_at__isnull", False),
                                ("second_accepted_at__isnull", False),
                                ("status", "accepted"),
                            ),
                            _connector="OR",
                        ),
                        name="tie_status_consistent",
                    ),
                ],
            },
        ),
    ]
