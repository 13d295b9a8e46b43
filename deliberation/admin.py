from django.contrib import admin

from audit.admin import ReadAuditedAdmin
from cases.admin import ReadOnlyAdmin, ReadOnlyInline

from . import rules
from .models import DialogueSession, Participant, SessionEvent


class AttendeesOnlyInline(ReadOnlyInline):
    """Who took part and what was said are the attendees' (deliberation.rules.attends), in the admin as on every
    other door: an administrator sees that a session took place, not its people or its transcript."""

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is not None and rules.attends(request.user, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ParticipantInline(AttendeesOnlyInline):
    model = Participant
    fields = ["display_name", "role", "side", "priority", "connections", "joined_at"]


class SessionEventInline(AttendeesOnlyInline):
    model = SessionEvent
    fields = ["seq", "kind", "actor", "at", "data"]
    ordering = ["seq"]


@admin.register(DialogueSession)
class DialogueSessionAdmin(ReadAuditedAdmin, ReadOnlyAdmin):
    """Sessions change only through deliberation.services (numbered, published after commit)."""

    # Opening a session here shows its transcript (to its attendees): a read in the read log (audit).
    audit_kind = "transcript"

    list_display = ["case", "status", "scheduled_for", "started_at", "ended_at", "last_seq", "joint", "side"]
    list_filter = ["status", "side"]
    inlines = [ParticipantInline, SessionEventInline]
