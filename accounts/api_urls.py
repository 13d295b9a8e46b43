"""The accounts' API routes, included under /api/ by config.urls."""

from django.urls import path

from . import apis

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token"),
    path("auth/tokens/", apis.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", apis.TokenDetailApi.as_view(), name="api-token-detail"),
    path("auth/logout/", apis.TokenRevokeApi.as_view(), name="api-logout"),
]
