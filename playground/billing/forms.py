"""The form that takes an API key's secret: write-only, in the admin and in the app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from playground.billing.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("secret"),
        strip=True,
        required=False,
        # render_value=False: a re-rendered form (after an error) never echoes it.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("The EvoLink key (sk-evo-…). Stored encrypted; it cannot be shown again."),
    )

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = (
            "label",
            "secret",
            "team",
            "priority",
            "enabled",
            "low_balance_threshold",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].help_text = _(
                "Stored: %(masked)s. Type a new key to replace it; leave empty to keep it."
            ) % {"masked": self.instance.masked}
        else:
            self.fields["secret"].required = True

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if secret and (len(secret) < 12 or any(c.isspace() for c in secret)):
            raise forms.ValidationError(_("This does not look like an EvoLink key (sk-evo-…)."))
        return secret

    def save(self, commit: bool = True) -> ApiKey:
        key = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            key.set_secret(self.cleaned_data["secret"])
            # A new secret is a new key upstream: what EvoLink said of the old one is void.
            key.paused_until, key.denied_models = None, []
        if key.enabled:
            key.disabled_automatically_at = None  # someone looked and switched it on
        if commit:
            key.save()
        return key


class TeamKeyForm(ApiKeyForm):
    """A team admin's own keys: the team is theirs, not a choice."""

    class Meta(ApiKeyForm.Meta):
        fields = ("label", "secret", "priority", "enabled", "low_balance_threshold")
