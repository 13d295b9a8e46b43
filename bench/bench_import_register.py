"""Benchmark: `import_register` on a 5,000-row paper register — the dry run, the import, the re-import that adds
nothing, the regulator summary that then counts the imported years, and the export.

Usage (from the repository's root; PostgreSQL only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_bench .venv/bin/python bench/bench_import_register.py

It creates the database named in DATABASE_URL if it does not exist (name a database of its own), migrates it,
adds a jirga forum of its own for each run, and writes a register of --rows rows (deterministic for --seed:
cases opened over the last three years in every state of the jirga's workflow, ended ones closed, withdrawn or
referred), with about --bad of them broken in the ways a typed register breaks (a date in the future, an unknown
dispute type, a closed case without outcome, a non-compoundable offence in hearings, a register number used
twice, an empty party, a closing date before the opening). Each step runs the command itself (call_command), as
an operator would, and prints its wall time and the command's last line.

Other processes on the machine skew the figures: run it on a quiet one, and more than once.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import database_ensure  # noqa: E402

FAMILIES = ["Afridi", "Shinwari", "Yousafzai", "Khattak", "Mohmand", "Orakzai", "Bangash", "Wazir", "خان", "آفریدی"]
HEADS = ["Gul Zaman", "Sher Ali", "Wali Khan", "Noor Muhammad", "Abdul Rahim", "Fazal Haq", "گل زمان", "شیر علی"]
VILLAGES = ["Badaber", "Mattani", "Bara", "Landi Kotal", "Jamrud", "متنی"]
SUBJECTS = {
    "land": "Boundary of the orchard",
    "water": "Turns on the irrigation channel",
    "property": "A shop's rent",
    "debt": "An unpaid loan",
    "family": "Inheritance of a house",
    "injury": "A fight at the market",
    "theft": "Stolen goats",
    "tribal": "Grazing rights between two villages",
}
STATES = ["intake", "mandate", "hearings", "legality_review", "decision", "implementation"]


def register(rows: int, seed: int, bad_share: float, today: date) -> tuple[str, int]:
    """The register as CSV text, and how many of its rows are broken."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["register_no", "opened", "title", "dispute_type", "offence_class", "first_party",
                     "second_party", "state", "outcome", "closed", "risk_level", "victim"])  # fmt: skip
    broken = 0
    previous = ""
    for n in range(1, rows + 1):
        dispute = rng.choice(list(SUBJECTS))
        opened = today - timedelta(days=rng.randrange(30, 3 * 365))
        offence = "civil" if dispute in ("land", "water", "property", "debt", "family") else "compoundable"

        def party() -> str:
            return f"{rng.choice(FAMILIES)} family of {rng.choice(HEADS)}, {rng.choice(VILLAGES)}"

        row = {
            "register_no": f"{opened.year}/{n:05d}",
            "opened": opened.isoformat(),
            "title": f"{SUBJECTS[dispute]} ({rng.choice(VILLAGES)})",
            "dispute_type": dispute,
            "offence_class": offence,
            "first_party": party(),
            "second_party": party(),
            "state": "",
            "outcome": "",
            "closed": "",
            "risk_level": rng.choice(["low", "medium", "medium", "high"]),
            "victim": party() if dispute == "injury" else "",
        }
        ended_on = opened + timedelta(days=rng.randrange(5, 400))
        # A case that would end after yesterday is still open: a register's closing dates are in the past.
        if rng.random() < 0.7 and ended_on < today:
            row["state"] = rng.choices(["closed", "withdrawn", "referred"], [8, 1, 1])[0]
            row["closed"] = ended_on.isoformat()
            if row["state"] == "closed":
                row["outcome"] = rng.choices(["resolved", "partly_resolved", "breakdown"], [6, 2, 1])[0]
        else:
            row["state"] = rng.choice(STATES)
        if rng.random() < bad_share:
            broken += 1
            flaw = n % 7
            if flaw == 0:
                row["opened"] = (today + timedelta(days=10)).isoformat()
            elif flaw == 1:
                row["dispute_type"] = "goats"
            elif flaw == 2:
                row.update(state="closed", outcome="", closed=row["closed"] or row["opened"])
            elif flaw == 3:
                row.update(offence_class="non_compoundable", state="hearings", outcome="", closed="")
            elif flaw == 4:
                row["register_no"] = previous or "x" * 41
            elif flaw == 5:
                row["second_party"] = ""
            else:
                row.update(state="withdrawn", outcome="", closed=(opened - timedelta(days=3)).isoformat())
        previous = row["register_no"]
        writer.writerow(row.values())
    return out.getvalue(), broken


def timed_command(name: str, *args: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return time.perf_counter() - started, out.getvalue().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad", type=float, default=0.02, help="The share of broken rows (default 0.02).")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own (see the docstring).")
    database_ensure(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count, Sum
    from django.utils import timezone

    from cases.models import Case, Forum, PatternMonth

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    runs = Forum.objects.filter(name__startswith="Register bench ").count()
    forum = _forum(runs + 1)
    today = timezone.localdate()
    text, broken = register(args.rows, args.seed, args.bad, today)
    folder = Path(tempfile.mkdtemp(prefix="sulh-register-bench-"))
    path = folder / "register.csv"
    path.write_text(text, encoding="utf-8")
    print(f"Register: {args.rows:,} rows ({broken} broken on purpose, seed {args.seed}), {len(text) / 1e6:.2f} MB")
    print(f"Forum: {forum.name} (id {forum.pk}); the database holds {Case.objects.count():,} cases before.")

    steps = [
        ("dry run", ("import_register", str(path), "--forum", str(forum.pk), "--dry-run")),
        ("import", ("import_register", str(path), "--forum", str(forum.pk))),
        ("re-import", ("import_register", str(path), "--forum", str(forum.pk))),
        ("summarise_patterns --full", ("summarise_patterns", "--full")),
        ("export (csv)", ("export_register", "--forum", str(forum.pk), str(folder / "export.csv"))),
        ("export (xlsx)", ("export_register", "--forum", str(forum.pk), str(folder / "export.xlsx"))),
    ]
    for label, command in steps:
        seconds, last = timed_command(*command)
        print(f"  {label:<26} {seconds:7.2f} s   {last}")
    cells = PatternMonth.objects.filter(region=forum.region, forum_kind="jirga")
    years = sorted({cell.month.year for cell in cells.exclude(opened=0)})
    totals = cells.aggregate(opened=Sum("opened"), closed=Sum("closed"), withdrawn=Sum("withdrawn"))
    ended = Case.objects.filter(forum=forum).values("state").annotate(n=Count("id"))
    print(
        f"Patterns of the forum's district: opened in {', '.join(map(str, years))}; {totals['opened']} opened, "
        f"{totals['closed']} closed, {totals['withdrawn']} withdrawn "
        f"(the forum's cases: {Case.objects.filter(forum=forum).count()}, "
        f"{sum(r['n'] for r in ended if r['state'] == 'closed')} closed, "
        f"{sum(r['n'] for r in ended if r['state'] == 'withdrawn')} withdrawn)"
    )
    copy = _forum(runs + 1, suffix=" (xlsx copy)")
    seconds, last = timed_command("import_register", str(folder / "export.xlsx"), "--forum", str(copy.pk))
    print(f"  {'import of the xlsx export':<26} {seconds:7.2f} s   {last}")


def _forum(number: int, suffix: str = ""):
    from cases import services
    from cases.models import Forum, Region

    province, _created = Region.objects.get_or_create(
        code="bench-register-province", defaults={"name": "Register bench province", "kind": "province"}
    )
    district, _created = Region.objects.get_or_create(
        code=f"bench-register-{number}",
        defaults={"name": f"Register bench district {number}", "kind": "district", "parent": province},
    )
    return Forum.objects.create(
        name=f"Register bench {number}{suffix}", kind="jirga", region=district, ladder=services.ladder_default()
    )


if __name__ == "__main__":
    main()
