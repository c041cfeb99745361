"""API keys in Django's admin, for superusers: the secret is write-only.

The add form asks for `secret`; the change form offers to replace it (left empty, it
stays). No form ever renders the stored value: only `sk-evo-…` and its last 4.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from playground.billing import tasks
from playground.billing.forms import ApiKeyForm
from playground.billing.models import ApiKey, ContractCheck


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "label",
        "masked",
        "team",
        "priority",
        "enabled",
        "credits_left",
        "checked_at",
        "last_used_at",
        "last_error",
    )
    list_filter = ("enabled", "team")
    search_fields = ("label", "secret_last4", "team__name")
    readonly_fields = (
        "masked",
        "created_by",
        "created_at",
        "last_used_at",
        "account_credits",
        "key_credits",
        "key_unlimited",
        "checked_at",
        "last_error",
        "last_error_at",
        "disabled_automatically_at",
    )
    actions = ["check_balance"]

    # Django's error reports must never show the secret that was posted.
    @method_decorator(sensitive_post_parameters("secret"))
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    @method_decorator(sensitive_post_parameters("secret"))
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("secret"))
    def masked(self, key: ApiKey) -> str:
        return key.masked if key.secret_last4 else "–"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ApiKeyForm, change: bool) -> None:
        # The admin is for staff: the person is a User, never AnonymousUser.
        if not change and isinstance(request.user, User):
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Check the balance with EvoLink"))
    def check_balance(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        now = timezone.now()
        for key in queryset:
            tasks.request_check(key, now)
        messages.info(
            request,
            _("Asked EvoLink for %(n)d balance(s); the readings appear here in a few seconds.")
            % {"n": queryset.count()},
        )


@admin.register(ContractCheck)
class ContractCheckAdmin(admin.ModelAdmin):
    """Every contract check, read-only: a record of what EvoLink answered."""

    list_display = ("requested_at", "key_label", "spend", "state", "outcome", "requested_by")
    list_filter = ("state", "outcome", "spend")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the keys page or `manage.py evolink_check`

    def has_change_permission(self, request: HttpRequest, obj: ContractCheck | None = None) -> bool:
        return False
