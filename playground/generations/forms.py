"""One generation form per model, built from the catalogue.

Field names are the upstream parameter names (`model`, `prompt`, `size`,
`resolution`, `quality`, `n`), plus `width` / `height` for gpt-image-2's custom size.
The server is the judge: every rule comes from `catalogue`, and the browser's own
checks are only early hints.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground import catalogue, request_rules
from playground.catalogue import ModelSpec
from playground.generations import mask_uploads
from playground.generations.mask_uploads import AttachedMask
from playground.generations.models import Derivation
from playground.generations.references import Attached

CUSTOM_SIZE = "custom"


class GenerationForm(forms.Form):
    spec: ModelSpec  # set on each model's subclass
    # Bound to request.POST (a QueryDict) or, for a re-run or a matrix cell, a dict.
    data: MultiValueDict[str, Any] | dict[str, Any]

    model = forms.CharField(widget=forms.HiddenInput)
    client_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    prompt = forms.CharField(
        label=gettext_lazy("Prompt"),
        strip=False,
        required=False,  # the catalogue says why it is missing, in our words
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": gettext_lazy("A beautiful colourful sunset over the ocean"),
            }
        ),
    )
    quality = forms.ChoiceField(label=gettext_lazy("Quality"))
    n = forms.CharField(label=gettext_lazy("Number of images"))
    private = forms.BooleanField(
        label=gettext_lazy("Only me"),
        required=False,
        help_text=gettext_lazy("Hide this job and its images from your colleagues."),
    )
    # Lineage: the job this form was opened from ("Edit this", "Reuse settings"). The
    # server only records it when the person may see that job in this team.
    parent = forms.UUIDField(widget=forms.HiddenInput, required=False)
    parent_relation = forms.ChoiceField(
        widget=forms.HiddenInput,
        required=False,
        choices=[("", "")] + [(d.value, d.label) for d in Derivation],
    )

    def _choices_of(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)  # as the class declares it
        return field

    def __init__(
        self,
        *args: Any,
        references: list[Attached] | None = None,
        mask: AttachedMask | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Reference images travel as signed tokens outside Django's fields (they are
        # uploaded one by one, before the form is sent); the form only counts them.
        self.references = list(references or [])
        # So does the mask (mask_uploads.py). Its reference goes first: EvoLink matches
        # a mask against the first image.
        self.mask = mask
        if mask is not None:
            first = [r for r in self.references if r.image.pk == mask.reference_id]
            others = [r for r in self.references if r.image.pk != mask.reference_id]
            self.references = first[:1] + others
        spec = self.spec
        self.fields["model"].initial = spec.id
        self.fields["client_token"].initial = uuid.uuid4()
        self._choices_of("quality").choices = [
            (q, catalogue.QUALITY_LABELS[q]) for q in spec.qualities
        ]
        self.fields["quality"].initial = spec.default_quality
        self.fields["n"].initial = spec.default_n
        self.fields["n"].widget = forms.NumberInput(
            attrs={"min": spec.n_min, "max": spec.n_max, "step": 1}
        )
        # No `maxlength` for gpt-image-2: browsers count UTF-16 units, so an emoji
        # would count twice; the live counter and the server count code points.
        # gpt-image-2's background and output format (the catalogue says which model
        # has them). Not required: a form posted without them (a matrix cell, a re-run of
        # an older job) gets the documented defaults.
        self.preview_backgrounds = catalogue.PREVIEW_BACKGROUNDS
        if spec.backgrounds:
            self.fields["background"] = forms.ChoiceField(
                label=_("Background"),
                choices=[(b, catalogue.BACKGROUND_LABELS[b]) for b in spec.backgrounds],
                initial=spec.default_background,
                required=False,
                widget=forms.RadioSelect,
            )
        if spec.output_formats:
            self.fields["output_format"] = forms.ChoiceField(
                label=_("Format"),
                choices=[(f, catalogue.OUTPUT_FORMAT_LABELS[f]) for f in spec.output_formats],
                initial=spec.default_output_format,
                required=False,
            )

    def clean_model(self) -> str:
        if self.cleaned_data["model"] != self.spec.id:
            raise forms.ValidationError(_("The model changed while the form was open; try again."))
        return self.spec.id

    def clean_prompt(self) -> str:
        prompt = self.cleaned_data["prompt"]
        if errors := request_rules.prompt_errors(self.spec, prompt):
            raise forms.ValidationError(errors)
        return prompt

    def clean_n(self) -> int:
        raw = self.cleaned_data["n"].strip()
        spec = self.spec
        try:
            n = int(raw)
        except ValueError:
            n = None
        if n is None or not spec.n_min <= n <= spec.n_max:
            raise forms.ValidationError(
                _(
                    "Number of images must be a whole number from %(min)d to %(max)d "
                    "(got %(value)s)."
                )
                % {"min": spec.n_min, "max": spec.n_max, "value": raw or _("nothing")}
            )
        return n

    def clean_background(self) -> str:
        return self.cleaned_data.get("background") or self.spec.default_background

    def clean_output_format(self) -> str:
        return self.cleaned_data.get("output_format") or self.spec.default_output_format

    def upstream_size(self) -> str:
        return self.cleaned_data["size"]

    def payload(self) -> dict[str, Any]:
        """The request body for `POST /v1/images/generations` (valid forms only)."""
        data = self.cleaned_data
        body: dict[str, Any] = {
            "model": self.spec.id,
            "prompt": data["prompt"],
            "size": self.upstream_size(),
            "quality": data["quality"],
            "n": data["n"],
        }
        if self.spec.is_flexible and body["size"] in self.spec.ratios:
            body["resolution"] = data["resolution"]
        # Always sent where the model takes them, defaults included: the archive then
        # knows which format to expect, whatever EvoLink's default becomes.
        if self.spec.backgrounds:
            body["background"] = data["background"]
        if self.spec.output_formats:
            body["output_format"] = data["output_format"]
        return request_rules.request_body(self.spec, body)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "output_format" in cleaned and "background" in cleaned:
            # Said beside the format even when other fields are wrong too.
            for message in request_rules.transparency_errors(
                self.spec, cleaned["background"], cleaned["output_format"]
            ):
                self.add_error("output_format", message)
        if self.errors:
            return cleaned
        # A last guard: the whole request must pass the same rules the upstream
        # (and our simulator) applies, so nothing we send is rejected for a rule
        # the form forgot.
        excess = len(self.references) - catalogue.MAX_REFERENCE_IMAGES
        if excess > 0:
            message = _(
                "%(count)d reference images are attached; at most %(max)d are allowed. "
                "Remove %(excess)d."
            ) % {
                "count": len(self.references),
                "max": catalogue.MAX_REFERENCE_IMAGES,
                "excess": excess,
            }
            # The code lets the page clear the message once enough are removed.
            self.add_error(None, ValidationError(message, code="too_many_references"))
            return cleaned
        if self.mask is not None and (problem := self._mask_problem()):
            self.add_error(None, ValidationError(problem, code="mask"))
            return cleaned
        payload = self.payload()
        if self.references:
            # Placeholders: the real URLs are made when the job is submitted.
            payload["image_urls"] = ["https://reference.invalid/x.png"] * len(self.references)
        if self.mask is not None:
            payload["mask_url"] = "https://mask.invalid/x.png"
        for name, messages in request_rules.request_errors(payload).items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)
        return cleaned

    def _mask_problem(self) -> str | None:
        """Why the attached mask cannot go with this job, or None."""
        assert self.mask is not None
        if not self.spec.takes_mask:
            return _(
                "%(model)s does not take a mask: switch to a model that does, or remove the mask."
            ) % {"model": self.spec.label}
        reference = self.masked_reference
        if reference is None:
            return _(
                "The image the mask was painted on is no longer attached: attach it again, "
                "or remove the mask."
            )
        if not mask_uploads.fits(self.mask, reference.image):
            return mask_uploads.wrong_size(self.mask.mask, reference.image)
        return None

    @property
    def masked_reference(self) -> Attached | None:
        """The attached reference the mask belongs to (None without one)."""
        if self.mask is None:
            return None
        return next((r for r in self.references if r.image.pk == self.mask.reference_id), None)


class FixedSizeForm(GenerationForm):
    """gpt-image-1 and gpt-image-1.5: three pixel sizes, each accepted upstream as a
    ratio ("2:3") or in pixels ("1024x1536"). Listed once each ("2:3 · 1024×1536"), in
    the spelling of the model's default; the other spelling is accepted and normalized."""

    size = forms.ChoiceField(label=gettext_lazy("Size"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = self.spec
        self._choices_of("size").choices = [(s, _size_label(spec, s)) for s in _listed_sizes(spec)]
        self.fields["size"].initial = spec.default_size
        if "size" in self.initial:
            self.initial["size"] = _listed_size(spec, self.initial["size"])

    def full_clean(self) -> None:
        if self.is_bound and self.data.get("size") in self.spec.sizes:
            listed = _listed_size(self.spec, self.data["size"])
            if listed != self.data["size"]:
                data = self.data.copy()
                data["size"] = listed
                self.data = data
        super().full_clean()
        self.order_fields(["model", "client_token", "prompt", "size", "quality", "n", "private"])


class FlexibleSizeForm(GenerationForm):
    """gpt-image-2: auto, an aspect ratio at a resolution tier, or a custom W×H."""

    size = forms.ChoiceField(label=gettext_lazy("Size"))
    resolution = forms.ChoiceField(label=gettext_lazy("Resolution"), required=False)
    width = forms.IntegerField(label=gettext_lazy("Width (px)"), required=False)
    height = forms.IntegerField(label=gettext_lazy("Height (px)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = self.spec
        assert spec.custom is not None
        self._choices_of("size").choices = [
            ("auto", _("Auto (the model decides)")),
            (_("Aspect ratio"), [(r, r) for r in spec.ratios]),
            (CUSTOM_SIZE, _("Custom W×H")),
        ]
        self.fields["size"].initial = spec.default_size
        self._choices_of("resolution").choices = [(r, r) for r in spec.resolutions]
        self.fields["resolution"].initial = spec.default_resolution
        for name in ("width", "height"):
            self.fields[name].widget.attrs.update(
                {
                    "min": spec.custom.multiple_of,
                    "max": spec.custom.max_edge,
                    "step": spec.custom.multiple_of,
                    "placeholder": "1024",
                }
            )
            self.fields[name].error_messages["invalid"] = _(
                "Enter the %(edge)s as a whole number of pixels."
            ) % {"edge": _("width") if name == "width" else _("height")}
        self.order_fields(
            [
                "model",
                "client_token",
                "prompt",
                "size",
                "resolution",
                "width",
                "height",
                "quality",
                "n",
                "background",
                "output_format",
                "private",
            ]
        )

    def clean_resolution(self) -> str:
        return self.cleaned_data["resolution"] or self.spec.default_resolution

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data.get("size") == CUSTOM_SIZE:
            width, height = data.get("width"), data.get("height")
            if width is None and "width" not in self.errors:
                self.add_error("width", _("Enter a width for the custom size."))
            if height is None and "height" not in self.errors:
                self.add_error("height", _("Enter a height for the custom size."))
            if width is not None and height is not None:
                for name, messages in catalogue.custom_size_errors(
                    self.spec, width, height
                ).items():
                    for message in messages:
                        self.add_error(name, message)
        return super().clean()

    def upstream_size(self) -> str:
        data = self.cleaned_data
        if data["size"] == CUSTOM_SIZE:
            return f"{data['width']}x{data['height']}"
        return data["size"]

    def full_clean(self) -> None:
        # A posted "WxH" (from a re-run or an API-minded user) is shown as Custom.
        if self.is_bound and (wxh := catalogue.parse_wxh(self.data.get("size", ""))):
            data = self.data.copy()
            data["size"], data["width"], data["height"] = CUSTOM_SIZE, str(wxh[0]), str(wxh[1])
            self.data = data
        super().full_clean()


def _listed_sizes(spec: ModelSpec) -> list[str]:
    """One value per pixel size, spelled like the model's default."""
    ratio_style = catalogue.parse_wxh(spec.default_size) is None
    return [s for s in spec.sizes if (catalogue.parse_wxh(s) is None) == ratio_style]


def _listed_size(spec: ModelSpec, size: str) -> str:
    """The listed value with the same pixels as `size` (unknown values unchanged)."""
    pixels = spec.size_pixels.get(size)
    for listed in _listed_sizes(spec):
        if pixels is not None and spec.size_pixels[listed] == pixels:
            return listed
    return size


def _size_label(spec: ModelSpec, size: str) -> str:
    """ "2:3 · 1024×1536": the shape and the pixels, whichever way the value is spelled."""
    w, h = spec.size_pixels[size]
    ratio = next(
        (s for s in spec.sizes if catalogue.parse_wxh(s) is None and spec.size_pixels[s] == (w, h)),
        None,
    )
    return f"{ratio} · {w}×{h}" if ratio else f"{w}×{h}"


FORMS: dict[str, type[GenerationForm]] = {
    spec.id: type(
        f"{spec.label.replace(' ', '').replace('.', '_')}Form",
        (FlexibleSizeForm if spec.is_flexible else FixedSizeForm,),
        {"spec": spec},
    )
    for spec in catalogue.MODELS.values()
}


def form_for(model_id: str | None) -> type[GenerationForm]:
    """The form class of a model; unknown or missing ids get the default model's."""
    return FORMS.get(model_id or "", FORMS[catalogue.DEFAULT_MODEL])
