"""The live sessions' API routes, included under /api/ by config.urls."""

from django.urls import path

from . import apis

urlpatterns = [
    path("cases/<int:case_id>/sessions/", apis.CaseSessionListCreateApi.as_view(), name="api-case-sessions"),
    path("sessions/<int:session_id>/", apis.SessionDetailApi.as_view(), name="api-session"),
    path("sessions/<int:session_id>/start/", apis.SessionStartApi.as_view(), name="api-session-start"),
    path("sessions/<int:session_id>/end/", apis.SessionEndApi.as_view(), name="api-session-end"),
    path(
        "sessions/<int:session_id>/transcript/",
        apis.SessionTranscriptApi.as_view(),
        name="api-session-transcript",
    ),
    path(
        "sessions/<int:session_id>/caucuses/",
        apis.SessionCaucusListCreateApi.as_view(),
        name="api-session-caucuses",
    ),
    path(
        "sessions/<int:session_id>/invitations/",
        apis.SessionInvitationApi.as_view(),
        name="api-session-invitations",
    ),
]
