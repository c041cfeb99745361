from django.contrib import admin

from playground.sharing.models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("id", "team", "created_by", "title", "created_at", "expires_at", "revoked_at")
    list_filter = ("team",)
    # The password is a hash: nothing to read or edit here.
    exclude = ("password",)
    readonly_fields = ("view_count", "last_viewed_at")
