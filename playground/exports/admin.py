from django.contrib import admin
from django.http import HttpRequest

from playground.exports.models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Read-only, for support: what was exported, by whom, and how the build went.
    The ZIP itself is for its requester only (its manifest may hold private prompts)."""

    list_display = ("public_id", "team", "requested_by", "source", "state", "total", "created_at")
    list_filter = ("team", "state", "source")
    list_select_related = ("team", "requested_by")
    exclude = ("file", "image_ids", "lease_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Export | None = None) -> bool:
        return False
