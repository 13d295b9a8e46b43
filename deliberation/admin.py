from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import DialogueSession, Participant, SessionEvent


class ParticipantInline(admin.TabularInline):
    model = Participant
    fields = ["display_name", "role", "priority", "connections", "joined_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SessionEventInline(admin.TabularInline):
    model = SessionEvent
    fields = ["seq", "kind", "actor", "at", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DialogueSession)
class DialogueSessionAdmin(ReadOnlyAdmin):
    """Sessions change only through deliberation.services (numbered, published after commit)."""

    list_display = ["case", "status", "scheduled_for", "started_at", "ended_at", "last_seq"]
    list_filter = ["status"]
    inlines = [ParticipantInline, SessionEventInline]
