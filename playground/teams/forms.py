from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground.teams.models import Membership, Role, Team

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class MemberForm(RoleForm):
    """A member's row on the team page: role, monthly cap and the reviewer right."""

    monthly_cap_credits = forms.DecimalField(
        label=gettext_lazy("Monthly cap (credits)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )
    # Unticked is "no": the row's form always shows the box, ticked or not.
    reviewer = forms.BooleanField(label=gettext_lazy("Reviewer"), required=False)


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("monthly_budget_credits",)


# One plain sentence whatever was wrong with a limit (a word, 0, a negative number, a
# fraction, a number past what the column holds).
MAX_MEMBER_LIMIT = 100_000
LIMIT_MESSAGE = gettext_lazy(
    "A limit is a whole number from 1 to 100000; leave it empty for no limit."
)


def _limit_field(label: StrOrPromise) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=MAX_MEMBER_LIMIT,
        error_messages={
            "invalid": LIMIT_MESSAGE,
            "min_value": LIMIT_MESSAGE,
            "max_value": LIMIT_MESSAGE,
        },
        widget=forms.NumberInput(attrs={"placeholder": gettext_lazy("no limit")}),
    )


class MemberLimitsForm(forms.ModelForm):
    """The team's per-member limits: each member alone may have so many jobs in flight,
    and send so many images an hour; beyond them their jobs wait (never refused). Empty:
    no limit."""

    member_jobs_in_flight_limit = _limit_field(gettext_lazy("Jobs in flight per member"))
    member_images_per_hour_limit = _limit_field(gettext_lazy("Images per hour per member"))

    class Meta:
        model = Team
        fields = ("member_jobs_in_flight_limit", "member_images_per_hour_limit")


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
