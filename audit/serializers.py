from __future__ import annotations

from rest_framework import serializers

from .models import ReadRecord


class ReadLogQuerySerializer(serializers.Serializer[None]):
    case = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    user = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


class ReadRecordSerializer(serializers.ModelSerializer[ReadRecord]):
    username = serializers.CharField(source="user.username")
    case_reference = serializers.CharField(source="case.reference", allow_null=True, default=None)

    class Meta:
        model = ReadRecord
        fields = ["id", "at", "user", "username", "kind", "case", "case_reference", "object_id", "door", "ip"]
