"""The reports' HTTP API: the escalation statistics, the regulator's patterns and early warnings, and the
summary's refresh on the worker. Thin: validate, call a service or selector, serialise."""

import uuid

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import rules as case_rules
from config import streaming
from config.errors import ForbiddenError

from . import pattern_report, selectors, services
from .serializers import EarlyWarningQuerySerializer, EscalationReportQuerySerializer, check_region

PATTERN_PARAMETERS = [
    OpenApiParameter("from", {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, description="First month, YYYY-MM"),
    OpenApiParameter("to", {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, description="Last month, YYYY-MM"),
    OpenApiParameter("group_by", str, description="Comma-separated: region, dispute_type, forum_kind, month"),
    OpenApiParameter("region", str, description="A district code"),
    OpenApiParameter("forum_kind", str),
    OpenApiParameter("dispute_type", str),
]


class PatternReportApi(APIView):
    """Anonymised patterns for regulators and administrators: counts per grouping with small counts hidden so
    that no grouping gives one away by subtraction (`null` and `"suppressed": true`)."""

    @extend_schema(parameters=PATTERN_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> HttpResponse:
        check_region(request.query_params.get("region"), districts_only=True)
        query = pattern_report.parse_query(request.query_params)
        # The cells the summary task prepared, as the JSON text PostgreSQL puts together; else worked out here.
        prepared = pattern_report.patterns_json(user=request.user, **query)
        if prepared is not None:
            return HttpResponse(prepared, content_type="application/json")
        return Response(pattern_report.patterns(user=request.user, **query))


class PatternReportCsvApi(APIView):
    """The same cells as /api/reports/patterns/, as CSV (a hidden count is an empty field), streamed line by line."""

    @extend_schema(parameters=PATTERN_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        check_region(request.query_params.get("region"), districts_only=True)
        report = pattern_report.patterns(user=request.user, **pattern_report.parse_query(request.query_params))
        lines = pattern_report.csv_lines(report)
        response = streaming.streaming_response(request, lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="patterns.csv"'
        return response


class EarlyWarningApi(APIView):
    """Per district, the week's breaches, escalations and imminent-risk cases against its 4- and 52-week
    baselines; more than 25% above both is an alert."""

    @extend_schema(
        # week: any day of the week, 1900 to 9998 (default: the latest); region: a district code.
        parameters=[EarlyWarningQuerySerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        serializer = EarlyWarningQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return Response(pattern_report.early_warnings(user=request.user, **serializer.validated_data))


class EscalationReportApi(APIView):
    """The pyramid's shape for administrators (all forums) and facilitators (their forums)."""

    @extend_schema(
        # The query serializer states the filters as they are checked; region: a province or district code.
        parameters=[EscalationReportQuerySerializer],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="`not_found`: a forum not the caller's")},
    )
    def get(self, request: Request) -> Response:
        serializer = EscalationReportQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        user = request.user
        assert user.is_authenticated  # IsAuthenticated, the API's default permission, let no one else in.
        report = selectors.escalation_report(
            user=user,
            forum=params.get("forum"),
            region=params.get("region") or None,
            date_from=params.get("from"),
            date_to=params.get("to"),
        )
        return Response(report)


# --- Regulator summary: refresh on the worker, follow the task ---------------------------------------------

_TASK_STATES = {"PENDING", "STARTED", "PROGRESS", "SUCCESS", "FAILURE"}


class PatternRefreshApi(APIView):
    """Queue the regulator summary on the Celery worker (administrators); follow it at /api/reports/tasks/{id}/."""

    @extend_schema(
        request=None,
        responses={202: inline_serializer("PatternRefreshQueued", {"task_id": serializers.UUIDField()})},
    )
    def post(self, request: Request) -> Response:
        if not case_rules.is_administrator(request.user):
            raise ForbiddenError(_("Only administrators may refresh the regulator summary."))
        task_id = services.summary_refresh_queue()
        return Response({"task_id": task_id}, status=status.HTTP_202_ACCEPTED)


class ReportTaskApi(APIView):
    """Where a queued report task is: PENDING (queued, or unknown), STARTED, PROGRESS, SUCCESS or FAILURE."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "ReportTaskState",
                {
                    "state": serializers.ChoiceField(choices=sorted(_TASK_STATES)),
                    "progress": serializers.FloatField(min_value=0, max_value=1),
                },
            )
        },
    )
    def get(self, request: Request, task_id: uuid.UUID) -> Response:
        if not case_rules.can_read_reports(request.user):
            raise ForbiddenError(_("Only administrators and regulators read reports."))
        return Response(selectors.task_state(task_id=str(task_id)))
