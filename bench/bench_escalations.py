"""Benchmark: the administrators' escalation statistics (`GET /api/reports/escalations/`) at scale.

Usage (from the repository's root; PostgreSQL only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench .venv/bin/python bench/bench_escalations.py \\
        --cases 100000 --reuse

The database is prepared as bench/bench_cases.py does (created if missing, migrated, filled with --cases
synthetic cases with their ladder histories; --reuse adds only what is missing). Then it times the report
through Django's whole stack (DRF's APIClient with a token) as an administrator (all forums) and as a
facilitator of four forums: all time, one province, a calendar year (whole months, read from the running
totals only) and a period cutting months at both ends (whose partial months are read from the timelines):
--requests timed requests each after a warm-up, p50/p95/max. Next to it, for scale, what the same
all-time figures cost when recounted from every case's timeline (what a scan per request would cost), and
how many rows the running totals hold.

Other processes on the machine skew the figures: run it on a quiet one, and more than once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import add_arguments, api_client, bench_users, percentile, prepare, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per case (default 30).")
    parser.add_argument("--recounts", type=int, default=3, help="Timed recounts from the timelines (default 3).")
    args = parser.parse_args()

    prepare(args)
    from django.utils import timezone

    from cases import ladder_stats
    from cases.models import Case, CaseEvent, LadderOpenCount, LadderStat

    facilitator, admin, busiest = bench_users()
    cases, moves = Case.objects.count(), CaseEvent.objects.filter(kind__in=ladder_stats.MOVES).count()
    province = busiest[0].region.parent.code
    today = timezone.localdate()
    last_year = today.year - 1
    cut_from, cut_to = (today - timedelta(days=200)).replace(day=15), today.replace(day=1) - timedelta(days=10)
    queries = [
        ("all time", ""),
        (f"?region={province}", f"?region={province}"),
        (f"{last_year} (whole months)", f"?from={last_year}-01-01&to={last_year}-12-31"),
        (f"{cut_from}..{cut_to} (cut)", f"?from={cut_from}&to={cut_to}"),
    ]
    print(
        f"\nGET /api/reports/escalations/ ({args.requests} requests each after a warm-up; {cases:,} cases, "
        f"{moves:,} moves on the ladder; running totals: {LadderStat.objects.count():,} rows + "
        f"{LadderOpenCount.objects.count():,} open counts; facilitator of {len(busiest)} forums)"
    )
    print(f"{'who':<12} {'period':<34} {'moves up':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for who, user in (("facilitator", facilitator), ("admin", admin)):
        client = api_client(user)
        for label, query in queries:
            times, body = timed(client, f"/api/reports/escalations/{query}", args.requests)
            print(
                f"{who:<12} {label:<34} {body['moves_up']:>9,} {percentile(times, 0.5):>8.1f} "
                f"{percentile(times, 0.95):>8.1f} {max(times):>8.1f}"
            )

    recounts = []
    for _ in range(args.recounts):
        started = time.perf_counter()
        ladder_stats.history_counts(case_ids=CaseEvent.objects.filter(kind__in=ladder_stats.MOVES).values("case_id"))
        recounts.append((time.perf_counter() - started) * 1000)
    print(
        f"\nFor scale: the same all-time figures recounted from every moved case's timeline: "
        f"p50 {percentile(recounts, 0.5):,.0f} ms over {args.recounts} runs."
    )


if __name__ == "__main__":
    main()
