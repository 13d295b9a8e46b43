"""Benchmark: what encryption at rest (config/crypto.py) costs `generate_synthetic` and the case list.

Usage (from the repository's root; PostgreSQL only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench_enc .venv/bin/python bench/bench_encryption.py --cases 100000

It runs the same measurement twice, each in a fresh process on a database of its own: with encryption on (the
default; database `<name>_on`) and with `SULH_ENCRYPTION=off` (database `<name>_off`), the switch that makes
the encrypted fields store plain text — for this comparison only, `check --deploy` refuses it. Each run creates
and migrates its database (never name the one your app uses), adds --cases synthetic cases (seed --seed) and
reports cases/s, then times through Django's whole stack, as a facilitator of the four busiest forums:
`GET /api/cases/` without a filter, with `?q=` a party's whole name (the keyed hash lookup), with `?q=` a word of
the titles and `?page=20`; `GET /api/cases/{id}/` (parties and summary decrypted); and the case list page
`/cases/` (HTML): --requests timed requests each after one warm-up, p50/p95. The two runs are printed side by
side. With --reuse each run adds only the cases missing up to --cases (the generator's figure is then that of
the cases added). It also prints the CPU time of each run's own process while it migrated and generated (the
Python side: drafting, formatting, encrypting), steadier than the wall clock on a busy machine. Other processes on the machine skew the figures: run it on a quiet one, and more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import add_arguments, api_client, bench_users, percentile, prepare, timed  # noqa: E402

MARK = "BENCH-RESULT "


def measure(args) -> dict:
    """One run, in this process, with the encryption this process's settings give."""
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    prepare(args)
    prepared = time.perf_counter() - started
    # The process's own CPU time (drafting, formatting, encrypting; not PostgreSQL's): steadier than the wall
    # clock on a busy machine.
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)

    from django.conf import settings
    from django.test import Client

    from cases.models import Case, Party

    facilitator, _admin, busiest = bench_users()
    visible = Case.objects.filter(forum__in=busiest)
    some = visible.order_by("id")[visible.count() // 2]
    name = Party.objects.filter(case_roles__case=some, case_roles__role="first_party").values_list("name", flat=True)[0]
    client = api_client(facilitator)
    rows: dict[str, dict] = {}
    for label, path in (
        ("list, no filter", "/api/cases/"),
        ("list ?q=<party name>", f"/api/cases/?q={name}"),
        ("list ?q=<title word>", "/api/cases/?q=irrigation"),
        ("list ?page=20", "/api/cases/?page=20"),
        ("case detail", f"/api/cases/{some.pk}/"),
    ):
        times, body = timed(client, path, args.requests)
        rows[label] = {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "count": body.get("count")}
    page = Client()
    page.force_login(facilitator)
    page.get("/cases/")
    times = []
    for _ in range(args.requests):
        t0 = time.perf_counter()
        response = page.get("/cases/")
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            sys.exit(f"GET /cases/ answered {response.status_code}")
    rows["list page (HTML)"] = {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "count": None}
    return {
        "encryption": bool(settings.SULH_ENCRYPTION),
        "prepare_seconds": prepared,
        "cpu_seconds": cpu_seconds,
        "cases": Case.objects.count(),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per row (default 30).")
    parser.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = measure(args)
        print(MARK + json.dumps(result), flush=True)
        return

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own (see the docstring).")
    parts = urlparse(url)
    results, generated = {}, {}
    for mode in ("on", "off"):
        env = dict(os.environ)
        env["DATABASE_URL"] = parts._replace(path=f"{parts.path}_{mode}").geturl()
        env["SULH_ENCRYPTION"] = mode
        print(f"\n=== SULH_ENCRYPTION={mode} ({env['DATABASE_URL']})", flush=True)
        command = [sys.executable, __file__, "--child", mode, *sys.argv[1:]]
        output = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
        for line in output.splitlines():
            if line.startswith(MARK):
                results[mode] = json.loads(line[len(MARK) :])
            else:
                print(line)
                if line.startswith("generate_synthetic:"):
                    generated[mode] = line.partition(":")[2].strip()
    on, off = results["on"], results["off"]
    print(f"\nEncryption on vs off at {on['cases']:,} cases ({args.requests} requests each, ms):")
    print(f"{'':<24} {'on p50':>8} {'off p50':>8} {'on p95':>8} {'off p95':>8}")
    for label in on["rows"]:
        a, b = on["rows"][label], off["rows"][label]
        print(f"{label:<24} {a['p50']:>8.1f} {b['p50']:>8.1f} {a['p95']:>8.1f} {b['p95']:>8.1f}")
    for mode in ("on", "off"):
        print(f"generate_synthetic, encryption {mode}: {generated.get(mode, 'nothing generated (--reuse)')}")
    print(
        f"CPU seconds of the benchmark process while migrating and generating: on {on['cpu_seconds']:.1f}, "
        f"off {off['cpu_seconds']:.1f}"
    )


if __name__ == "__main__":
    main()
