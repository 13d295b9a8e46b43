"""The read log in the Django admin (read-only), and the mixin that records the admin's own reads: a ModelAdmin
whose change view shows a case, its parties, an agreement or a transcript records each time it is opened."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from . import services
from .models import ReadRecord


class ReadAuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Put first in the bases of a ModelAdmin and set `audit_kind`: opening an object's change (or view) page
    records one read, of that object and its case, through the door `admin`."""

    audit_kind: str = ReadRecord.Kind.CASE

    def audit_case_id(self, obj: Any) -> int | None:
        """The case the object belongs to; override for an object that is not a case nor has `case_id`."""
        case_id = getattr(obj, "case_id", None)
        return int(case_id) if case_id is not None else int(obj.pk)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        # The page was shown (not a redirect for an unknown id or a refusal): the object is in its context.
        context = getattr(response, "context_data", None) or {}
        original = context.get("original")
        if request.method == "GET" and response.status_code == 200 and original is not None:
            services.read_record(
                user=request.user,
                kind=self.audit_kind,
                case_id=self.audit_case_id(original),
                object_id=original.pk,
                request=request,
                door=ReadRecord.Door.ADMIN,
            )
        return response


@admin.register(ReadRecord)
class ReadRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Nobody adds, changes or deletes a read (the database refuses the last two anyway)."""

    list_display = ["at", "user", "kind", "case", "object_id", "door", "ip"]
    list_filter = ["kind", "door"]
    list_select_related = ["user", "case"]
    raw_id_fields = ["user", "case"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
