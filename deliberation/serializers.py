from django.urls import reverse
from rest_framework import serializers

from accounts.models import Gender

from .models import DialogueSession, Participant, Side


def ws_url(request, session: DialogueSession) -> str:
    url = request.build_absolute_uri(f"/ws/sessions/{session.pk}/")
    return "ws" + url.removeprefix("http")


class SessionCreateSerializer(serializers.Serializer):
    scheduled_for = serializers.DateTimeField()


class SessionSerializer(serializers.ModelSerializer):
    ws_url = serializers.SerializerMethodField()
    room_url = serializers.SerializerMethodField()
    transcript_url = serializers.SerializerMethodField()

    class Meta:
        model = DialogueSession
        fields = [
            "id", "case", "status", "scheduled_for", "started_at", "ended_at", "facilitator", "floor_only",
            "priority_first", "turn_seconds", "last_seq", "ws_url", "room_url", "transcript_url", "joint", "side",
        ]  # fmt: skip

    def get_ws_url(self, session) -> str:
        return ws_url(self.context["request"], session)

    def get_room_url(self, session) -> str:
        return self.context["request"].build_absolute_uri(reverse("session-room", args=[session.pk]))

    def get_transcript_url(self, session) -> str:
        return self.context["request"].build_absolute_uri(reverse("session-transcript", args=[session.pk]))


class InvitationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    role = serializers.ChoiceField(
        choices=[(Participant.Role.PARTY, "party"), (Participant.Role.ELDER, "elder")], default=Participant.Role.PARTY
    )
    priority = serializers.BooleanField(default=False, help_text="A victim or a woman: first in the queue when asked.")
    side = serializers.ChoiceField(
        choices=["", *Side.values], default="", help_text="The side they speak for (admits them to its side rooms)."
    )
    gender = serializers.ChoiceField(
        choices=["", *Gender.values],
        default="",
        help_text="Optional, as the invited person says of themselves; counted only anonymously.",
    )


class CaucusCreateSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=Side.choices, help_text="Whose side room: first_party or second_party.")


class InvitationSerializer(serializers.Serializer):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField()
    name = serializers.CharField()
    role = serializers.CharField()
    side = serializers.CharField()
