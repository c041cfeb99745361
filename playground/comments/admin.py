from django.contrib import admin

from playground.comments.models import Comment


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """For support and moderation: a team's comments. People write them in the app."""

    list_display = ("id", "team", "generation", "image", "author", "created_at", "edited_at")
    list_filter = ("team",)
    search_fields = ("body", "author__username", "team__name")
    list_select_related = ("team", "generation", "image", "author")
    raw_id_fields = ("generation", "image", "author")
    readonly_fields = ("created_at", "edited_at")
