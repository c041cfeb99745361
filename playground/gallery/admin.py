from django.contrib import admin

from playground.gallery.models import Collection


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """For support: which collections a team has. Members manage them in the app."""

    list_display = ("name", "team", "created_by", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "team__name")
    list_select_related = ("team", "created_by")
    readonly_fields = ("cover",)
