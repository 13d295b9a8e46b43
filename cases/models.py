"""Forums, their people and their escalation ladders."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A province, or a district within one."""

    class Kind(models.TextChoices):
        PROVINCE = "province", _("Province")
        DISTRICT = "district", _("District")

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("province"), null=True, blank=True, on_delete=models.PROTECT, related_name="districts"
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]
        constraints = [
            # A district sits in a province; a province sits in nothing.
            models.CheckConstraint(
                condition=(
                    models.Q(kind="province", parent__isnull=True) | models.Q(kind="district", parent__isnull=False)
                ),
                name="region_district_has_province",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ladder(models.Model):
    """An escalation ladder: the responsive-regulation pyramid, rung 1 at the base."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    review_days = models.PositiveSmallIntegerField(
        _("review after (days)"), default=30, help_text=_("Every move sets a review date this many days ahead.")
    )

    class Meta:
        verbose_name = _("escalation ladder")
        verbose_name_plural = _("escalation ladders")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rung(models.Model):
    ladder = models.ForeignKey(Ladder, verbose_name=_("ladder"), on_delete=models.CASCADE, related_name="rungs")
    level = models.PositiveSmallIntegerField(_("level"), help_text=_("1 is the base of the pyramid."))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("rung")
        verbose_name_plural = _("rungs")
        ordering = ["ladder", "level"]
        constraints = [
            models.UniqueConstraint(fields=["ladder", "level"], name="rung_level_unique_per_ladder"),
            models.UniqueConstraint(fields=["ladder", "code"], name="rung_code_unique_per_ladder"),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="rung_level_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.level}. {self.name}"


class Forum(models.Model):
    class Kind(models.TextChoices):
        JIRGA = "jirga", _("Jirga / shura")
        MUSLAHATHI = "muslahathi", _("Muslahathi committee / police DRC")
        SULHA = "sulha", _("Sulha")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="forums")
    ladder = models.ForeignKey(
        Ladder, verbose_name=_("escalation ladder"), on_delete=models.PROTECT, related_name="forums"
    )
    is_active = models.BooleanField(_("active"), default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="forums", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["jirga", "muslahathi", "sulha"]), name="forum_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one forum. A user may hold both roles in the same forum."""

    class Role(models.TextChoices):
        FACILITATOR = "facilitator", _("Facilitator")
        MONITOR = "monitor", _("Monitor")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    forum = models.ForeignKey(Forum, verbose_name=_("forum"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "forum", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["facilitator", "monitor"]), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.forum} · {self.get_role_display()}"
