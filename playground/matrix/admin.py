from django.contrib import admin
from django.http import HttpRequest

from playground.matrix.models import MatrixRun, PromptTemplate


@admin.register(MatrixRun)
class MatrixRunAdmin(admin.ModelAdmin):
    """Read-only: a run is the record of jobs already sent (and paid for)."""

    list_display = ("public_id", "team", "kind", "created_by", "created_at")
    list_filter = ("team", "kind")
    search_fields = ("text", "team__name", "created_by__username")
    list_select_related = ("team", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MatrixRun | None = None) -> bool:
        return False


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "updated_by", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "text")
    list_select_related = ("team", "updated_by")
