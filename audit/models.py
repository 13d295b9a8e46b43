"""The read log: who looked at which case, agreement, transcript, party list or export, when, from where and
through which door. Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE, as for the timeline."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReadRecord(models.Model):
    class Kind(models.TextChoices):
        # The case with its parties' names; on the case page also its timeline and agreement sections.
        CASE = "case", _("Case")
        # One row per list page or list request (no case): lists are not recorded case by case.
        CASE_LIST = "case_list", _("Case list")
        TIMELINE = "timeline", _("Timeline")
        AGREEMENT = "agreement", _("Agreement")
        TRANSCRIPT = "transcript", _("Session transcript")
        PARTY_LIST = "party_list", _("Party list")
        EXPORT = "export", _("Export")
        SETTLEMENT = "settlement", _("Settlement")

    class Door(models.TextChoices):
        PAGE = "page", _("Page")
        API = "api", _("API")
        WEBSOCKET = "websocket", _("Websocket")
        ADMIN = "admin", _("Admin")

    # PROTECT: the log never changes, so a user who read something is deactivated, never deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("user")
    )
    kind = models.CharField(_("what"), max_length=24, choices=Kind.choices)
    # A string reference: the audit app sits below cases and imports none of its code.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        verbose_name=_("case"),
    )  # fmt: skip
    # The id of what was read, in its own table (the agreement, the session of a transcript, …).
    object_id = models.PositiveBigIntegerField(_("object"), null=True, blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    door = models.CharField(_("door"), max_length=12, choices=Door.choices)

    class Meta:
        verbose_name = _("read")
        verbose_name_plural = _("read log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["case", "-at", "-id"], name="read_case_newest"),
            models.Index(fields=["user", "-at", "-id"], name="read_user_newest"),
        ]
        triggers = [
            pgtrigger.Protect(name="read_record_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id or ''} @ {self.at:%Y-%m-%d %H:%M}"
