from django.core.management.base import BaseCommand

from devdata import demo


class Command(BaseCommand):
    help = "Create the demo regions, forums and users. Safe to run again: it only resets the passwords."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=demo.DEFAULT_PASSWORD, help="Password for every demo user.")

    def handle(self, *args, password: str, **options):
        logins = demo.seed(password=password)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at /login/ with:"))
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {password:<18} {login.role}")
