"""The reports' API routes, included under /api/ by config.urls."""

from django.urls import path

from . import apis

urlpatterns = [
    path("reports/escalations/", apis.EscalationReportApi.as_view(), name="api-report-escalations"),
    path("reports/patterns/refresh/", apis.PatternRefreshApi.as_view(), name="api-report-patterns-refresh"),
    path("reports/tasks/<uuid:task_id>/", apis.ReportTaskApi.as_view(), name="api-report-task"),
    path("reports/patterns/", apis.PatternReportApi.as_view(), name="api-report-patterns"),
    path("reports/patterns.csv", apis.PatternReportCsvApi.as_view(), name="api-report-patterns-csv"),
    path("reports/warnings/", apis.EarlyWarningApi.as_view(), name="api-report-warnings"),
]
