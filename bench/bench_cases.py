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
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def database_ensure(url: str) -> None:
    """CREATE DATABASE when the one in the URL does not exist yet."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or not name:
        sys.exit("DATABASE_URL must name a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/sulh_bench")
    admin_url = parts._replace(path="/postgres").geturl().replace("pgsql://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.")


def progress(done: int, total: int, report) -> None:
    sys.stderr.write(f"\r  {done:,}/{total:,} cases  {report.cases_per_second:,.0f} cases/s")
    if done >= total:
        sys.stderr.write("\n")


def timed(client, path: str, count: int) -> tuple[list[float], dict]:
    client.get(path)  # Warm-up: caches, plans, the connection.
    times, body = [], {}
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        body = response.json()
    return times, body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


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
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=50, help="Timed requests per case (default 50).")
    parser.add_argument("--reuse", action="store_true", help="Only add the cases missing up to --cases.")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the queries of slow requests.")
    parser.add_argument("--explain-over", type=float, default=100.0, help="Milliseconds (default 100).")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own (see the docstring).")
    database_ensure(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from cases import services, synthetic
    from cases.models import Case, CaseEvent, Forum, Membership
    from cases.roles import ADMINISTRATOR

    settings.DEBUG = False  # No query log growing over thousands of requests.
    call_command("migrate", verbosity=0)

    existing = Case.objects.count()
    to_add = max(0, args.cases - existing) if args.reuse else args.cases
    if to_add:
        print(f"Generating {to_add:,} cases (seed {args.seed}, batches of {args.batch}, {args.writers} writers) …")
        report = synthetic.generate(
            cases=to_add, seed=args.seed, batch=args.batch, writers=args.writers, progress=progress
        )
        print(
            f"generate_synthetic: {report.cases:,} cases, {report.events:,} events in {report.seconds:.1f} s: "
            f"{report.cases_per_second:,.0f} cases/s, {report.events_per_second:,.0f} events/s"
        )
    with connection.cursor() as cursor:
        # What autovacuum does a little after a load: statistics, and the visibility map that lets a COUNT
        # use an index-only scan.
        cursor.execute("VACUUM (ANALYZE)")
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    print(f"Database: {cases:,} cases, {events:,} events.")

    # A facilitator of the four busiest forums, and an administrator.
    facilitator = services.user_ensure(username="bench-facilitator", password="bench-password-1")
    forums = list(Forum.objects.filter(cases__isnull=False).distinct().order_by("name"))
    busiest = sorted(forums, key=lambda f: f.cases.count(), reverse=True)[:4]
    for forum in busiest:
        services.membership_grant(user=facilitator, forum=forum, role=Membership.Role.FACILITATOR)
    admin = services.user_ensure(username="bench-admin", password="bench-password-1")
    services.role_grant(user=admin, role=ADMINISTRATOR)
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
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {services.token_issue(user=user).key}")
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
