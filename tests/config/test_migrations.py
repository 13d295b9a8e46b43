"""The migrations say what the models say: a model changed without its migration fails here, not in production."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as missing:  # --check exits 1 when a migration would be written.
        pytest.fail(f"makemigrations would write a migration ({missing}):\n{out.getvalue()}")


# The project's own packages: a migration that imports one runs today's code against yesterday's schema.
OWN_PACKAGES = {"accounts", "audit", "cases", "config", "deliberation", "devdata", "reports"}


def _imported_modules(path):
    import ast

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_no_migration_imports_application_code():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    migrations = sorted(root.glob("*/migrations/0*.py"))
    assert migrations, "no migrations found"
    offenders = {
        f"{path.relative_to(root)}: {module}"
        for path in migrations
        for module in _imported_modules(path)
        if module.split(".")[0] in OWN_PACKAGES
    }
    assert not offenders, sorted(offenders)


def test_the_migration_scan_sees_a_nested_import(tmp_path):
    planted = tmp_path / "0001_planted.py"
    planted.write_text("def fill(apps, schema_editor):\n    from cases import ladder_stats\n", encoding="utf-8")
    assert "cases" in set(_imported_modules(planted))
