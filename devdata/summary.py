"""The regulator summary computed once after the demo or synthetic data is written, so that a new install's
dashboard shows figures instead of "not computed yet" (issue 18, item 5)."""

from __future__ import annotations

from reports import pattern_report, patterns


def summary_compute() -> patterns.Summary:
    """Fold the events just written into the regulator summary and prepare the report's cells, as the Celery task
    does (reports.tasks.summarise_patterns). Incremental: run again, it folds only what is new. No safety lag: the
    command calling this has committed its own events, and on PostgreSQL the run still waits for any other
    transaction writing events (reports/patterns.py, guard 1); SQLite lets one writer at a time."""
    figures = patterns.summarise(safety_lag=0)
    pattern_report.prepare()
    return figures
