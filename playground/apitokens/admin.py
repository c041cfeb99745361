"""Superusers see every token (never a value: none is stored) and revoke them; tokens
are made on the API tokens page or with `manage.py create_api_token`, not here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from playground.apitokens import revoking
from playground.apitokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "shown", "user", "team", "created_at", "expires_at", "revoked_at")
    list_filter = ("team",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (
        "team",
        "user",
        "name",
        "shown",
        "created_at",
        "expires_at",
        "only_me_default",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = request.user if request.user.is_authenticated else None
        done = sum(
            revoking.revoke_token(token, by=actor, request=request)
            for token in queryset.select_related("team", "user")
        )
        self.message_user(
            request,
            ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", done) % {"n": done},
            messages.SUCCESS,
        )
