"""`manage.py import_register PATH --forum ID [--dry-run] [--language LANG]`: a forum's paper register in (the
contract's command, CONTRACT.md section 2). Every row is checked first; the bad ones are listed with their line
and reason in the chosen language; without --dry-run the good rows become cases (cases.services.registers). The
last line is always `N imported, M already there, K rejected`."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from cases import registers, services
from cases.models import Forum


class Command(BaseCommand):
    help = (
        "Bring a forum's paper register in from CSV (UTF-8, header row) or XLSX. Every row is checked first; "
        "--dry-run writes nothing. Idempotent on the register number."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The register: a .csv (UTF-8) or .xlsx file.")
        parser.add_argument("--forum", required=True, type=int, help="The forum's id.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and write nothing.")
        parser.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help="The language of the problems listed (default: LANGUAGE_CODE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"]):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        try:
            forum = Forum.objects.get(pk=options["forum"])
        except Forum.DoesNotExist:
            raise CommandError(_("No forum has the id %(id)s.") % {"id": options["forum"]}) from None
        path = Path(options["path"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("The file %(path)s cannot be read: %(error)s") % {"path": path, "error": exc.strerror}
            ) from None
        try:
            checked = registers.check_register(forum_kind=forum.kind, data=data)
        except registers.RegisterUnreadable as exc:
            raise CommandError(exc.detail) from None
        for problem in checked.problems:
            self.stdout.write(_("Line %(line)s: %(problem)s") % {"line": problem.line, "problem": problem.message})
        if options["dry_run"]:
            preview = services.register_preview(user=None, forum=forum, rows=checked.rows)
            self.stdout.write(
                _("Dry run, nothing written: %(count)s rows would be imported.") % {"count": preview.imported}
            )
            imported, already = 0, preview.already
        else:
            result = services.register_import(user=None, forum=forum, rows=checked.rows)
            imported, already = result.imported, result.already
        # The contract's last line, in English whatever the language: scripts read it.
        self.stdout.write(f"{imported} imported, {already} already there, {checked.rejected} rejected")
