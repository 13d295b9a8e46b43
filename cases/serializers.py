from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Forum, Ladder, Region, Rung


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class RungSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rung
        fields = ["level", "code", "name", "description"]


class LadderSerializer(serializers.ModelSerializer):
    rungs = RungSerializer(many=True, read_only=True)

    class Meta:
        model = Ladder
        fields = ["id", "name", "review_days", "rungs"]


class RegionSerializer(serializers.ModelSerializer):
    province = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = ["id", "code", "name", "kind", "province"]

    def get_province(self, region: Region) -> str | None:
        return region.parent.code if region.parent_id else None


class ForumSerializer(serializers.ModelSerializer):
    region = RegionSerializer(read_only=True)
    ladder = LadderSerializer(read_only=True)
    roles = serializers.SerializerMethodField(help_text=_("The caller's roles in this forum."))

    class Meta:
        model = Forum
        fields = ["id", "name", "kind", "region", "ladder", "roles"]

    def get_roles(self, forum: Forum) -> list[str]:
        roles = self.context.get("roles", {})
        return sorted(roles.get(forum.pk, set()))
