from django.contrib import admin
from django.http import HttpRequest

from playground.generations.models import Generation, ResultImage, UpstreamTask


class ResultImageInline(admin.TabularInline):
    model = ResultImage
    extra = 0
    can_delete = False
    readonly_fields = ("index", "file", "format", "width", "height", "bytes", "created_at")
    exclude = ("thumbnail",)


class UpstreamTaskInline(admin.TabularInline):
    """The upstream tasks of a job split into several (GPT Image 1.5: one per image)."""

    model = UpstreamTask
    extra = 0
    can_delete = False
    fields = (
        "index",
        "state",
        "task_id",
        "idempotency_key",
        "error_code",
        "credits_reserved",
        "credits_charged",
        "claimed_at",
        "finished_at",
    )
    readonly_fields = fields


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    """Read-only: jobs change state only through the pipeline's compare-and-set steps."""

    list_display = (
        "id",
        "team",
        "owner",
        "private",
        "model",
        "state",
        "size",
        "quality",
        "n",
        "estimated_credits",
        "created_at",
    )
    list_filter = ("team", "state", "model", "quality", "private")
    search_fields = (
        "prompt",
        "upstream_task_id",
        "upstream_tasks__task_id",
        "owner__username",
        "team__name",
    )
    date_hierarchy = "created_at"
    list_select_related = ("owner", "team")
    inlines = [UpstreamTaskInline, ResultImageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
        return False
