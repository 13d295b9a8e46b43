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

5. (--parts api) the patterns API over the prepared cells (reports.pattern_report.prepare, which the summary
   task runs): every grouping, for all time and for the latest year, quarter and month, cold (the first
   request after the cache is emptied) and warm (the median of --warm more), beside the same requests worked
   out from the summary tables as before preparing (the baseline, all time);
6. (--parts generator) generate_synthetic adding --add cases (default 2,000) to the database as it is, in
   cases per second.

Targets (issue 7): full summary within 3x of the scan; the incremental run under 5% of the full one; the
worker under 300 MB and flat as data grows. Issue 17, at a million cases: the patterns API within 500 ms cold
and 100 ms warm for every grouping; the generator adding 2,000 cases at 1,000 cases/s or more. At a million
cases the summary part takes a while: `--parts api,generator` skips it, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench_1m REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/bench_patterns.py --cases 1000000 --reuse --parts api,generator

Without REDIS_URL the summaries run in a `manage.py summarise_patterns` subprocess instead, whose peak is read
while it runs.

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


DIMENSIONS = ("region", "forum_kind", "dispute_type", "month")


def api_part(*, warm: int, baseline: bool) -> dict:
    """The patterns API, cold and warm, for every grouping and the usual periods; prints a table. Brings the
    summary and its prepared cells up to date first (as the task does), and prints what preparing took."""
    import itertools
    import statistics

    from common import api_client, bench_users
    from django.core.cache import cache

    from reports import pattern_report, patterns
    from reports.models import PatternSet

    patterns.summarise()
    prepared = pattern_report.prepare()
    if prepared["prepared"]:
        print(f"Prepared {prepared['cells']:,} cells of {prepared['periods']} periods in {prepared['seconds']:.1f} s.")
    ready = PatternSet.objects.get(ready=True)
    kinds: dict[str, list[str]] = {"year": [], "quarter": [], "month": []}
    for period in ready.periods:
        start, end = period.split("..")
        if start:  # "YYYY-MM..YYYY-MM": a month, a year (January to December), else a quarter.
            kind = "month" if start == end else "year" if (start[5:], end[5:]) == ("01", "12") else "quarter"
            kinds[kind].append(period)
    periods: dict[str, dict[str, str]] = {"all time": {}}
    for kind, found in kinds.items():
        if found:
            start, end = max(found).split("..")
            periods[f"{kind} {start if kind == 'month' else max(found)}"] = {"from": start, "to": end}
    _facilitator, admin, _forums = bench_users()
    client = api_client(admin)
    client.get("/api/reports/patterns/", {"group_by": "region"})  # The process's first request: imports, plans.
    groupings = [g for n in range(len(DIMENSIONS) + 1) for g in itertools.combinations(DIMENSIONS, n)]

    def measure(query: dict) -> tuple[float, float, int]:
        started = time.perf_counter()
        response = client.get("/api/reports/patterns/", query)
        cold = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            sys.exit(f"GET patterns {query} answered {response.status_code}: {response.content[:300]!r}")
        times = []
        for _ in range(warm):
            started = time.perf_counter()
            client.get("/api/reports/patterns/", query)
            times.append((time.perf_counter() - started) * 1000)
        return cold, statistics.median(times), len(response.getvalue())

    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    cache.clear()
    for label, period in periods.items():
        results[label] = {",".join(g) or "(total)": measure({**period, "group_by": ",".join(g)}) for g in groupings}
    base: dict[str, tuple[float, float, int]] = {}
    if baseline:
        PatternSet.objects.update(ready=False)  # As before preparing: worked out from the summary tables.
        try:
            cache.clear()
            base = {",".join(g) or "(total)": measure({"group_by": ",".join(g)}) for g in groupings}
        finally:
            PatternSet.objects.filter(pk=ready.pk).update(ready=True)
            cache.clear()
    print(f"\nPatterns API, ms cold / warm (median of {warm}), load average {os.getloadavg()[0]:.2f}:")
    header = f"{'grouping':38}" + "".join(f"{label.split('..')[0]:>20}" for label in results)
    print(header + (f"{'baseline, all time':>22}" if base else ""))
    for name in results["all time"]:
        line = f"{name:38}" + "".join(f"{r[name][0]:12.0f} /{r[name][1]:6.0f}" for r in results.values())
        if base:
            line += f"{base[name][0]:14.0f} /{base[name][1]:6.0f}"
        print(line + f"   {results['all time'][name][2]:>10,} bytes")
    colds = [r[0] for figures in results.values() for r in figures.values()]
    warms = [r[1] for figures in results.values() for r in figures.values()]
    print(f"Slowest: {max(colds):.0f} ms cold (target 500), {max(warms):.0f} ms warm (target 100).")
    figures = {"api_cold_max_ms": round(max(colds)), "api_warm_max_ms": round(max(warms))}
    if base:
        figures |= {"baseline_cold_max_ms": round(max(r[0] for r in base.values())),
                    "baseline_warm_max_ms": round(max(r[1] for r in base.values()))}  # fmt: skip
    return figures


def generator_part(*, add: int, seed: int, batch: int, writers: int) -> dict:
    from cases.models import Case
    from devdata import synthetic

    existing = Case.objects.count()
    report = synthetic.generate(cases=add, seed=seed, batch=batch, writers=writers)
    print(
        f"\ngenerate_synthetic adding {report.cases:,} cases ({report.events:,} events) to {existing:,}: "
        f"{report.seconds:.1f} s, {report.cases_per_second:,.0f} cases/s (target 1,000); load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    return {"added": report.cases, "add_s": round(report.seconds, 2), "add_cases_per_s": round(report.cases_per_second)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--more", type=float, default=1.0, help="Percent more cases before the incremental run.")
    parser.add_argument("--scans", type=int, default=3, help="Timed scans; the best counts (default 3).")
    parser.add_argument("--runs", type=int, default=3, help="Timed full summaries; the best counts (default 3).")
    parser.add_argument(
        "--parts", default="summary,api,generator", help="Which parts: summary, api, generator (default all)."
    )
    parser.add_argument("--warm", type=int, default=5, help="Warm requests per query; the median counts.")
    parser.add_argument("--no-baseline", action="store_true", help="Skip the API worked out without prepared cells.")
    parser.add_argument("--add", type=int, default=2000, help="Cases the generator part adds (default 2,000).")
    args = parser.parse_args()
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}

    prepare(args)
    figures: dict = {}
    if "summary" in parts:
        figures |= summary_part(args)
    if "api" in parts:
        figures |= api_part(warm=args.warm, baseline=not args.no_baseline)
    if "generator" in parts:
        figures |= generator_part(add=args.add, seed=args.seed + 1000, batch=args.batch, writers=args.writers)
    print(json.dumps(figures))


def summary_part(args) -> dict:
    """Steps 1–4 of the docstring: the scan, the full summary, more cases, the incremental summary."""
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
    return {
        "cases": cases, "events": events, "scan_s": round(scan, 3), "serial_scan_s": round(serial, 3),
        "full_s": full["seconds"], "full_over_scan": round(full["seconds"] / scan, 2),
        "incremental_s": incremental["seconds"], "incremental_share": round(incremental["seconds"] / full["seconds"], 4),
        "full_max_rss_mb": round(full_rss / 1024), "incremental_max_rss_mb": round(incremental_rss / 1024),
    }  # fmt: skip


if __name__ == "__main__":
    main()
