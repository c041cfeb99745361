"""The options of a new share link, and the password form of a link's public page."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground.sharing.links import Options
from playground.sharing.models import ShareLink

PASSWORD_MIN = 6


class ShareLinkForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        required=False,
        max_length=ShareLink.TITLE_MAX,
        help_text=gettext_lazy("Shown at the top of the page, e.g. the client's project."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=ShareLink.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    show_prompts = forms.BooleanField(label=gettext_lazy("Show prompts"), required=False)
    show_names = forms.BooleanField(label=gettext_lazy("Show who made each image"), required=False)
    approved_only = forms.BooleanField(label=gettext_lazy("Approved images only"), required=False)
    expires_on = forms.DateField(
        label=gettext_lazy("Expires after"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The link works through this day. Empty: until revoked."),
        error_messages={"invalid": gettext_lazy("Enter a date such as 2026-12-31.")},
    )
    # Kept in the field when the form comes back with an error elsewhere, so nothing
    # typed is lost; it is never shown again once the link is made.
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Optional. Whoever opens the link must type it."),
    )

    def clean_expires_on(self) -> object:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later day: this one is past."))
        return day

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password", "")
        if password and len(password) < PASSWORD_MIN:
            raise forms.ValidationError(
                _("A password has at least %(min)d characters.") % {"min": PASSWORD_MIN}
            )
        return password

    def options(self) -> Options:
        data = self.cleaned_data
        return Options(
            title=data["title"].strip(),
            note=data["note"].strip(),
            show_prompts=data["show_prompts"],
            show_names=data["show_names"],
            approved_only=data["approved_only"],
            expires_on=data["expires_on"],
            password=data["password"],
        )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": gettext_lazy("Type the password you were given.")},
    )
