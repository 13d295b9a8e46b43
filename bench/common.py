"""What the benchmarks share: their database, a progress line, timed requests and percentiles."""

from __future__ import annotations

import sys
import time
from urllib.parse import urlparse


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


def add_arguments(parser) -> None:
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="Only add the cases missing up to --cases.")


def prepare(args) -> None:
    """Set Django up on the benchmark's own database (DATABASE_URL), migrate it, add the synthetic cases
    asked for, and VACUUM ANALYZE it, printing what generating cost and what the database holds."""
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own (see the docstring).")
    database_ensure(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from cases.models import Case, CaseEvent
    from devdata import synthetic

    settings.DEBUG = False  # No query log growing over thousands of requests.
    call_command("migrate", verbosity=0)
    existing = Case.objects.count()
    to_add = max(0, args.cases - existing) if args.reuse else args.cases
    if to_add:
        print(f"Generating {to_add:,} cases (seed {args.seed}, batches of {args.batch}, {args.writers} writers) …")
        report = synthetic.generate(
            cases=to_add, seed=args.seed, batch=args.batch, writers=args.writers, progress=progress
        )
        built = (
            "" if report.index_seconds is None else f" (indexes built, tables analysed: {report.index_seconds:.1f} s)"
        )
        print(
            f"generate_synthetic: {report.cases:,} cases, {report.events:,} events in {report.seconds:.1f} s{built}: "
            f"{report.cases_per_second:,.0f} cases/s, {report.events_per_second:,.0f} events/s"
        )
    with connection.cursor() as cursor:
        # What autovacuum does a little after a load: statistics, and the visibility map that lets a COUNT
        # use an index-only scan.
        cursor.execute("VACUUM (ANALYZE)")
    print(f"Database: {Case.objects.count():,} cases, {CaseEvent.objects.count():,} events.")


def bench_users(forums: int = 4):
    """A facilitator of the `forums` busiest forums, and an administrator: (facilitator, admin, forums)."""
    from accounts import services as account_services
    from accounts.roles import ADMINISTRATOR
    from cases import services
    from cases.models import Forum, Membership

    facilitator = account_services.user_ensure(username="bench-facilitator", password="bench-password-1")
    candidates = list(Forum.objects.filter(cases__isnull=False).distinct().order_by("name"))
    busiest = sorted(candidates, key=lambda f: f.cases.count(), reverse=True)[:forums]
    for forum in busiest:
        services.membership_grant(user=facilitator, forum=forum, role=Membership.Role.FACILITATOR)
    admin = account_services.user_ensure(username="bench-admin", password="bench-password-1")
    account_services.role_grant(user=admin, role=ADMINISTRATOR)
    return facilitator, admin, busiest


def api_client(user):
    """DRF's test client with the user's API token: the whole stack, as a real client goes through it."""
    from rest_framework.test import APIClient

    from accounts import services as account_services

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")
    return client
