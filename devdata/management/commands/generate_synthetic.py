import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from devdata import synthetic
from devdata.summary import summary_compute


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--until takes a day as YYYY-MM-DD, not {value!r}.") from None


class ProgressBar:
    """A one-line bar on stderr, redrawn after each batch (no dependency, fine in a log file too)."""

    width = 30

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, done: int, total: int, report: synthetic.Report) -> None:
        if report.stage == "indexes":
            self.stream.write("Building the indexes of a first load and analysing the tables …\n")
            self.stream.flush()
            return
        filled = self.width * done // total if total else self.width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,} cases"
            f"  {report.cases_per_second:,.0f} cases/s  {report.events_per_second:,.0f} events/s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Add N realistic synthetic cases with their whole histories, spread over regions, forums, dispute types "
        "and the last three years. The same seed on the same database gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="How many cases to add.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random stream (default 1).")
        parser.add_argument("--batch", type=int, default=5000, help="Cases per transaction (default 5000).")
        parser.add_argument(
            "--writers",
            type=int,
            default=2,
            help="PostgreSQL: threads writing batches while the next ones are drafted (default 2).",
        )
        parser.add_argument(
            "--until",
            type=_day,
            default=None,
            help="The day (YYYY-MM-DD, midnight UTC) the three years end; default today. Pin it to reproduce data.",
        )
        parser.add_argument(
            "--no-summary",
            action="store_true",
            help="Do not compute the regulator summary afterwards (summarise_patterns does it later).",
        )

    def handle(
        self,
        *args,
        cases: int,
        seed: int,
        batch: int,
        writers: int,
        until: datetime | None,
        no_summary: bool = False,
        **options,
    ):
        if cases < 1 or batch < 1 or writers < 1:
            raise CommandError("--cases, --batch and --writers must be at least 1.")
        try:
            report = synthetic.generate(
                cases=cases, seed=seed, batch=batch, writers=writers, until=until, progress=ProgressBar(sys.stderr)
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        built = (
            ""
            if report.index_seconds is None
            else f" (indexes built and tables analysed: {report.index_seconds:.1f} s)"
        )
        self.stdout.write(
            f"Added {report.cases:,} cases and {report.events:,} events in {report.seconds:.1f} s{built}: "
            f"{report.cases_per_second:,.0f} cases/s, {report.events_per_second:,.0f} events/s."
        )
        if not no_summary:
            figures = summary_compute()
            self.stdout.write(
                f"Regulator summary computed: {figures['events']:,} events folded in {figures['seconds']:.1f} s."
            )
