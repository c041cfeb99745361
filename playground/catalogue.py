"""The three GPT Image models as data: every documented parameter, default and limit.

Source: EvoLink's product pages for the three models and its API reference
(docs.evolink.ai). Forms,
validation, the price estimate, the simulator and the tests all read this module;
no other module hardcodes a model id, a default or a limit. The rules a whole request
must satisfy, built on these, are in request_rules.py.

Points the upstream documents only by example are marked INFERRED, and each lives
in exactly one constant here, so a correction is a one-line change. Points where EvoLink's
API reference (its OpenAPI files, last changed August 2026) differs from the seed pages
are marked "reference, August 2026".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground import imageformats
from playground.numbers import grouped

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

QUALITIES = ("low", "medium", "high")
QUALITY_LABELS = {
    "low": gettext_lazy("Low"),
    "medium": gettext_lazy("Medium"),
    "high": gettext_lazy("High"),
}

# Reference images (VERIFIED for all three models).
MAX_REFERENCE_IMAGES = 16
MAX_REFERENCE_BYTES = 50 * 1024 * 1024
REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP")
REFERENCE_MIME_TYPES = tuple(imageformats.BY_PILLOW[f].mime_type for f in REFERENCE_FORMATS)
# EvoLink refuses references above these (and Pillow only warns below ~179 MP).
MAX_REFERENCE_PIXELS = 178_956_970
MAX_REFERENCE_EDGE = 23_170
MAX_CALLBACK_URL_LENGTH = 2048
# A mask (gpt-image-2, `mask_url`): a PNG whose pixels with alpha < 255 are the region
# to change, exactly the reference's width × height (reference, August 2026).
MASK_FORMAT = "PNG"
MASK_OPAQUE_ALPHA = 255

# The request fields EvoLink's API reference lists per model (reference, August 2026:
# "unknown parameters are refused", so nothing else is ever sent). The seed pages
# list the same fields minus gpt-image-2's `background`, `output_format`, `mask_url`.
_COMMON_FIELDS = frozenset(
    {"model", "prompt", "size", "quality", "n", "image_urls", "callback_url"}
)

# gpt-image-2's background (reference, August 2026; not on the seed pages). `opaque` is
# the documented default; `transparent` is a "Preview feature, results may be unstable".
BACKGROUND_LABELS = {
    "opaque": gettext_lazy("Opaque"),
    "transparent": gettext_lazy("Transparent"),
}
PREVIEW_BACKGROUNDS = frozenset({"transparent"})
# Its output formats (reference, August 2026). The reference names no default: INFERRED
# `png`, the first it lists and OpenAI's own default; we always send the choice, so the
# archive knows what to expect whatever the default is.
OUTPUT_FORMAT_LABELS = {f.output: f.label for f in imageformats.FORMATS}
# "A transparent background needs png or webp" (reference, August 2026): JPEG has no
# alpha channel.
ALPHA_OUTPUT_FORMATS = frozenset({"png", "webp"})

# Billing: 68 credits buy one US dollar (VERIFIED).
CREDITS_PER_USD = Decimal(68)
# INFERRED (fitted to the pages' published price ranges): every reference image is
# billed as 1536 image-input tokens, whatever its size.
REFERENCE_IMAGE_INPUT_TOKENS = 1536


@dataclass(frozen=True)
class Rates:
    """Credits per 1,000 tokens, per token category."""

    image_output: Decimal
    image_input: Decimal
    image_cached_input: Decimal
    text_input: Decimal
    text_cached_input: Decimal
    output_text: Decimal | None  # None: not billed for this model


@dataclass(frozen=True)
class CustomSizeRules:
    """gpt-image-2's explicit WxH rules (VERIFIED)."""

    multiple_of: int = 16
    max_edge: int = 3840
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400
    max_aspect: int = 3


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    summary: StrOrPromise
    prompt_limit: int
    prompt_unit: Literal["tokens", "characters"]
    # "fixed": a short list of size values; "flexible": auto, ratio + tier, or WxH.
    size_mode: Literal["fixed", "flexible"]
    default_size: str
    default_quality: str
    rates: Rates
    sizes: tuple[str, ...] = ()
    # fixed models: what each size value means in pixels (ratio forms INFERRED).
    size_pixels: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # fixed models: OpenAI's published output-token table, quality -> (W, H) -> tokens.
    output_tokens: Mapping[str, Mapping[tuple[int, int], int]] = field(default_factory=dict)
    # flexible models:
    ratios: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    default_resolution: str = ""
    resolution_budgets: Mapping[str, int] = field(default_factory=dict)
    custom: CustomSizeRules | None = None
    quality_tile_base: Mapping[str, int] = field(default_factory=dict)
    auto_estimate_size: tuple[int, int] = (0, 0)
    n_min: int = 1
    n_max: int = 10
    default_n: int = 1
    qualities: tuple[str, ...] = QUALITIES
    # Whether the prompt's text input tokens are billed once per image (times n) or once
    # per request. gpt-image-2 sets True: VERIFIED, its page says "text input tokens scale
    # linearly with n". gpt-image-1 / 1.5 keep this default: INFERRED, their pages say only
    # that each image is billed by its own token usage, and the prompt is sent once.
    text_input_per_image: bool = False
    # How many images one upstream request may ask for, when fewer than a person may ask
    # for (`n_max`): the worker then sends several upstream tasks for one job (see
    # `upstream_split`). None: one request carries the whole `n`.
    upstream_n_max: int | None = None
    # The request fields this model takes (see _COMMON_FIELDS); anything else is refused.
    request_fields: frozenset[str] = _COMMON_FIELDS
    # Background and output format choices, first = default; () for models without them.
    backgrounds: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    # (reference, August 2026) The day EvoLink took the model's API offline ("" = offered).
    # A withdrawn model is not offered unless settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS
    # or a superuser's switch (teams.availability) says otherwise; old jobs stay readable.
    withdrawn_on: str = ""

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_on)

    @property
    def takes_mask(self) -> bool:
        """Edits of this model may carry a mask (`mask_url`, with `image_urls`)."""
        return "mask_url" in self.request_fields

    @property
    def is_flexible(self) -> bool:
        return self.size_mode == "flexible"

    def defaults(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "model": self.id,
            "size": self.default_size,
            "quality": self.default_quality,
            "n": self.default_n,
        }
        if self.is_flexible:
            values["resolution"] = self.default_resolution
        if self.backgrounds:
            values["background"] = self.default_background
        if self.output_formats:
            values["output_format"] = self.default_output_format
        return values

    @property
    def default_background(self) -> str:
        return self.backgrounds[0] if self.backgrounds else ""

    @property
    def default_output_format(self) -> str:
        return self.output_formats[0] if self.output_formats else ""


_FIXED_SIZES = ("1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024")
# INFERRED: the ratio forms of gpt-image-1 / 1.5 are aliases of the three pixel sizes.
_FIXED_SIZE_PIXELS = {
    "1:1": (1024, 1024),
    "2:3": (1024, 1536),
    "3:2": (1536, 1024),
    "1024x1024": (1024, 1024),
    "1024x1536": (1024, 1536),
    "1536x1024": (1536, 1024),
}
_FIXED_OUTPUT_TOKENS = {
    "low": {(1024, 1024): 272, (1024, 1536): 408, (1536, 1024): 400},
    "medium": {(1024, 1024): 1056, (1024, 1536): 1584, (1536, 1024): 1568},
    "high": {(1024, 1024): 4160, (1024, 1536): 6240, (1536, 1024): 6208},
}

MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="gpt-image-1",
            label="GPT Image 1",
            summary=gettext_lazy("Flexible editing route; legacy-compatible."),
            prompt_limit=2000,
            prompt_unit="tokens",
            size_mode="fixed",
            sizes=_FIXED_SIZES,
            default_size="1024x1024",
            size_pixels=_FIXED_SIZE_PIXELS,
            output_tokens=_FIXED_OUTPUT_TOKENS,
            default_quality="high",
            # (reference, August 2026) Its API page was archived on this day; a create
            # for it is now refused ("model not found") or answered with a 5xx.
            withdrawn_on="2026-05-29",
            rates=Rates(
                image_output=Decimal("2.448"),
                image_input=Decimal("0.612"),
                image_cached_input=Decimal("0.153"),
                text_input=Decimal("0.306"),
                text_cached_input=Decimal("0.0765"),
                output_text=None,
            ),
        ),
        ModelSpec(
            id="gpt-image-1.5",
            label="GPT Image 1.5",
            summary=gettext_lazy("Cheaper per image than GPT Image 1, same controls."),
            prompt_limit=2000,
            prompt_unit="tokens",
            size_mode="fixed",
            sizes=_FIXED_SIZES,
            default_size="1:1",
            size_pixels=_FIXED_SIZE_PIXELS,
            output_tokens=_FIXED_OUTPUT_TOKENS,
            default_quality="high",
            # The product page promises 1-10 images, so the form offers 1-10 ...
            n_max=10,
            # ... but reference, August 2026: the API takes `n = 1` only (enum [1],
            # "currently only supports 1"). A job of n images is sent as n tasks of n=1.
            upstream_n_max=1,
            rates=Rates(
                image_output=Decimal("1.9584"),
                image_input=Decimal("0.4896"),
                image_cached_input=Decimal("0.1224"),
                text_input=Decimal("0.306"),
                text_cached_input=Decimal("0.0765"),
                output_text=Decimal("0.612"),
            ),
        ),
        ModelSpec(
            id="gpt-image-2",
            label="GPT Image 2",
            summary=gettext_lazy("Newest: any aspect ratio up to 4K, long prompts."),
            prompt_limit=32_000,
            prompt_unit="characters",
            size_mode="flexible",
            default_size="auto",
            ratios=(
                "1:1",
                "1:2",
                "2:1",
                "1:3",
                "3:1",
                "2:3",
                "3:2",
                "3:4",
                "4:3",
                "4:5",
                "5:4",
                "9:16",
                "16:9",
                "21:9",
                "9:21",
            ),
            resolutions=("1K", "2K", "4K"),
            default_resolution="1K",
            resolution_budgets={"1K": 1024 * 1024, "2K": 2048 * 2048, "4K": 8_294_400},
            custom=CustomSizeRules(),
            quality_tile_base={"low": 16, "medium": 48, "high": 96},
            # The pages estimate `auto` as its conservative cap.
            auto_estimate_size=(2048, 2048),
            default_quality="medium",
            text_input_per_image=True,
            # reference, August 2026: three fields the seed pages do not list. `mask_url`
            # (inpainting, edits only) makes `takes_mask` true: only this model offers masks.
            request_fields=_COMMON_FIELDS
            | {"resolution", "background", "output_format", "mask_url"},
            backgrounds=("opaque", "transparent"),
            output_formats=("png", "jpeg", "webp"),
            rates=Rates(
                image_output=Decimal("1.836"),
                image_input=Decimal("0.4896"),
                image_cached_input=Decimal("0.1224"),
                text_input=Decimal("0.306"),
                text_cached_input=Decimal("0.0765"),
                output_text=None,
            ),
        ),
    )
}
MODEL_IDS = tuple(MODELS)
DEFAULT_MODEL = "gpt-image-2"

# Task failure codes (VERIFIED list) and whether trying again later can help.
FAILURE_CODES: dict[str, bool] = {
    "content_policy_violation": False,
    "invalid_parameters": False,
    "image_processing_error": False,
    "image_dimension_mismatch": False,
    "resource_not_found": False,
    "service_error": True,
    "generation_timeout": True,
    "resource_exhausted": True,
    "quota_exceeded": True,
    "service_unavailable": True,
    "request_cancelled": False,
    "generation_failed_no_content": True,
    "unknown_error": True,
}


def get_model(model_id: str) -> ModelSpec:
    return MODELS[model_id]


# --- Images per upstream request ------------------------------------------------------


def upstream_n_limit(spec: ModelSpec) -> int:
    """The most images one upstream request of this model may ask for."""
    return spec.upstream_n_max or spec.n_max


def fans_out(spec: ModelSpec | str, n: int) -> bool:
    """Whether a job of `n` images needs more than one upstream task."""
    spec = MODELS[spec] if isinstance(spec, str) else spec
    return n > upstream_n_limit(spec)


def upstream_split(spec: ModelSpec, n: int) -> list[int]:
    """The `n` of each upstream task of a job of `n` images: full tasks, then the rest
    ([4] for gpt-image-2; [1, 1, 1, 1] for gpt-image-1.5). Task i's first image is image
    i × upstream_n_limit(spec) of the job."""
    limit = upstream_n_limit(spec)
    return [min(limit, n - start) for start in range(0, n, limit)]


def upstream_tasks_for(spec: ModelSpec, n: int) -> int:
    """How many upstream requests (each billed for the prompt) a job of `n` images is."""
    return len(upstream_split(spec, n))


# --- Sizes --------------------------------------------------------------------------


def parse_ratio(ratio: str) -> tuple[int, int]:
    a, b = ratio.split(":")
    return int(a), int(b)


def parse_wxh(size: str) -> tuple[int, int] | None:
    """'1536x1024' -> (1536, 1024); anything else -> None."""
    parts = size.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def size_text(size: str) -> str:
    """A size as people read it: "1024x1024" (the API's spelling) is written
    "1024×1024", as every page writes a size; ratios and `auto` are left as they are."""
    wxh = parse_wxh(size)
    return f"{wxh[0]}×{wxh[1]}" if wxh else size


def _round16(value: float, step: int) -> int:
    return math.floor(value / step + 0.5) * step


def ratio_pixels(spec: ModelSpec, ratio: str, resolution: str) -> tuple[int, int]:
    """Pixel size of a ratio at a resolution tier (gpt-image-2).

    INFERRED rule that reproduces every cell of EvoLink's table: solve w*h = budget
    at the ratio, shrink so the long edge fits, round each edge to the nearest
    multiple of 16, and floor instead when rounding overshoots a limit.
    """
    assert spec.custom is not None
    rules = spec.custom
    a, b = parse_ratio(ratio)
    budget = spec.resolution_budgets[resolution]
    w = math.sqrt(budget * a / b)
    h = math.sqrt(budget * b / a)
    long_edge = max(w, h)
    if long_edge > rules.max_edge:
        w, h = w * rules.max_edge / long_edge, h * rules.max_edge / long_edge
    step = rules.multiple_of
    rw, rh = _round16(w, step), _round16(h, step)
    if rw * rh > rules.max_pixels or max(rw, rh) > rules.max_edge:
        rw, rh = math.floor(w / step) * step, math.floor(h / step) * step
    return rw, rh


def custom_size_errors(spec: ModelSpec, width: int, height: int) -> dict[str, list[str]]:
    """Every violated WxH rule, keyed by the field it belongs to (width, height, size)."""
    assert spec.custom is not None
    rules = spec.custom
    errors: dict[str, list[str]] = {}
    for name, label, value in (("width", _("Width"), width), ("height", _("Height"), height)):
        if value <= 0:
            errors.setdefault(name, []).append(
                _("%(label)s must be a positive number (got %(value)s).")
                % {"label": label, "value": grouped(value)}
            )
            continue
        if value % rules.multiple_of:
            errors.setdefault(name, []).append(
                _("%(label)s must be a multiple of %(step)d (got %(value)s).")
                % {"label": label, "step": rules.multiple_of, "value": grouped(value)}
            )
        if value > rules.max_edge:
            errors.setdefault(name, []).append(
                _("%(label)s must be at most %(max)s px (got %(value)s).")
                % {"label": label, "max": grouped(rules.max_edge), "value": grouped(value)}
            )
    if errors:
        return errors
    pixels = width * height
    if not rules.min_pixels <= pixels <= rules.max_pixels:
        errors.setdefault("size", []).append(
            _(
                "Width × height must be between %(min)s and %(max)s pixels "
                "(got %(w)d×%(h)d = %(px)s)."
            )
            % {
                "min": grouped(rules.min_pixels),
                "max": grouped(rules.max_pixels),
                "w": width,
                "h": height,
                "px": grouped(pixels),
            }
        )
    long_edge, short_edge = max(width, height), min(width, height)
    if long_edge > rules.max_aspect * short_edge:
        errors.setdefault("size", []).append(
            _(
                "The long edge may be at most %(max)d× the short edge "
                "(got %(w)d×%(h)d, %(ratio).2f:1)."
            )
            % {"max": rules.max_aspect, "w": width, "h": height, "ratio": long_edge / short_edge}
        )
    return errors


def resolve_size(
    spec: ModelSpec, size: str, resolution: str | None = None
) -> tuple[int, int] | None:
    """The pixel size a request will produce; None for gpt-image-2's `auto`.

    Assumes the values are valid (see `request_rules.request_errors`).
    """
    if not spec.is_flexible:
        return spec.size_pixels[size]
    if size == "auto":
        return None
    if size in spec.ratios:
        return ratio_pixels(spec, size, resolution or spec.default_resolution)
    parsed = parse_wxh(size)
    assert parsed is not None
    return parsed
