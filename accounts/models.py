"""Accounts' own tables: API tokens, stored as hashes only, and what a person says of themselves (Profile).

A token is `<prefix>.<secret>`; the database keeps the short prefix (to show the owner which token is which) and
the SHA-256 of the whole key. A dump of the table opens nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12)
    digest = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    expires = models.DateTimeField(_("expires"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]
        indexes = [models.Index(fields=["user", "revoked"], name="apitoken_user_live")]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_live(self) -> bool:
        return self.revoked is None and self.expires > timezone.now()


class Gender(models.TextChoices):
    """Self-declared and optional (blank: not said). Counted only for women's participation in the regulator's
    patterns, with the same disclosure control as every other count. Parties and session participants carry it
    too (cases.models, deliberation.models)."""

    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    OTHER = "other", _("Another gender")


def gender_field() -> models.CharField[str, str]:
    """The optional, self-declared gender, as every model that records one declares it."""
    return models.CharField(
        _("gender (self-declared, optional)"), max_length=8, choices=Gender.choices, blank=True, default=""
    )


def gender_choices() -> list[tuple[str, Any]]:
    """A form's choices: not said first, then the genders."""
    return [("", _("Not said")), *Gender.choices]


class Profile(models.Model):
    """What a user says of themselves: their gender, optional, which a session they attend as staff (facilitator,
    member, monitor) counts without their name. Invited guests say it with their invitation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    gender = gender_field()

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
