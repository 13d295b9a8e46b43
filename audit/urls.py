"""The read log's pages, included at the site's root by config.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("audit/cases/<int:case_id>/", views.case_log, name="audit-case"),
    path("audit/users/<int:user_id>/", views.user_log, name="audit-user"),
]
