"""API tokens in the admin: administrators see who holds which (never a key) and revoke them."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["prefix", "user", "name", "created", "expires", "last_used", "revoked"]
    list_filter = [("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created", "expires", "last_used", "revoked"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # Tokens are issued to their owner by POST /api/auth/token/ only.

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # Revoked, not deleted: the row shows when it stopped working.

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("user"):
            services.token_revoke(user=token.user, token=token)
        self.message_user(request, _("The tokens were revoked."))
