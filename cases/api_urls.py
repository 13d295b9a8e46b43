"""The cases' API routes, included under /api/ by config.urls."""

from django.urls import path

from . import apis

urlpatterns = [
    path("forums/", apis.ForumListApi.as_view(), name="api-forums"),
    path("cases/", apis.CaseListCreateApi.as_view(), name="api-cases"),
    path("cases/<int:case_id>/", apis.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<int:case_id>/transitions/", apis.CaseTransitionApi.as_view(), name="api-case-transitions"),
    path("cases/<int:case_id>/escalations/", apis.CaseEscalationApi.as_view(), name="api-case-escalations"),
    path("reminders/", apis.ReminderListApi.as_view(), name="api-reminders"),
    path("cases/<int:case_id>/timeline/", apis.CaseTimelineApi.as_view(), name="api-case-timeline"),
    path("cases/<int:case_id>/agreement/", apis.CaseAgreementApi.as_view(), name="api-case-agreement"),
    path(
        "cases/<int:case_id>/compliance-checks/",
        apis.CaseComplianceApi.as_view(),
        name="api-case-compliance",
    ),
    path("cases/<int:case_id>/surveys/", apis.CaseSurveyApi.as_view(), name="api-case-surveys"),
    path("cases/<int:case_id>/recurrences/", apis.CaseRecurrenceApi.as_view(), name="api-case-recurrences"),
    path("cases/<int:case_id>/monitor/", apis.CaseMonitorApi.as_view(), name="api-case-monitor"),
    path("cases/<int:case_id>/risk-factors/", apis.CaseRiskFactorsApi.as_view(), name="api-case-risk-factors"),
    path("recurrences/<int:recurrence_id>/", apis.RecurrenceDecisionApi.as_view(), name="api-recurrence-decision"),
    path(
        "compliance-conflicts/<int:conflict_id>/review/",
        apis.ComplianceConflictReviewApi.as_view(),
        name="api-compliance-conflict-review",
    ),
    path("monitor/due/", apis.DueItemListApi.as_view(), name="api-monitor-due"),
    path("cases/<int:case_id>/guarantors/", apis.CaseGuarantorApi.as_view(), name="api-case-guarantors"),
    path("cases/<int:case_id>/deposits/", apis.CaseDepositApi.as_view(), name="api-case-deposits"),
    path("deposits/<int:deposit_id>/forfeit/", apis.DepositForfeitApi.as_view(), name="api-deposit-forfeit"),
    path("deposits/<int:deposit_id>/return/", apis.DepositReturnApi.as_view(), name="api-deposit-return"),
    path("guarantors/<int:guarantor_id>/call/", apis.GuarantorCallApi.as_view(), name="api-guarantor-call"),
    path("cases/<int:case_id>/ties/", apis.CaseTieApi.as_view(), name="api-case-ties"),
    path("cases/<int:case_id>/ties/<int:tie_id>/recuse/", apis.TieRecuseApi.as_view(), name="api-tie-recuse"),
    path("cases/<int:case_id>/ties/<int:tie_id>/accept/", apis.TieAcceptApi.as_view(), name="api-tie-accept"),
    path("screening/reviews/", apis.ScreeningReviewListApi.as_view(), name="api-screening-reviews"),
    path("terms/<int:term_id>/screening/", apis.TermScreeningApi.as_view(), name="api-term-screening"),
    path("settlements/verify/<str:code>/", apis.SettlementVerifyApi.as_view(), name="api-settlement-verify"),
]
