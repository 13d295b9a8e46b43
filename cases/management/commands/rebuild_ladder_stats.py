import time

from django.core.management.base import BaseCommand

from cases import ladder_stats
from cases.models import LadderStat


class Command(BaseCommand):
    help = "Recount the escalation statistics' running totals from the cases and their timelines."

    def handle(self, *args, **options):
        started = time.perf_counter()
        ladder_stats.rebuild()
        self.stdout.write(
            f"Escalation totals recounted: {LadderStat.objects.count():,} rows "
            f"in {time.perf_counter() - started:.1f} s."
        )
