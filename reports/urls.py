"""The report pages' routes, included at the site's root by config.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("reports/escalations/", views.escalation_report, name="escalation-report"),
    path("reports/escalations.csv", views.escalation_report_csv, name="escalation-report-csv"),
    path("reports/patterns/", views.pattern_report_page, name="pattern-report"),
]
