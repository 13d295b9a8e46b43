"""Writes of the reports app: queuing the regulator summary on the Celery worker."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from config.celery import app as celery_app

# The summary task's registered name (reports.tasks). Queuing looks the task up by it in the registry of Sulh's own
# Celery app (not `current_app`, which is whichever app was made last) rather than importing the task module: a
# service never imports a door. The registered task object still runs at once in the embedded mode
# (task_always_eager), which sending by name alone would skip.
SUMMARY_TASK = "cases.summarise_patterns"


def summary_refresh_queue(*, full: bool = False) -> str:
    """Queue the summary on the Celery worker once the caller's transaction commits; returns the task's id,
    which /api/reports/tasks/{id}/ follows. The task takes no names and no ids of anything: only `full`."""
    task_id = str(uuid.uuid4())
    transaction.on_commit(
        lambda: celery_app.tasks[SUMMARY_TASK].apply_async(
            kwargs={"full": full}, task_id=task_id, queue=settings.PATTERNS_QUEUE
        )
    )
    return task_id
