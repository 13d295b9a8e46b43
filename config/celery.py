"""The Celery app. Tasks live in each app's tasks.py; settings come from CELERY_* in settings.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sulh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="sulh.ping", acks_late=True)
def ping() -> str:
    """Liveness: a worker that stopped consuming (celery #9054) does not answer."""
    return "pong"
