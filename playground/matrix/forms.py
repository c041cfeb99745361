"""The matrix page's own fields. Each cell is then checked by its model's studio form
(playground/matrix/plan.py): this form only reads what was ticked and typed."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from playground import catalogue
from playground.matrix.models import RunKind
from playground.matrix.plan import size_choices
from playground.teams import availability
from playground.teams.models import Team

FLEXIBLE = next(spec for spec in catalogue.MODELS.values() if spec.is_flexible)


def _resolution_label() -> str:
    # Formatted when a page shows it, in the reader's language: `gettext_lazy(...) % {}`
    # here would be translated once, at import, into whatever language was active then.
    return gettext("Resolution of %(model)s's ratios") % {"model": FLEXIBLE.label}


class MatrixForm(forms.Form):
    data: MultiValueDict[str, Any]  # request.POST, a QueryDict made by the view, or empty

    mode = forms.ChoiceField(
        choices=[(RunKind.MATRIX, _("One prompt")), (RunKind.TEMPLATE, _("Template"))],
        widget=forms.RadioSelect,
        initial=RunKind.MATRIX,
        required=False,
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    prompt = forms.CharField(
        label=_("Prompt"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    template = forms.CharField(
        label=_("Template"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("A {animal} in a {colour} raincoat, watercolour")}
        ),
        help_text=_("Put each variable in braces: {animal}. Values go below, one per line."),
    )
    models = forms.MultipleChoiceField(
        label=_("Models"),
        choices=[(spec.id, spec.label) for spec in catalogue.MODELS.values()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Tick at least one model."),
            "invalid_choice": _("%(value)s is switched off for this team: untick it."),
        },
    )
    qualities = forms.MultipleChoiceField(
        label=_("Qualities"),
        choices=[(q, catalogue.QUALITY_LABELS[q]) for q in catalogue.QUALITIES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one quality.")},
    )
    sizes = forms.MultipleChoiceField(
        label=_("Sizes"),
        choices=size_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one size.")},
    )
    resolution = forms.ChoiceField(
        label=lazy(_resolution_label, str)(),
        choices=[(r, r) for r in FLEXIBLE.resolutions],
        initial=FLEXIBLE.default_resolution,
        required=False,
    )
    n = forms.CharField(
        label=_("Images per job"),
        initial=1,
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 10, "step": 1}),
    )
    private = forms.BooleanField(
        label=_("Only me"),
        required=False,
        help_text=_("Hide these jobs and their images from your colleagues."),
    )
    # Lineage carried from the studio ("Edit this", "Reuse settings"): each job records it
    # as the studio would, when the person may see that job.
    parent = forms.CharField(widget=forms.HiddenInput, required=False)
    parent_relation = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The last field, added here: as a class attribute its name would hide
        # Form.template_name (the template the form renders itself with).
        self.fields["template_name"] = forms.CharField(
            label=_("Save as"), required=False, max_length=120
        )
        self.fields["client_token"].initial = uuid.uuid4()
        if team is not None:
            # Only the models the team may use (a saved template or an old run may name
            # one switched off since: it is refused with a sentence saying so).
            models_field = self.fields["models"]
            assert isinstance(models_field, forms.MultipleChoiceField)
            models_field.choices = [
                (spec.id, spec.label) for spec in availability.available_models(team)
            ]

    @property
    def mode_value(self) -> str:
        value = self.data.get("mode") if self.is_bound else self.initial.get("mode")
        return RunKind.TEMPLATE if value == RunKind.TEMPLATE else RunKind.MATRIX

    def text(self) -> str:
        """The prompt, or the template in template mode."""
        return (self.cleaned_data.get(self.mode_value.replace("matrix", "prompt")) or "").strip()

    def cleaned(self, name: str) -> list[str]:
        return list(self.cleaned_data.get(name) or [])
