"""`manage.py summarise_patterns [--full]`: the regulator summary now, in the foreground (the contract's command)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports import pattern_report, patterns


class Command(BaseCommand):
    help = (
        "Fold the cases' new timeline events into the regulator summary now, in the foreground, with the same "
        "code as the nightly Celery task. Incremental unless --full."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Empty the summary tables and fold every event again.")

    def handle(self, *args: Any, **options: Any) -> None:
        full: bool = options["full"]

        def progress(fraction: float) -> None:
            self.stderr.write(f"\r  {fraction:6.1%}", ending="")

        figures = patterns.summarise(full=full, progress=progress if options["verbosity"] > 0 else None)
        if figures["chunks"] and options["verbosity"] > 0:
            self.stderr.write("")
        self.stdout.write(
            f"{'Full' if full else 'Incremental'} summary: {figures['events']:,} events folded in "
            f"{figures['chunks']:,} chunks, {figures['seconds']:.1f} s; watermark at event {figures['last_event_id']:,}."
        )
        # As the task does: the reports' cells for the usual periods, prepared for the summary as it now stands.
        prepared = pattern_report.prepare()
        if prepared["prepared"] and options["verbosity"] > 0:
            self.stdout.write(
                f"Report cells prepared: {prepared['cells']:,} cells of {prepared['periods']:,} periods, "
                f"{prepared['seconds']:.1f} s."
            )
