from django.urls import path

from . import views

urlpatterns = [
    path("sessions/<int:session_id>/", views.session_room, name="session-room"),
    path("sessions/<int:session_id>/transcript/", views.session_transcript, name="session-transcript"),
    path(
        "sessions/<int:session_id>/transcript/print/",
        views.session_transcript_print,
        name="session-transcript-print",
    ),
    path("sessions/<int:session_id>/invite/", views.session_invite, name="session-invite"),
    path("sessions/<int:session_id>/<str:action>/", views.session_control, name="session-control"),
    path("cases/<int:case_id>/sessions/", views.case_sessions, name="case-sessions"),
    path("cases/<int:case_id>/sessions/new/", views.session_schedule, name="session-schedule"),
    path("join/<str:token>/", views.session_join, name="session-join"),
]
