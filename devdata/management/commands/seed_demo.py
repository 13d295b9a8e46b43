"""`python manage.py seed_demo [--password P]` (CONTRACT.md section 2)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from devdata import demo, synthetic
from devdata.summary import summary_compute


class Command(BaseCommand):
    help = (
        "Create the demo regions, forums, users and cases. Safe to run again: it adds nothing, and changes no "
        "existing user's password unless --password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=None,
            help="Set every demo user's password to this, existing users included (new ones get the demo default).",
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="N",
            help=(
                "The first time only (no synthetic history here yet): add N synthetic cases over the last three "
                "years in the demo's districts and a few more, so the statistics and the regulator's pages show "
                "published figures. `make run` passes 3000."
            ),
        )

    def handle(self, *args, password: str | None, history: int = 0, **options):
        if not settings.DEMO_DATA_ALLOWED:
            # Production never seeds, and never with a published demo password (CONTRACT.md section 2).
            if password is None:
                self.stdout.write("Production settings (DJANGO_DEBUG=0): the demo data is not loaded.")
                return
            if password == demo.DEFAULT_PASSWORD:
                raise CommandError("With DJANGO_DEBUG=0 the demo users need a password of your own, not the demo's.")
        try:
            # Every new or reset password goes through AUTH_PASSWORD_VALIDATORS (accounts.services.user_ensure).
            logins = demo.seed(password=password or demo.DEFAULT_PASSWORD, reset_passwords=password is not None)
        except ValidationError as exc:
            raise CommandError("The password was refused: " + " ".join(exc.messages)) from None
        published = set(demo.users_with_the_published_password())
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at /login/ with:"))
        for login in logins:
            if password is not None:
                shown = password
            elif login.username in published:
                shown = demo.DEFAULT_PASSWORD
            else:
                shown = "(your own password)"
            self.stdout.write(f"  {login.username:<12} {shown:<20} {login.role}")
        if history < 0:
            raise CommandError("--history takes a number of cases, 0 or more.")
        if history and not synthetic.history_present():
            report = synthetic.generate(cases=history)
            self.stdout.write(
                f"Added a synthetic history of {report.cases:,} cases over three years ({report.seconds:.1f} s)."
            )
        # The regulator's dashboard shows the demo's figures from the first start (incremental: a second run folds
        # nothing new).
        figures = summary_compute()
        self.stdout.write(f"Regulator summary computed ({figures['events']:,} new events folded).")
