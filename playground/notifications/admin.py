from django.contrib import admin
from django.http import HttpRequest

from playground.notifications.models import EmailPreference, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """For support: what someone was told and when it was e-mailed. Read-only: a
    notification is made by `events.notify`, never by hand."""

    list_display = ("kind", "recipient", "actor", "team", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", "team")
    search_fields = ("recipient__username", "actor__username")
    list_select_related = ("recipient", "actor", "team")
    raw_id_fields = ("recipient", "actor", "generation", "image")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(EmailPreference)
class EmailPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("user__username",)
