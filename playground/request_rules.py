"""The rules a request to `POST /v1/images/generations` must satisfy, per model.

Shared by the forms (a person's job), the simulator (one upstream request) and the
worker (what may be sent): `request_errors` checks every documented rule at once,
`request_body` drops the fields a model does not take, and the smaller checks
(`prompt_errors`, `size_errors`, `transparency_errors`) serve the forms' and the live
preview's field-by-field messages.

The rules read their models, defaults and limits from catalogue.py, which stays the
one place that holds them; they live apart so that catalogue.py is the models as data
and this module the validation built on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from playground.catalogue import (
    ALPHA_OUTPUT_FORMATS,
    MAX_CALLBACK_URL_LENGTH,
    MAX_REFERENCE_IMAGES,
    MODEL_IDS,
    MODELS,
    OUTPUT_FORMAT_LABELS,
    ModelSpec,
    custom_size_errors,
    parse_wxh,
    size_text,
    upstream_n_limit,
)
from playground.numbers import grouped


def prompt_length(spec: ModelSpec, prompt: str) -> int:
    """The prompt's length in the unit its model limits it by."""
    if spec.prompt_unit == "tokens":
        from playground.tokenizer import count_tokens  # heavy: load on first use

        return count_tokens(prompt)
    return len(prompt)  # Python strings count Unicode code points, as EvoLink does.


def prompt_errors(spec: ModelSpec, prompt: str) -> list[str]:
    if not prompt.strip():
        return [_("Describe the image you want: the prompt is required.")]
    length = prompt_length(spec, prompt)
    if length > spec.prompt_limit:
        unit = _("tokens") if spec.prompt_unit == "tokens" else _("characters")
        return [
            _("The prompt is %(length)s %(unit)s long; %(model)s accepts at most %(limit)s.")
            % {
                "length": grouped(length),
                "unit": unit,
                "model": spec.label,
                "limit": grouped(spec.prompt_limit),
            }
        ]
    return []


def size_errors(spec: ModelSpec, size: str, resolution: str | None) -> dict[str, list[str]]:
    if not spec.is_flexible:
        if size not in spec.sizes:
            return {
                "size": [
                    _("%(model)s accepts these sizes: %(sizes)s (got %(size)s).")
                    % {
                        "model": spec.label,
                        "sizes": ", ".join(size_text(s) for s in spec.sizes),
                        "size": size_text(size),
                    }
                ]
            }
        return {}
    errors: dict[str, list[str]] = {}
    if resolution is not None and resolution not in spec.resolutions:
        errors["resolution"] = [
            _("Resolution must be one of %(choices)s (got %(value)s).")
            % {"choices": ", ".join(spec.resolutions), "value": resolution}
        ]
    if size == "auto" or size in spec.ratios:
        return errors
    parsed = parse_wxh(size)
    if parsed is None:
        errors["size"] = [
            _("Size must be auto, an aspect ratio such as 16:9, or WIDTHxHEIGHT (got %(size)s).")
            % {"size": size}
        ]
        return errors
    for name, messages in custom_size_errors(spec, *parsed).items():
        errors.setdefault(name, []).extend(messages)
    return errors


def transparency_errors(spec: ModelSpec, background: str, output_format: str) -> list[str]:
    """A transparent background in a format without alpha (reference, August 2026)."""
    if background == "transparent" and output_format not in ALPHA_OUTPUT_FORMATS:
        return [
            _(
                "A transparent background needs PNG or WebP: %(format)s has no transparency. "
                "Choose PNG or WebP, or an opaque background."
            )
            % {"format": OUTPUT_FORMAT_LABELS.get(output_format, output_format)}
        ]
    return []


def unknown_fields(spec: ModelSpec, payload: Mapping[str, Any]) -> list[str]:
    """The fields of `payload` the reference does not list for this model, sorted."""
    return sorted(name for name in payload if name not in spec.request_fields)


def request_body(spec: ModelSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without the fields this model does not take: what may be sent."""
    return {name: value for name, value in values.items() if name in spec.request_fields}


def request_errors(payload: Mapping[str, Any], *, upstream: bool = False) -> dict[str, list[str]]:
    """Every rule EvoLink documents for `POST /v1/images/generations`.

    `upstream=True` (the simulator) checks `n` against what one upstream request may
    carry; the forms check what a person may ask for (a job the worker may split).

    Returns field name -> messages (empty when the request is valid). Field names
    are the upstream parameter names, except that gpt-image-2's custom size rules
    report against `width` / `height` when they concern one edge.
    """
    model_id = payload.get("model")
    if model_id not in MODELS:
        return {
            "model": [
                _("Unknown model %(model)s; choose one of %(models)s.")
                % {"model": model_id, "models": ", ".join(MODEL_IDS)}
            ]
        }
    spec = MODELS[model_id]
    errors: dict[str, list[str]] = {}

    # EvoLink refuses parameters its reference does not list for the model (reference,
    # August 2026), so one stray field would fail a whole job.
    for name in unknown_fields(spec, payload):
        errors[name] = [
            _("%(model)s does not take the parameter %(name)s.")
            % {"model": spec.label, "name": name}
        ]

    prompt = payload.get("prompt")
    if not isinstance(prompt, str):
        errors["prompt"] = [_("Describe the image you want: the prompt is required.")]
    elif messages := prompt_errors(spec, prompt):
        errors["prompt"] = messages

    size = payload.get("size", spec.default_size)
    resolution = payload.get("resolution") if spec.is_flexible else None
    if not isinstance(size, str):
        errors["size"] = [_("Size must be text such as 1024x1024.")]
    else:
        for name, messages in size_errors(spec, size, resolution).items():
            errors.setdefault(name, []).extend(messages)

    quality = payload.get("quality", spec.default_quality)
    if quality not in spec.qualities:
        errors["quality"] = [
            _("Quality must be one of %(choices)s (got %(value)s).")
            % {"choices": ", ".join(spec.qualities), "value": quality}
        ]

    n = payload.get("n", spec.default_n)
    n_max = upstream_n_limit(spec) if upstream else spec.n_max
    if isinstance(n, bool) or not isinstance(n, int) or not spec.n_min <= n <= n_max:
        errors["n"] = [
            _("Number of images must be a whole number from %(min)d to %(max)d (got %(value)s).")
            % {"min": spec.n_min, "max": n_max, "value": n}
        ]

    if spec.backgrounds:
        background = payload.get("background", spec.default_background)
        if background not in spec.backgrounds:
            errors["background"] = [
                _("Background must be one of %(choices)s (got %(value)s).")
                % {"choices": ", ".join(spec.backgrounds), "value": background}
            ]
    if spec.output_formats:
        output_format = payload.get("output_format", spec.default_output_format)
        if output_format not in spec.output_formats:
            errors["output_format"] = [
                _("Output format must be one of %(choices)s (got %(value)s).")
                % {"choices": ", ".join(spec.output_formats), "value": output_format}
            ]
        elif messages := transparency_errors(
            spec, str(payload.get("background", spec.default_background)), output_format
        ):
            errors["output_format"] = messages

    if "mask_url" in spec.request_fields and "mask_url" in payload:
        mask = payload["mask_url"]
        if not isinstance(mask, str) or urlsplit(mask).scheme not in {"http", "https"}:
            errors["mask_url"] = [_("The mask must be an http(s) URL.")]

    if "image_urls" in payload:
        urls = payload["image_urls"]
        if not isinstance(urls, list) or not 1 <= len(urls) <= MAX_REFERENCE_IMAGES:
            errors["image_urls"] = [
                _("Send between 1 and %(max)d reference images.") % {"max": MAX_REFERENCE_IMAGES}
            ]
        elif not all(isinstance(u, str) and urlsplit(u).scheme in {"http", "https"} for u in urls):
            errors["image_urls"] = [_("Every reference image must be an http(s) URL.")]

    if "callback_url" in payload:
        callback = payload["callback_url"]
        if (
            not isinstance(callback, str)
            or urlsplit(callback).scheme != "https"
            or len(callback) > MAX_CALLBACK_URL_LENGTH
        ):
            errors["callback_url"] = [
                _("The callback URL must be HTTPS and at most %(max)d characters.")
                % {"max": MAX_CALLBACK_URL_LENGTH}
            ]
    return errors
