from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cases import apis as case_apis
from deliberation import apis as session_apis

from .errors import api_not_found
from .health import healthz

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"

api_patterns = [
    path("auth/token/", case_apis.TokenObtainApi.as_view(), name="api-token"),
    path("auth/logout/", case_apis.TokenRevokeApi.as_view(), name="api-logout"),
    path("forums/", case_apis.ForumListApi.as_view(), name="api-forums"),
    path("cases/", case_apis.CaseListCreateApi.as_view(), name="api-cases"),
    path("cases/<int:case_id>/", case_apis.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<int:case_id>/transitions/", case_apis.CaseTransitionApi.as_view(), name="api-case-transitions"),
    path("cases/<int:case_id>/escalations/", case_apis.CaseEscalationApi.as_view(), name="api-case-escalations"),
    path("reminders/", case_apis.ReminderListApi.as_view(), name="api-reminders"),
    path("reports/escalations/", case_apis.EscalationReportApi.as_view(), name="api-report-escalations"),
    path("reports/patterns/refresh/", case_apis.PatternRefreshApi.as_view(), name="api-report-patterns-refresh"),
    path("reports/tasks/<uuid:task_id>/", case_apis.ReportTaskApi.as_view(), name="api-report-task"),
    path("reports/patterns/", case_apis.PatternReportApi.as_view(), name="api-report-patterns"),
    path("reports/patterns.csv", case_apis.PatternReportCsvApi.as_view(), name="api-report-patterns-csv"),
    path("reports/warnings/", case_apis.EarlyWarningApi.as_view(), name="api-report-warnings"),
    path("cases/<int:case_id>/timeline/", case_apis.CaseTimelineApi.as_view(), name="api-case-timeline"),
    path("cases/<int:case_id>/agreement/", case_apis.CaseAgreementApi.as_view(), name="api-case-agreement"),
    path(
        "cases/<int:case_id>/compliance-checks/",
        case_apis.CaseComplianceApi.as_view(),
        name="api-case-compliance",
    ),
    path("cases/<int:case_id>/surveys/", case_apis.CaseSurveyApi.as_view(), name="api-case-surveys"),
    path("cases/<int:case_id>/recurrences/", case_apis.CaseRecurrenceApi.as_view(), name="api-case-recurrences"),
    path("cases/<int:case_id>/monitor/", case_apis.CaseMonitorApi.as_view(), name="api-case-monitor"),
    path("cases/<int:case_id>/risk-factors/", case_apis.CaseRiskFactorsApi.as_view(), name="api-case-risk-factors"),
    path("recurrences/<int:recurrence_id>/", case_apis.RecurrenceDecisionApi.as_view(), name="api-recurrence-decision"),
    path(
        "compliance-conflicts/<int:conflict_id>/review/",
        case_apis.ComplianceConflictReviewApi.as_view(),
        name="api-compliance-conflict-review",
    ),
    path("monitor/due/", case_apis.DueItemListApi.as_view(), name="api-monitor-due"),
    path("cases/<int:case_id>/sessions/", session_apis.CaseSessionListCreateApi.as_view(), name="api-case-sessions"),
    path("sessions/<int:session_id>/", session_apis.SessionDetailApi.as_view(), name="api-session"),
    path("sessions/<int:session_id>/start/", session_apis.SessionStartApi.as_view(), name="api-session-start"),
    path("sessions/<int:session_id>/end/", session_apis.SessionEndApi.as_view(), name="api-session-end"),
    path(
        "sessions/<int:session_id>/transcript/",
        session_apis.SessionTranscriptApi.as_view(),
        name="api-session-transcript",
    ),
    path(
        "sessions/<int:session_id>/invitations/",
        session_apis.SessionInvitationApi.as_view(),
        name="api-session-invitations",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404, in DEBUG too (Django's debug page would be HTML).
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("deliberation.urls")),
    path("", include("cases.urls")),
]
