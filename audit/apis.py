"""The read log's API: `GET /api/audit/?case=&user=`, administrators only (403 for everyone else, 404 for an
unknown case or user), paginated, newest first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ForbiddenError
from config.pagination import PAGE_PARAMETERS, Pagination

from . import rules, selectors
from .serializers import ReadLogQuerySerializer, ReadRecordSerializer


class ReadLogApi(APIView):
    """Who read what, when, from where and through which door: per case, per user, or both."""

    @extend_schema(
        parameters=[
            OpenApiParameter("case", {"type": "integer", "minimum": 1}, description="A case's id"),
            OpenApiParameter("user", {"type": "integer", "minimum": 1}, description="A user's id"),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: inline_serializer(
                "PaginatedReadRecordList",
                {
                    "count": serializers.IntegerField(min_value=0),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": ReadRecordSerializer(many=True),
                },
            ),
            400: OpenApiResponse(description="`invalid`: `case` or `user` is not a positive whole number"),
            401: OpenApiResponse(description="`not_authenticated`"),
            403: OpenApiResponse(description="`forbidden`: administrators only"),
            404: OpenApiResponse(description="`not_found`: no such case or user"),
        },
    )
    def get(self, request: Request) -> Response:
        # Refused before the query is read: others learn nothing, not even that an id is malformed.
        if not rules.can_read_audit(request.user):
            raise ForbiddenError()
        query = ReadLogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        log = selectors.read_log(viewer=request.user, case_id=params.get("case"), user_id=params.get("user"))
        paginator = Pagination()
        page = paginator.paginate_queryset(log.reads, request, view=self)
        # config.pagination is untyped; it answers the contract's list shape.
        response: Response = paginator.get_paginated_response(  # type: ignore[no-untyped-call]
            ReadRecordSerializer(page, many=True).data
        )
        return response
