from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from playground.teams.accounts import AdminUserChangeForm, AdminUserCreationForm
from playground.teams.models import (
    Invitation,
    Membership,
    ModelNotice,
    ModelSwitch,
    Team,
    TeamModelOff,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)
    fields = ("user", "role", "monthly_cap_credits", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Superusers manage every team here; team admins manage theirs in the app."""

    list_display = ("name", "slug", "member_count", "monthly_budget_credits", "created_at")
    search_fields = ("name", "slug", "memberships__user__username")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    @admin.display(description=_("members"))
    def member_count(self, team: Team) -> int:
        return team.memberships.count()


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Links are shown once, to the admin who makes them in the app; here they can
    only be looked at and revoked (deleting one revokes it)."""

    list_display = (
        "team",
        "role",
        "invitee_name",
        "created_by",
        "created_at",
        "expires_at",
        "used_by",
        "used_at",
        "declined_at",
    )
    list_filter = ("role",)
    readonly_fields = [f.name for f in Invitation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ModelSwitch)
class ModelSwitchAdmin(admin.ModelAdmin):
    """A superuser's word on a model for every team (also on each team's keys page)."""

    list_display = ("model", "enabled", "changed_by", "changed_at")


@admin.register(TeamModelOff)
class TeamModelOffAdmin(admin.ModelAdmin):
    list_display = ("team", "model", "switched_off_by", "switched_off_at")
    list_filter = ("model",)


@admin.register(ModelNotice)
class ModelNoticeAdmin(admin.ModelAdmin):
    """When a team's admins were told EvoLink refused a model as gone (delete one to
    have them told again)."""

    list_display = ("team", "model", "created_at")


class PlaygroundUserAdmin(UserAdmin):
    """Django's own user admin, whose usernames may not pass for someone else's."""

    add_form = AdminUserCreationForm
    form = AdminUserChangeForm


admin.site.unregister(User)
admin.site.register(User, PlaygroundUserAdmin)
