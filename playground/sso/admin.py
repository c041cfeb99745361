"""Superusers see who signed in through the provider, and which memberships the group
mapping gave; both are the provider's word, so neither is edited here (switch an
account off on the user instead)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from playground.sso.models import Identity, MappedMembership


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Identity)
class IdentityAdmin(ReadOnly):
    list_display = ["user", "email", "issuer", "subject", "last_sign_in_at"]
    search_fields = ["user__username", "email", "subject"]


@admin.register(MappedMembership)
class MappedMembershipAdmin(ReadOnly):
    list_display = ["membership", "created_at"]
