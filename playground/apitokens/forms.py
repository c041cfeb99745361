"""The form that makes a token: a name, how many days it lives, "Only me" by default."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from playground.apitokens.models import DEFAULT_DAYS, MAX_DAYS


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses it, to recognise it later (“batch renamer”, “Open WebUI”)."),
    )
    days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        error_messages={
            "min_value": _("A token lives at least 1 day."),
            "max_value": _("A token lives at most %(limit_value)s days (a year)."),
            "invalid": _("Give a whole number of days, from 1 to 365."),
        },
    )
    only_me_default = forms.BooleanField(
        label=_("Its jobs are “Only me” by default"),
        required=False,
        help_text=_(
            "Colleagues, admins included, do not see them unless a request says otherwise."
        ),
    )
