"""Benchmark: the regulator summary (reports.patterns) at scale, run where it runs in production, in a Celery
worker.

Usage (from the repository's root; PostgreSQL and Redis):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench_patterns REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/bench_patterns.py --cases 100000 --reuse

The database is prepared as bench/bench_cases.py does (created if missing, migrated, filled with --cases
synthetic cases, VACUUM ANALYZE; --reuse adds only what is missing). Then, in the same run:

1. a plain sequential scan of the event and case tables, for scale: `SELECT count(*), sum(length(data::text))
   FROM cases_caseevent` and the same over cases_case's titles, best of --scans (PostgreSQL's own plan, which
   may use parallel workers; the serial time is printed too);
2. the full summary (`summarise_patterns` with full=True) in a real Celery worker process (`celery -A config
   worker --pool solo`, on a queue of its own), timed inside the task, best of --runs;
3. --more percent more events (new synthetic cases with their histories, about that share of the events),
   then the incremental summary in a fresh worker;
4. each worker's peak resident memory (VmHWM, read when the task has finished).

Targets (issue 7): full summary within 3x of the scan; the incremental run under 5% of the full one; the
worker under 300 MB and flat as data grows. Without REDIS_URL the summaries run in a `manage.py
summarise_patterns` subprocess instead, whose peak is read while it runs.

Each run adds --more percent of cases to the database; rerunning with --reuse measures again on the grown
database. Other processes on the machine skew the figures: run it on a quiet one, and more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import add_arguments, prepare, progress  # noqa: E402


def scan_seconds(cursor, *, parallel: bool) -> float:
    cursor.execute(
        "SET max_parallel_workers_per_gather = DEFAULT" if parallel else "SET max_parallel_workers_per_gather = 0"
    )
    started = time.perf_counter()
    cursor.execute("SELECT count(*), sum(length(data::text)) FROM cases_caseevent")
    cursor.fetchone()
    cursor.execute("SELECT count(*), sum(length(title)) FROM cases_case")
    cursor.fetchone()
    seconds = time.perf_counter() - started
    cursor.execute("RESET max_parallel_workers_per_gather")
    return seconds


def peak_rss_kb(pid: int) -> int:
    """The process's peak resident memory since it started its program (VmHWM). Not ru_maxrss: that also
    counts the moment between fork and exec, when the child is a copy of this (large) process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_in_worker(*, full: bool, runs: int = 1) -> tuple[dict, int]:
    """The summary as the task, `runs` times in a fresh Celery worker: (the figures of the fastest run, the
    worker's peak RSS in KB)."""
    from config.celery import app

    queue = f"bench-patterns-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1"]
    command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING", "-Q", queue]
    worker = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    try:
        results = []
        for _ in range(runs):
            results.append(app.send_task("cases.summarise_patterns", kwargs={"full": full}, queue=queue).get(3600))
        figures = min(results, key=lambda figures: figures["seconds"])
        peak = peak_rss_kb(worker.pid)  # The solo pool runs the task in the worker's own process.
    finally:
        worker.terminate()  # A warm shutdown: it has nothing left to do.
        worker.wait(timeout=60)
    return figures, peak


def run_in_process(*, full: bool, runs: int = 1) -> tuple[dict, int]:
    """The summary in `manage.py summarise_patterns` subprocesses (no Redis): (the figures of the fastest of
    `runs`, the peak RSS in KB, read every 50 ms while they run)."""
    results = [_run_command(full=full) for _ in range(runs)]
    return min(results, key=lambda result: result[0]["seconds"])[0], max(peak for _figures, peak in results)


def _run_command(*, full: bool) -> tuple[dict, int]:
    command = [sys.executable, "manage.py", "summarise_patterns", "-v", "0"] + (["--full"] if full else [])
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, peak_rss_kb(process.pid))
        except OSError:
            break
        time.sleep(0.05)
    output = process.stdout.read() if process.stdout else ""
    if process.wait():
        sys.exit(f"summarise_patterns failed: {output}")
    from cases.models import PatternState

    # The command prints "… N events folded in C chunks, S s; …".
    words = output.replace(",", "").split()
    figures = {
        "events": int(words[words.index("events") - 1]),
        "chunks": int(words[words.index("chunks") - 1]),
        "seconds": float(words[words.index("s;") - 1]),
        "last_event_id": PatternState.objects.get().last_event_id,
    }
    return figures, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--more", type=float, default=1.0, help="Percent more cases before the incremental run.")
    parser.add_argument("--scans", type=int, default=3, help="Timed scans; the best counts (default 3).")
    parser.add_argument("--runs", type=int, default=3, help="Timed full summaries; the best counts (default 3).")
    args = parser.parse_args()

    prepare(args)
    from django.conf import settings
    from django.db import connection

    from cases.models import Case, CaseEvent, PatternCloseDays, PatternMonth, PatternWeek
    from devdata import synthetic

    run = run_in_worker if os.environ.get("REDIS_URL") else run_in_process
    where = "a Celery worker (--pool solo)" if run is run_in_worker else "a manage.py subprocess"
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    print(f"\nRegulator summary over {cases:,} cases and {events:,} events, in {where}; chunks of "
          f"{settings.PATTERNS_CHUNK_EVENTS:,} event ids; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f} at the start.")  # fmt: skip

    with connection.cursor() as cursor:
        scans = [scan_seconds(cursor, parallel=True) for _ in range(args.scans)]
        serial = min(scan_seconds(cursor, parallel=False) for _ in range(max(1, args.scans - 1)))
    scan = min(scans)
    full, full_rss = run(full=True, runs=args.runs)
    print(
        f"Plain scan of events and cases:   {scan:7.2f} s (best of {len(scans)}; serial, one core: {serial:.2f} s)\n"
        f"Full summary:                     {full['seconds']:7.2f} s (best of {args.runs}) = "
        f"{full['seconds'] / scan:.2f}x the scan, {full['seconds'] / serial:.2f}x the serial one "
        f"(target 3x), {full['events']:,} events in {full['chunks']} chunks, "
        f"{full['events'] / max(full['seconds'], 1e-9):,.0f} events/s; worker peak RSS {full_rss / 1024:.0f} MB"
    )
    print(
        f"Summary tables: {PatternMonth.objects.count():,} month cells, {PatternCloseDays.objects.count():,} "
        f"days-to-close counts, {PatternWeek.objects.count():,} district-weeks."
    )

    more = max(1, round(cases * args.more / 100))
    report = synthetic.generate(
        cases=more, seed=args.seed + 1, batch=args.batch, writers=args.writers, progress=progress
    )
    print(
        f"Added {report.cases:,} cases with {report.events:,} events ({100 * report.events / events:.2f}% more events)."
    )
    incremental, incremental_rss = run(full=False)
    print(
        f"Incremental summary:              {incremental['seconds']:7.2f} s = "
        f"{100 * incremental['seconds'] / full['seconds']:.1f}% of the full run (target under 5%), "
        f"{incremental['events']:,} events in {incremental['chunks']} chunks; worker peak RSS "
        f"{incremental_rss / 1024:.0f} MB"
    )
    print(json.dumps({
        "cases": cases, "events": events, "scan_s": round(scan, 3), "serial_scan_s": round(serial, 3),
        "full_s": full["seconds"], "full_over_scan": round(full["seconds"] / scan, 2),
        "incremental_s": incremental["seconds"], "incremental_share": round(incremental["seconds"] / full["seconds"], 4),
        "full_max_rss_mb": round(full_rss / 1024), "incremental_max_rss_mb": round(incremental_rss / 1024),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
