from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports for administrators and regulators")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process, web included: reports.services queues the summary by its
        # registered name (celery's autodiscovery alone imports tasks modules only in a worker).
        from . import tasks  # noqa: F401
