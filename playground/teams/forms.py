from __future__ import annotations

from typing import Any

from django import forms
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

    def clean_username(self) -> str:
        """The name as typed. Whether anyone has it is never said (the invitation is
        made either way); only the team's own members, whom the page lists, are named."""
        username = self.cleaned_data["username"].strip()
        if Membership.objects.filter(team=self.team, user__username=username).exists():
            raise forms.ValidationError(_("%(name)s is already in this team.") % {"name": username})
        return username


class InviteForm(RoleForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = Role.MEMBER
