"""Benchmark: how fast `generate_synthetic` fills a database, and how fast the case list API answers at that size.

Usage (from the repository's root; PostgreSQL only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench .venv/bin/python bench/bench_cases.py --cases 100000

It creates the database named in DATABASE_URL if it does not exist (never the one your app uses: name a
database of its own), migrates it, and adds --cases synthetic cases (seed --seed), printing cases/s and
events/s. With --reuse it adds only what is missing up to --cases, so a second run measures the API
without generating again. Then it times `GET /api/cases/` through Django's whole stack (DRF's APIClient
with a token, so middleware, authentication, the selector, pagination and serialisation all count) as a
facilitator of several forums and as an administrator, without a filter and with ?state=, ?dispute_type=,
?q= (a word, and a reference): --requests timed requests each after one warm-up, reported as p50/p95/max.
--explain prints EXPLAIN (ANALYZE, BUFFERS) of every query the slowest request of each case ran when the
request took more than --explain-over milliseconds.

Other processes on the machine skew the figures: run it on a quiet one, and more than once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import add_arguments, api_client, bench_users, percentile, prepare, timed  # noqa: E402


def explain(path: str, client, threshold_ms: float) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
    if elapsed < threshold_ms:
        return
    print(f"\n--- {path}: {elapsed:.0f} ms, {len(captured.captured_queries)} queries")
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or "cases_case" not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n{sql}\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--requests", type=int, default=50, help="Timed requests per case (default 50).")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the queries of slow requests.")
    parser.add_argument("--explain-over", type=float, default=100.0, help="Milliseconds (default 100).")
    args = parser.parse_args()

    prepare(args)

    from cases.models import Case

    facilitator, admin, busiest = bench_users()
    cases = Case.objects.count()
    visible = Case.objects.filter(forum__in=busiest).count()
    reference = Case.objects.filter(forum__in=busiest).order_by("id").values_list("reference", flat=True)[visible // 2]
    queries = [
        ("no filter", ""),
        ("?state=hearings", "?state=hearings"),
        ("?dispute_type=killing", "?dispute_type=killing"),
        ("?q=irrigation (a word)", "?q=irrigation"),
        (f"?q={reference}", f"?q={reference}"),
        ("?page=20", "?page=20"),
    ]
    print(
        f"\nGET /api/cases/ ({args.requests} requests each after a warm-up; facilitator of {len(busiest)} forums "
        f"seeing {visible:,} cases, administrator seeing all {cases:,})"
    )
    print(f"{'who':<12} {'query':<28} {'count':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for who, user in (("facilitator", facilitator), ("admin", admin)):
        client = api_client(user)
        for label, query in queries:
            times, body = timed(client, f"/api/cases/{query}", args.requests)
            print(
                f"{who:<12} {label:<28} {body.get('count', 0):>9,} {percentile(times, 0.5):>8.1f} "
                f"{percentile(times, 0.95):>8.1f} {max(times):>8.1f}"
            )
            if args.explain:
                explain(f"/api/cases/{query}", client, args.explain_over)


if __name__ == "__main__":
    main()
