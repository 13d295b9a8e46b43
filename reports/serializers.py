"""Serializers of the reports' API: the query parameters each report takes."""

from datetime import date
from typing import Any

from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.errors import SulhError

from . import selectors


class UnknownRegion(SulhError):
    code = "unknown_region"


def check_region(code: str | None, *, districts_only: bool) -> None:
    """A region code the reports do not know is refused with the codes they know (400 `unknown_region`): a typo
    would otherwise answer zeros, as if nothing had happened there."""
    if not code:
        return
    known = selectors.region_choices(districts_only=districts_only)
    if any(known_code == code for known_code, _name in known):
        return
    detail = gettext_now("Unknown region code “%(code)s”. Known codes: %(codes)s.") % {
        "code": code,
        "codes": ", ".join(f"{known_code} ({name})" for known_code, name in known),
    }
    raise UnknownRegion(detail, fields={"region": [detail]})


class EscalationReportQuerySerializer(serializers.Serializer[Any]):
    forum = serializers.IntegerField(min_value=1, required=False)
    region = serializers.SlugField(max_length=40, required=False, allow_blank=True)
    to = serializers.DateField(required=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # "from" is a Python keyword.
        return fields

    def validate_region(self, value: str) -> str:
        check_region(value, districts_only=False)  # A province or a district.
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": [_("The period starts after it ends.")]})
        return attrs


class EarlyWarningQuerySerializer(serializers.Serializer[Any]):
    week = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_week(self, value: date | None) -> date | None:
        # The warning compares with the 52 weeks before: a date whose year has no year before it overflows.
        if value is not None and not date(1900, 1, 1) <= value <= date(9998, 12, 31):
            raise serializers.ValidationError(_("A date between 1900 and 9998."))
        return value

    region = serializers.SlugField(max_length=40, required=False, allow_null=True, default=None)

    def validate_region(self, value: str | None) -> str | None:
        check_region(value, districts_only=True)
        return value
