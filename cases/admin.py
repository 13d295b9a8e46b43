from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from audit.admin import ReadAuditedAdmin

from . import rules as case_rules
from .models import (
    Case,
    CaseEvent,
    ComplianceCheck,
    Forum,
    Ladder,
    Membership,
    ProhibitedPhrase,
    ProhibitedPractice,
    Recurrence,
    Region,
    Rung,
    ScreeningExample,
    Survey,
    TieDeclaration,
)
from .screening import text_key


class NamedAutocompletes:
    """Admin pages with autocomplete fields: static/js/admin-labels.js names each box by its field's label."""

    class Media:
        js = ["js/admin-labels.js"]


class LabelledFormSet(BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = str(form.fields["DELETE"].label)


class LabelledTabularInline(admin.TabularInline):
    """Django's tabular inline names each column in its header only: every field (and the delete box) carries its
    label as its accessible name too, for screen readers (axe's `label` and `select-name` rules)."""

    formset = LabelledFormSet

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        for field in formset.form.base_fields.values():  # A form class made for this request, in its language.
            field.widget.attrs.setdefault("aria-label", str(field.label))
        return formset


@admin.register(Region)
class RegionAdmin(NamedAutocompletes, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]


class RungInline(LabelledTabularInline):
    model = Rung
    extra = 0
    fields = ["level", "code", "name", "description", "movable_by"]


@admin.register(Ladder)
class LadderAdmin(admin.ModelAdmin):
    list_display = ["name", "review_days", "rung_count"]
    inlines = [RungInline]
    search_fields = ["name"]

    @admin.display(description=_("rungs"))
    def rung_count(self, obj: Ladder) -> int:
        return obj.rungs.count()


class MembershipInline(LabelledTabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Forum)
class ForumAdmin(NamedAutocompletes, admin.ModelAdmin):
    list_display = ["name", "kind", "country", "region", "ladder", "check_every_days", "is_active"]
    list_filter = ["kind", "country", "is_active", "region"]
    search_fields = ["name"]
    autocomplete_fields = ["region", "ladder"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(NamedAutocompletes, admin.ModelAdmin):
    list_display = ["user", "forum", "role"]
    list_filter = ["role", "forum"]
    search_fields = ["user__username", "forum__name"]
    autocomplete_fields = ["user", "forum"]


class ProhibitedPhraseInline(LabelledTabularInline):
    model = ProhibitedPhrase
    extra = 1
    fields = ["language", "phrase"]


@admin.register(ProhibitedPractice)
class ProhibitedPracticeAdmin(admin.ModelAdmin):
    """The guardrail's data: administrators add names and descriptions without touching code."""

    list_display = ["name", "code", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code", "phrases__phrase"]
    inlines = [ProhibitedPhraseInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Cases change only through cases.services (row lock, version, timeline); the admin only reads them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown with their parent and never edited there: set `fields`, they are all read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ["seq", "kind", "at", "actor", "data"]
    ordering = ["seq"]


class FollowUpInline(ReadOnlyInline):
    """The agreement's follow-up (checks, closing surveys) is shown to whom cases.rules lets read it on every other
    door: the forum's facilitators and monitors, not administrators as such."""

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is not None and bool(case_rules.can_read_compliance(request.user, obj.forum))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ComplianceCheckInline(FollowUpInline):
    model = ComplianceCheck
    fields = ["term", "status", "observed_at", "recorded_at", "recorded_by", "paid", "notes"]
    ordering = ["observed_at", "id"]


class RecurrenceInline(ReadOnlyInline):
    model = Recurrence
    fk_name = "case"
    fields = ["earlier", "status", "basis", "created_at", "decided_by", "decided_at"]


class SurveyInline(FollowUpInline):
    model = Survey
    fields = ["party", "satisfaction", "fairness", "felt_heard", "would_use_again", "recorded_at"]


class TieInline(ReadOnlyInline):
    """Declared ties (conflicts of interest): shown, never changed here — declaring, recusing and the sides'
    acceptance go through cases.services.conflicts (the case page and the API), which put them on the timeline."""

    model = TieDeclaration
    fields = [
        "person", "party", "kind", "status", "declared_by", "declared_at", "recused_at", "first_accepted_at",
        "second_accepted_at",
    ]  # fmt: skip

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadAuditedAdmin, ReadOnlyAdmin):
    # Opening a case here is a read of the case, recorded in the read log (audit).
    audit_kind = "case"
    list_display = ["reference", "title", "forum", "state", "rung", "risk_level", "opened_at"]
    list_filter = [
        "kind",
        "state",
        "risk_level",
        "dispute_type",
        "offence_class",
        ("forum__region", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["reference", "title"]
    list_select_related = ["forum", "rung"]
    inlines = [ComplianceCheckInline, RecurrenceInline, SurveyInline, TieInline, CaseEventInline]
    show_full_result_count = False


@admin.register(ScreeningExample)
class ScreeningExampleAdmin(NamedAutocompletes, admin.ModelAdmin):
    """Labelled terms the screening decides by exactly and the next training learns from: legal reviewers'
    decisions, and examples an administrator adds or corrects here."""

    list_display = ["text", "prohibited", "practice", "language", "source", "forum", "decided_by", "decided_at"]
    list_filter = ["prohibited", "source", "language", "practice"]
    search_fields = ["text", "note"]
    readonly_fields = ["decided_by", "decided_at", "source"]
    fields = ["text", "language", "prohibited", "practice", "forum", "note", "source", "decided_by", "decided_at"]
    autocomplete_fields = ["forum"]

    def save_model(self, request, obj, form, change):
        # The key under which the screening finds the text again, from the text as saved.
        obj.text_key = text_key(obj.text)
        if not change:
            obj.decided_by = request.user
        super().save_model(request, obj, form, change)
