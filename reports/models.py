"""The regulator's patterns as the reports serve them, prepared when the summary runs (reports.pattern_report
writes and reads them): for the usual periods — all time, each year, quarter and month — and every grouping
the patterns API offers, the protected cells, small counts already hidden and medians worked out. Rows of
anonymised counts only, as cases.models' PatternMonth: no names, no ids of people or cases."""

from django.db import models
from django.utils import timezone


class PatternSet(models.Model):
    """One preparation of the patterns, for the summary as it stood (PatternState's last_event_id and
    updated_at) and the counts of the release that prepared it: readers use it only while both are still
    exactly that, else they work the cells out as before. `ready` once every cell is written; older sets are then deleted."""

    last_event_id = models.BigIntegerField()
    summary_at = models.DateTimeField(null=True)
    version = models.CharField(max_length=16)  # pattern_report.CACHE_VERSION: the counts a cell holds.
    periods = models.JSONField(default=list)  # The period keys prepared (pattern_report.period_key).
    ready = models.BooleanField(default=False)
    prepared_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(default=0)


class PatternCell(models.Model):
    """A protected cell of one period at one grouping: its keys (empty when not in the grouping) and its figures
    as the API answers them, in compact JSON (the counts, null when hidden, the median, rates, `suppressed`)."""

    pattern_set = models.ForeignKey(PatternSet, on_delete=models.CASCADE, related_name="+", db_index=False)
    period = models.CharField(max_length=16)  # "2025-01..2025-03"; ".." for all time.
    grouping = models.CharField(max_length=40)  # The dimensions, comma-separated, in DIMENSIONS' order.
    region = models.CharField(max_length=40, default="")
    forum_kind = models.CharField(max_length=12, default="")
    dispute_type = models.CharField(max_length=16, default="")
    month = models.CharField(max_length=7, default="")  # YYYY-MM
    body = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["pattern_set", "period", "grouping"], name="pattern_cell_lookup")]
