"""The cases' pages (the API's routes are in cases/api_urls.py)."""

from django.urls import path

from .views import actions, guarantee_actions, monitor, pages, registers, review, settlement, tie_actions

urlpatterns = [
    path("", pages.home, name="home"),
    path("cases/", pages.case_list, name="case-list"),
    path("cases/new/", pages.case_new, name="case-new"),
    path("cases/<int:case_id>/", pages.case_detail, name="case-detail"),
    path("cases/<int:case_id>/transition/", actions.case_transition, name="case-transition"),
    path("cases/<int:case_id>/agreement/", actions.case_agreement, name="case-agreement"),
    path("cases/<int:case_id>/escalate/", actions.case_escalate, name="case-escalate"),
    path("cases/<int:case_id>/monitor/", actions.case_monitor, name="case-monitor"),
    path("cases/<int:case_id>/risk-factors/", actions.case_risk_factors, name="case-risk-factors"),
    path("cases/<int:case_id>/survey/", actions.case_survey, name="case-survey"),
    path("cases/<int:case_id>/history/", actions.recurrence_link, name="case-recurrence-link"),
    path("cases/<int:case_id>/history/<int:recurrence_id>/", actions.recurrence_decide, name="case-recurrence-decide"),
    path(
        "cases/<int:case_id>/conflicts/<int:conflict_id>/review/", actions.conflict_review, name="case-conflict-review"
    ),
    path("cases/<int:case_id>/guarantees/guarantors/", guarantee_actions.guarantor_add, name="case-guarantor-add"),
    path(
        "cases/<int:case_id>/guarantees/guarantors/<int:guarantor_id>/call/",
        guarantee_actions.guarantor_call,
        name="case-guarantor-call",
    ),
    path("cases/<int:case_id>/guarantees/deposits/", guarantee_actions.deposit_add, name="case-deposit-add"),
    path(
        "cases/<int:case_id>/guarantees/deposits/<int:deposit_id>/forfeit/",
        guarantee_actions.deposit_forfeit,
        name="case-deposit-forfeit",
    ),
    path(
        "cases/<int:case_id>/guarantees/deposits/<int:deposit_id>/return/",
        guarantee_actions.deposit_return,
        name="case-deposit-return",
    ),
    path("cases/<int:case_id>/ties/", tie_actions.tie_declare, name="case-tie-declare"),
    path("cases/<int:case_id>/ties/<int:tie_id>/recuse/", tie_actions.tie_recuse, name="case-tie-recuse"),
    path("cases/<int:case_id>/ties/<int:tie_id>/accept/", tie_actions.tie_accept, name="case-tie-accept"),
    path("cases/<int:case_id>/settlement/", settlement.settlement_print, name="case-settlement"),
    path("cases/<int:case_id>/settlement/attest/", settlement.settlement_attest, name="case-settlement-attest"),
    # Public (no login): anyone holding a written settlement checks its code here; the QR code holds the second.
    path("verify/", settlement.settlement_verify, name="settlement-verify-home"),
    path("verify/<str:code>/", settlement.settlement_verify, name="settlement-verify"),
    path("reminders/<int:reminder_id>/dismiss/", pages.reminder_dismiss, name="reminder-dismiss"),
    path("screening/reviews/", review.screening_reviews, name="screening-reviews"),
    path("screening/terms/<int:term_id>/", review.screening_decide, name="screening-decide"),
    path("forums/<int:forum_id>/register/", registers.register_upload, name="register-upload"),
    path("forums/<int:forum_id>/register/import/", registers.register_confirm, name="register-confirm"),
    path("forums/<int:forum_id>/register.csv", registers.register_export, {"fmt": "csv"}, name="register-csv"),
    path("forums/<int:forum_id>/register.xlsx", registers.register_export, {"fmt": "xlsx"}, name="register-xlsx"),
    path("monitor/", monitor.monitor_due, name="monitor-due"),
    path("monitor/checks/", monitor.monitor_check, name="monitor-check"),
    path("monitor/sw.js", monitor.monitor_service_worker, name="monitor-sw"),
]
