"""Celery tasks: thin doors that take ids (or nothing), call one service, and are safe to run twice."""

from celery import shared_task

from . import services


@shared_task(
    name="cases.review_reminders", acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5
)
def review_reminders() -> int:
    """Beat runs this hourly: ask facilitators whether cases past their review date can step down."""
    return services.reminders_create_for_due_reviews()


@shared_task(name="cases.due_items", acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def due_items() -> dict:
    """Beat runs this hourly: what monitors should do this week (checks due, instalments, truces)."""
    return services.due_items_refresh()
