from django.contrib import admin

from playground.exports.models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Read-only, for support: what was exported, by whom, and how the build went.
    The ZIP itself is for its requester only (its manifest may hold private prompts)."""

    list_display = ("public_id", "team", "requested_by", "source", "state", "total", "created_at")
    list_filter = ("team", "state", "source")
    list_select_related = ("team", "requested_by")
    exclude = ("file", "image_ids", "lease_token")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
