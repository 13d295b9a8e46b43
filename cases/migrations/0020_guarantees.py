"""Guarantees (issue 19, item 2): guarantors (kafil, zamin) and deposits (machalgha / nagha, atwa) on a case.
Names and descriptions are encrypted at rest by the model fields (config.crypto); here they are plain text columns.
The regulator summary counts forfeited deposits and called guarantors per cell (reports.patterns)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SIDES = [("first_party", "First party"), ("second_party", "Second party")]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0019_encrypted_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="patternmonth", name="deposits_forfeited", field=models.IntegerField(default=0)),
        migrations.AddField(model_name="patternmonth", name="guarantors_called", field=models.IntegerField(default=0)),
        migrations.CreateModel(
            name="Deposit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("money", "Money"), ("goods", "Goods")], max_length=8, verbose_name="kind"
                    ),
                ),
                ("description", models.TextField(blank=True, max_length=1000, verbose_name="description")),
                (
                    "amount",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name="amount"),
                ),
                ("currency", models.CharField(blank=True, max_length=3, verbose_name="currency")),
                ("held_by", models.TextField(max_length=200, verbose_name="held by")),
                ("deposited_by", models.CharField(choices=SIDES, max_length=16, verbose_name="deposited by")),
                ("received_at", models.DateField(verbose_name="received on")),
                (
                    "status",
                    models.CharField(
                        choices=[("held", "Held"), ("forfeited", "Forfeited"), ("returned", "Returned")],
                        default="held",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("settled_at", models.DateTimeField(blank=True, null=True, verbose_name="settled at")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deposits",
                        to="cases.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "deposit",
                "verbose_name_plural": "deposits",
                "ordering": ["case", "received_at", "id"],
                "indexes": [models.Index(condition=models.Q(("status", "held")), fields=["case"], name="deposit_held")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["money", "goods"])), name="deposit_kind_known"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("deposited_by__in", ["first_party", "second_party"])),
                        name="deposit_side_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount__isnull", True), ("amount__gt", 0), _connector="OR"),
                        name="deposit_amount_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "money"), _negated=True),
                            models.Q(("amount__isnull", False), models.Q(("currency", ""), _negated=True)),
                            _connector="OR",
                        ),
                        name="deposit_money_has_amount",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("settled_at__isnull", True), ("status", "held")),
                            models.Q(("settled_at__isnull", False), ("status__in", ["forfeited", "returned"])),
                            _connector="OR",
                        ),
                        name="deposit_settled_has_date",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Guarantor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.TextField(blank=True, max_length=200, verbose_name="name")),
                ("stands_for", models.CharField(choices=SIDES, max_length=16, verbose_name="stands for")),
                ("guarantees", models.TextField(max_length=1000, verbose_name="what they guarantee")),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Active"), ("called", "Called"), ("released", "Released")],
                        default="active",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
                ("called_at", models.DateTimeField(blank=True, null=True, verbose_name="called at")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="guarantors",
                        to="cases.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "party",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="guarantees",
                        to="cases.party",
                        verbose_name="party",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "guarantor",
                "verbose_name_plural": "guarantors",
                "ordering": ["case", "recorded_at", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("stands_for__in", ["first_party", "second_party"])),
                        name="guarantor_side_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["active", "called", "released"])),
                        name="guarantor_status_known",
                    ),
                ],
            },
        ),
    ]
