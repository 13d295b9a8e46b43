"""The read log's API route, included under /api/ by config.urls."""

from django.urls import path

from . import apis

urlpatterns = [
    path("audit/", apis.ReadLogApi.as_view(), name="api-audit"),
]
