from django.contrib import admin

from cases.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import DialogueSession, Participant, SessionEvent


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = ["display_name", "role", "priority", "connections", "joined_at"]


class SessionEventInline(ReadOnlyInline):
    model = SessionEvent
    fields = ["seq", "kind", "actor", "at", "data"]
    ordering = ["seq"]


@admin.register(DialogueSession)
class DialogueSessionAdmin(ReadOnlyAdmin):
    """Sessions change only through deliberation.services (numbered, published after commit)."""

    list_display = ["case", "status", "scheduled_for", "started_at", "ended_at", "last_seq"]
    list_filter = ["status"]
    inlines = [ParticipantInline, SessionEventInline]
