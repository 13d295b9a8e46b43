"""Forms of the report pages: their filters. They check the shape of what was typed; who may read what
stays the selectors' call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import DisputeType, Forum
from config.errors import SulhError

from . import pattern_report, selectors

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_Choice = tuple[int | str, "StrOrPromise"]


def _with_blank(choices: Iterable[_Choice], label: StrOrPromise) -> list[_Choice]:
    return [("", label), *choices]


class DateInput(forms.DateInput):
    input_type = "date"


# --- The escalation statistics -------------------------------------------------------------------


class EscalationReportFilterForm(forms.Form):
    """The statistics' filters. The forum is a plain number: one outside the user's forums is the
    selector's 404, not a form error. `from` and `to` are the API's names (not Python identifiers, so they
    are added in __init__)."""

    forum = forms.IntegerField(label=_("Forum"), required=False, min_value=1, widget=forms.Select)
    # Chosen from the known provinces and districts (a typed code that matched nothing showed zeros).
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, *args: Any, forums: Iterable[Forum], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["forum"].widget.choices = _with_blank([(f.pk, f.name) for f in forums], _("All forums"))
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)  # Declared above.
        # Blank: every region (a dash, as Django's own lists show "no choice").
        region.choices = _with_blank(selectors.region_choices(), "—")
        self.fields["from"] = forms.DateField(label=_("From"), required=False, widget=DateInput)
        self.fields["to"] = forms.DateField(label=_("To"), required=False, widget=DateInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # forms.Form.clean returns cleaned_data.
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date comes before the start date."))
        return data

    def report_filters(self) -> dict[str, Any]:
        """The valid filters as reports.selectors.escalation_report takes them."""
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {
            "forum": data.get("forum"),
            "region": data.get("region") or None,
            "date_from": data.get("from"),
            "date_to": data.get("to"),
        }


# --- The regulator's pattern report: its filters ------------------------------------------------------


class MonthInput(forms.TextInput):
    """A month picker where the browser has one; elsewhere a text box that asks for YYYY-MM."""

    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"placeholder": _("YYYY-MM"), "inputmode": "numeric", **(attrs or {})})


class PatternReportFilterForm(forms.Form):
    """The pattern report's filters, by the API's names (`from`, `to`, `region`, `forum_kind`,
    `dispute_type`), so that the page's query string is the exports' too. The months are read by
    reports.pattern_report.parse_query, as the API reads them, and its refusal is shown on the field."""

    region = forms.ChoiceField(label=_("District"), required=False)
    forum_kind = forms.ChoiceField(
        label=_("Forum kind"), required=False, choices=_with_blank(Forum.Kind.choices, _("All forum kinds"))
    )
    dispute_type = forms.ChoiceField(
        label=_("Dispute type"), required=False, choices=_with_blank(DisputeType.choices, _("Any dispute type"))
    )

    def __init__(self, *args: Any, regions: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)  # Declared above.
        region.choices = _with_blank(regions, _("All districts"))
        self.fields["from"] = forms.CharField(label=_("From (month)"), required=False, widget=MonthInput)
        self.fields["to"] = forms.CharField(label=_("To (month)"), required=False, widget=MonthInput)
        self.order_fields(["from", "to", "region", "forum_kind", "dispute_type"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # forms.Form.clean returns cleaned_data.
        try:
            parsed = pattern_report.parse_query({"from": data.get("from"), "to": data.get("to")})
        except SulhError as exc:
            for name in exc.fields or [None]:
                self.add_error(name if name in self.fields else None, exc.detail)
            return data
        data["month_from"], data["month_to"] = parsed["month_from"], parsed["month_to"]
        return data

    def report_filters(self) -> dict[str, Any]:
        """The filters as reports.pattern_report.patterns takes them (once the form is valid)."""
        data = self.cleaned_data
        return {
            "month_from": data.get("month_from"),
            "month_to": data.get("month_to"),
            "region": data.get("region") or None,
            "forum_kind": data.get("forum_kind") or None,
            "dispute_type": data.get("dispute_type") or None,
        }

    def query(self) -> str:
        """The valid filters as a query string for the exports (the API takes the same names)."""
        data = self.cleaned_data
        return urlencode(
            [(name, data[name]) for name in ("from", "to", "region", "forum_kind", "dispute_type") if data.get(name)]
        )
