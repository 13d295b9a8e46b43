from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/transition/", views.case_transition, name="case-transition"),
    path("cases/<int:case_id>/agreement/", views.case_agreement, name="case-agreement"),
    path("cases/<int:case_id>/escalate/", views.case_escalate, name="case-escalate"),
    path("cases/<int:case_id>/monitor/", views.case_monitor, name="case-monitor"),
    path("cases/<int:case_id>/risk-factors/", views.case_risk_factors, name="case-risk-factors"),
    path("cases/<int:case_id>/survey/", views.case_survey, name="case-survey"),
    path("cases/<int:case_id>/history/", views.recurrence_link, name="case-recurrence-link"),
    path("cases/<int:case_id>/history/<int:recurrence_id>/", views.recurrence_decide, name="case-recurrence-decide"),
    path("cases/<int:case_id>/conflicts/<int:conflict_id>/review/", views.conflict_review, name="case-conflict-review"),
    path("reminders/<int:reminder_id>/dismiss/", views.reminder_dismiss, name="reminder-dismiss"),
    path("reports/escalations/", views.escalation_report, name="escalation-report"),
    path("reports/escalations.csv", views.escalation_report_csv, name="escalation-report-csv"),
    path("monitor/", views.monitor_due, name="monitor-due"),
    path("monitor/checks/", views.monitor_check, name="monitor-check"),
    path("monitor/sw.js", views.monitor_service_worker, name="monitor-sw"),
]

# --- The regulator's pattern report ----------------------------------------------------------------------
urlpatterns += [
    path("reports/patterns/", views.pattern_report_page, name="pattern-report"),
]
