"""A new install's regulator dashboard shows figures (issue 18, item 5): seed_demo and generate_synthetic compute
the summary once after writing, incrementally (a second run folds nothing new)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Sum

from cases.models import Case, PatternMonth, PatternState

pytestmark = pytest.mark.django_db(transaction=True)


def opened() -> int:
    return PatternMonth.objects.aggregate(n=Sum("opened"))["n"] or 0


def test_the_demo_comes_with_its_summary(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Regulator summary computed" in out
    assert PatternState.objects.get().updated_at is not None
    assert opened() == Case.objects.count() > 0
    call_command("seed_demo")
    assert "Regulator summary computed (0 new events folded)." in capsys.readouterr().out
    assert opened() == Case.objects.count()


def test_synthetic_cases_come_with_their_summary(capsys):
    call_command("generate_synthetic", "--cases", "40", "--seed", "5", "--until", "2026-06-01")
    assert "Regulator summary computed:" in capsys.readouterr().out
    assert opened() == 40
    call_command("generate_synthetic", "--cases", "10", "--seed", "6", "--until", "2026-06-01", "--no-summary")
    assert "Regulator summary" not in capsys.readouterr().out
    assert opened() == 40
