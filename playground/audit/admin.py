"""The audit log in /admin/: read only. No one, superusers included, may add, change
or delete an entry there (the log is append-only in the application)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from playground.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "team", "actor_name", "action", "target", "address")
    list_filter = ("action", "team")
    search_fields = ("actor_name", "target")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "team",
        "actor",
        "actor_name",
        "action",
        "target",
        "changes",
        "address",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
