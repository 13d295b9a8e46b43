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
    path("reminders/<int:reminder_id>/dismiss/", views.reminder_dismiss, name="reminder-dismiss"),
    path("reports/escalations/", views.escalation_report, name="escalation-report"),
    path("reports/escalations.csv", views.escalation_report_csv, name="escalation-report-csv"),
]
