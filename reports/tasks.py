"""Celery tasks of the reports app: thin doors that take ids (or nothing), call the summary's code, and are
safe to run twice."""

from celery import Task, shared_task

from . import pattern_report, patterns


# The name is the one beat schedules (config.settings) and queued messages already use: it stays.
@shared_task(
    name="cases.summarise_patterns",
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def summarise_patterns(self: Task, full: bool = False) -> patterns.Summary:
    """Beat runs this nightly, and administrators queue it (POST /api/reports/patterns/refresh/): fold the new
    events into the regulator summary. Each chunk commits with the watermark, so a run killed half-way and
    given back to the queue (acks_late) carries on where it stopped and counts nothing twice."""

    def report(fraction: float) -> None:
        self.update_state(state="PROGRESS", meta={"progress": round(fraction, 4)})

    result = patterns.summarise(full=full, progress=report)
    # The reports' protected cells are worked out once per summary: here, rather than in a regulator's request,
    # and written as rows for the usual periods and every grouping (the patterns API reads them).
    pattern_report.prepare()
    pattern_report.cells_warm()
    return result
