from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases and forums")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import guardrails, signals  # noqa: F401
