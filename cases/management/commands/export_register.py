"""`manage.py export_register --forum ID PATH`: a forum's cases as a register, in the format import_register reads
(CSV, or XLSX when PATH ends in .xlsx). An export imported into another forum gives the same cases."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import registers
from cases.models import Forum


class Command(BaseCommand):
    help = "Write a forum's cases out as a register (CSV, or XLSX when PATH ends in .xlsx) that import_register reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Where to write: a .csv or .xlsx file.")
        parser.add_argument("--forum", required=True, type=int, help="The forum's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            forum = Forum.objects.get(pk=options["forum"])
        except Forum.DoesNotExist:
            raise CommandError(f"No forum has the id {options['forum']}.") from None
        path = Path(options["path"])
        rows = registers.export_rows(forum=forum)
        try:
            if path.suffix.lower() == ".xlsx":
                with path.open("wb") as stream:
                    count = registers.write_xlsx(rows, stream)
            else:
                with path.open("w", encoding="utf-8", newline="") as text:
                    count = registers.write_csv(rows, text)
        except OSError as exc:
            raise CommandError(f"{path} cannot be written: {exc.strerror}") from None
        self.stdout.write(f"{count} cases written to {path}")
