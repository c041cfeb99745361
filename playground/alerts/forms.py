"""The team page's alert settings: thresholds and the webhook."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from playground.alerts.models import AlertSettings

MAX_THRESHOLDS = 10
THRESHOLDS_MESSAGE = gettext_lazy(
    "Thresholds are whole percentages from 1 to 200, separated by commas "
    "(for example 50, 80, 100); at most 10."
)


class AlertSettingsForm(forms.ModelForm):
    thresholds = forms.CharField(
        label=gettext_lazy("Alert at (percent of the budget or a cap)"),
        max_length=100,
        error_messages={"required": THRESHOLDS_MESSAGE},
    )
    webhook_url = forms.URLField(
        label=gettext_lazy("Webhook URL (Slack-compatible; empty: e-mail only)"),
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
    )

    class Meta:
        model = AlertSettings
        fields = ("thresholds", "webhook_url")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["thresholds"] = ", ".join(str(t) for t in self.instance.thresholds)

    def clean_thresholds(self) -> list[int]:
        text = self.cleaned_data["thresholds"]
        parts = [p.strip().rstrip("%").strip() for p in text.replace(";", ",").split(",")]
        parts = [p for p in parts if p]
        if not parts or len(parts) > MAX_THRESHOLDS or not all(p.isdigit() for p in parts):
            raise forms.ValidationError(THRESHOLDS_MESSAGE)
        values = sorted({int(p) for p in parts})
        if values[0] < 1 or values[-1] > 200:
            raise forms.ValidationError(THRESHOLDS_MESSAGE)
        return values

    def clean_webhook_url(self) -> str:
        url: str = self.cleaned_data["webhook_url"]
        # A signed alert travels in clear over http: only for a receiver the operator
        # allowed inside the company's network.
        if url and not url.startswith("https://") and not settings.ALERTS_WEBHOOK_ALLOW_PRIVATE:
            raise forms.ValidationError(gettext_lazy("The webhook URL must start with https://."))
        return url
