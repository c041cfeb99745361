from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground.teams.models import Membership, Role, Team


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class MemberForm(RoleForm):
    """A member's row on the team page: role and monthly cap."""

    monthly_cap_credits = forms.DecimalField(
        label=gettext_lazy("Monthly cap (credits)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("monthly_budget_credits",)


class AddMemberForm(RoleForm):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    field_order = ["username", "role"]

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["role"].initial = Role.MEMBER

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                _(
                    "Nobody has the username “%(name)s”. To bring in someone new, send them an "
                    "invitation link instead."
                )
                % {"name": username}
            )
        if Membership.objects.filter(team=self.team, user=user).exists():
            raise forms.ValidationError(_("%(name)s is already in this team.") % {"name": username})
        return user


class InviteForm(RoleForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = Role.MEMBER
