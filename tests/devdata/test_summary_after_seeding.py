"""A new install's regulator dashboard shows figures (issue 18, item 5): seed_demo and generate_synthetic compute
the summary once after writing, incrementally (a second run folds nothing new)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
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


def test_the_first_start_adds_a_history_once_and_the_regulator_sees_published_figures(capsys, client):
    """`make run` passes --history: the first start adds synthetic cases over three years, a second adds none."""
    call_command("seed_demo", "--history", "3000")
    assert "Added a synthetic history of 3,000 cases" in capsys.readouterr().out
    demo_cases = Case.objects.filter(forum__name__startswith="Demo ").count()
    assert Case.objects.count() == demo_cases + 3000
    assert opened() == Case.objects.count()
    call_command("seed_demo", "--history", "3000")
    assert "synthetic history" not in capsys.readouterr().out
    assert Case.objects.count() == demo_cases + 3000

    client.force_login(get_user_model().objects.get(username="regulator"))
    cells = client.get("/api/reports/patterns/?group_by=forum_kind").json()["cells"]
    assert {cell["forum_kind"] for cell in cells} == {"jirga", "muslahathi", "sulha"}
    # Published, not hidden: the main counts of every forum kind (a rare count, e.g. a forfeited deposit, may be).
    assert all(cell["opened"] is not None and cell["opened"] >= 5 for cell in cells)
    assert all(cell["closed"] is not None and cell["resolved"] is not None for cell in cells)


def test_a_history_needs_a_count_of_zero_or_more():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--history", "-1")
