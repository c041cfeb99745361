"""The live panel of the studio form: token or character count, pixel size, estimate.

Computed from raw (maybe invalid) form values: invalid values are reported, never
raised. The panel is a hint; the server's validation on Generate is the judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground import catalogue, numbers, pricing, request_rules
from playground.generations.forms import CUSTOM_SIZE


def live_summary(
    spec: catalogue.ModelSpec, data: Mapping[str, Any], references: int | None = None
) -> dict[str, Any]:
    """What the form's live panel shows, from raw (maybe invalid) form values."""
    prompt = data.get("prompt") or ""
    length = request_rules.prompt_length(spec, prompt)
    quality = data.get("quality") or ""
    if quality not in spec.qualities:
        quality = spec.default_quality
    # An n the form would refuse gets no estimate: "× 10" for 11 would be a wrong figure.
    raw_n = str(data.get("n") or spec.default_n).strip()
    n = int(raw_n) if raw_n.isdigit() else 0
    n_problem = ""
    if not spec.n_min <= n <= spec.n_max:
        n_problem = _("Number of images: a whole number from %(min)d to %(max)d.") % {
            "min": spec.n_min,
            "max": spec.n_max,
        }
        n = spec.default_n
    if references is None:
        references = len(data.getlist("reference")) if isinstance(data, QueryDict) else 0

    size = data.get("size") or spec.default_size
    resolution = data.get("resolution") or spec.default_resolution or None
    size_problems: list[str] = []
    size_pending = False
    if spec.is_flexible and size == CUSTOM_SIZE:
        try:
            width, height = int(data.get("width") or 0), int(data.get("height") or 0)
        except ValueError:
            width, height = 0, 0
        if not width or not height:
            # Not an error while the person has not typed both yet.
            size_pending = True
        else:
            found = catalogue.custom_size_errors(spec, width, height)
            size_problems = [m for messages_ in found.values() for m in messages_]
        size = f"{width}x{height}"
    elif request_rules.size_errors(spec, size, resolution if spec.is_flexible else None):
        size, resolution = spec.default_size, spec.default_resolution or None

    context: dict[str, Any] = {
        "spec": spec,
        "prompt_length": length,
        "prompt_over": length > spec.prompt_limit,
        "size_problems": size_problems,
        "size_pending": size_pending,
        "n_problem": n_problem,
        "n": n,
        "references": references,
    }
    if size_problems or size_pending or n_problem:
        return context
    estimate = pricing.estimate(
        spec,
        quality=quality,
        size=size,
        resolution=resolution,
        n=n,
        reference_images=references,
        prompt=prompt,
    )
    context["estimate"] = estimate
    if estimate.text_tokens:
        # Shown apart from the per-image figure, which stays the pages' image-only price.
        values = {
            # A short prompt costs less than a hundredth: "0.00" would read as free.
            "credits": numbers.credits(estimate.text_credits)
            if estimate.text_credits >= Decimal("0.005")
            else "< " + numbers.credits(Decimal("0.01")),
            "tokens": numbers.grouped(estimate.text_tokens),
            "n": estimate.n,
        }
        if estimate.text_per_image and estimate.n > 1:
            message = ngettext(
                "%(credits)s credits for the prompt (%(tokens)s token × %(n)d)",
                "%(credits)s credits for the prompt (%(tokens)s tokens × %(n)d)",
                estimate.text_tokens,
            )
        else:
            message = ngettext(
                "%(credits)s credits for the prompt (%(tokens)s token)",
                "%(credits)s credits for the prompt (%(tokens)s tokens)",
                estimate.text_tokens,
            )
        context["prompt_cost"] = message % values
        context["prompt_credits"] = estimate.text_credits  # the exact figure, on hover
    if estimate.auto:
        context["size_text"] = _("Auto: the model picks the size (priced as %(w)d×%(h)d)") % {
            "w": estimate.width,
            "h": estimate.height,
        }
    elif spec.is_flexible and size in spec.ratios:
        context["size_text"] = _("%(ratio)s at %(tier)s → %(w)d×%(h)d") % {
            "ratio": size,
            "tier": resolution,
            "w": estimate.width,
            "h": estimate.height,
        }
    elif catalogue.parse_wxh(size):
        context["size_text"] = f"{estimate.width}×{estimate.height}"
    else:
        context["size_text"] = f"{size} → {estimate.width}×{estimate.height}"
    return context
