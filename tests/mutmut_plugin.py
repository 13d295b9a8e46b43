"""A pytest plugin for `make mutation` only: pyproject.toml's [tool.mutmut] loads it (`-p tests.mutmut_plugin`),
and it does nothing unless mutmut is running (MUTANT_UNDER_TEST is in the environment).

mutmut 3 runs pytest in its own process (collecting which tests reach which function, then the clean run),
then forks one child per mutant from that warmed process, two at a time. Each child would inherit the
parent's test database name (and, for SQLite, the file named after the parent's pid) and whatever the
parent's runs left in module-level caches. So, in every mutmut session:

- the test database gets a name of its own (the process id), so two mutants never share or drop each
  other's database; on PostgreSQL it is cloned from a template migrated once per `mutmut run`, in the parent
  (CREATE DATABASE … TEMPLATE: a second instead of migrating from scratch for every mutant);
- the compiled prohibited phrases (a module's `_compiled` copy), every lru_cache of the project's modules and the
  in-memory Django caches are emptied, so a mutant never screens terms with a matcher compiled by the unmutated
  code, nor reads a value another run cached.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pytest

UNDER_MUTMUT = "MUTANT_UNDER_TEST" in os.environ
# The runs mutmut makes in its own process, one after another, before forking: stats, the clean run, the forced
# failure and test listing. Only these may build the template; a forked mutant only clones it.
PARENT_RUNS = {"", "stats", "fail", "list_all_tests", "mutant_generation"}
TEMPLATE_READY = "SULH_MUTMUT_TEMPLATE"
PROJECT_PACKAGES = ("accounts", "cases", "config", "deliberation", "devdata", "reports")


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in PROJECT_PACKAGES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
        # The prohibited phrases compiled for this process (cases.guardrails, cases.screening.compiled).
        if isinstance(getattr(module, "_compiled", None), tuple):
            module._compiled = (None, None)
    from django.core.cache.backends import locmem

    for store in (locmem._caches, locmem._expire_info, locmem._locks):
        store.clear()


def _build_template(connection, name: str) -> None:
    """Migrate a database named `name` once, then leave it closed for CREATE DATABASE … TEMPLATE."""
    test_settings = connection.settings_dict["TEST"]
    saved, original_name = dict(test_settings), connection.settings_dict["NAME"]
    test_settings.update(NAME=name, TEMPLATE=None)
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0, keepdb=True)
        test_settings.clear()
        test_settings.update(saved)


@pytest.fixture(scope="session", autouse=True)
def _mutmut_isolation(django_db_blocker):
    if not UNDER_MUTMUT:
        yield
        return
    _clear_caches()
    from django.db import connection

    settings_dict = connection.settings_dict
    test_settings = settings_dict.setdefault("TEST", {})
    saved_name, saved_test = settings_dict["NAME"], dict(test_settings)
    postgres = connection.vendor == "postgresql"
    if postgres:
        base = saved_test.get("NAME") or f"test_{saved_name}"
        template = os.environ.get(TEMPLATE_READY)
        if template is None and os.environ.get("MUTANT_UNDER_TEST", "") in PARENT_RUNS:
            template = f"{base}_mutmut_template"
            with django_db_blocker.unblock():
                _build_template(connection, template)
            os.environ[TEMPLATE_READY] = template  # Inherited by every mutant forked after this.
        name = f"{base}_mutmut_{os.getpid()}"
        test_settings.update(NAME=name, TEMPLATE=template)
    else:
        folder = Path(saved_test.get("NAME") or "test_db.sqlite3").parent
        name = str(folder / f"test_db_mutmut_{os.getpid()}.sqlite3")
        test_settings["NAME"] = name
    try:
        yield
    finally:
        # However the run ended (a mutant can break the set-up half way), leave no database behind and the
        # settings as they were for the next run in this process.
        connection.close()
        settings_dict["NAME"] = saved_name
        test_settings.clear()
        test_settings.update(saved_test)
        if postgres:
            with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            Path(name).unlink(missing_ok=True)


def summary(root: Path = Path("mutants")) -> int:
    """Print killed / survived / total per mutated module after `mutmut run`, and the mutants not killed."""
    import json
    import tomllib

    from mutmut.stats import status_by_exit_code

    modules = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    for module in modules:
        meta = root / f"{module}.meta"
        if not meta.exists():
            print(f"{module}: no results (run `make mutation`)")
            continue
        statuses = {
            key: status_by_exit_code[code] for key, code in json.loads(meta.read_text())["exit_code_by_key"].items()
        }
        killed = sum(status in ("killed", "timeout") for status in statuses.values())
        survived = sorted(key for key, status in statuses.items() if status == "survived")
        other = sorted(
            f"{key} ({status})" for key, status in statuses.items() if status not in ("killed", "timeout", "survived")
        )
        print(f"{module}: {killed} killed, {len(survived)} survived, {len(statuses)} in all")
        for key in survived + other:
            print(f"    {key}")
    print("`.venv/bin/mutmut show <name>` shows a mutant; docs/mutation.md lists the equivalent ones.")
    return 0


if __name__ == "__main__":
    sys.exit(summary())
