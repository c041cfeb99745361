"""Cost estimates from the catalogue: pure functions, no database, no HTTP.

The price model is EvoLink's (credits per 1K tokens per model, 68 credits = 1 USD; the
rates and token tables are in catalogue.py). Estimates are pre-bill: the upstream's
`usage` is what is charged in the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from playground.catalogue import (
    CREDITS_PER_USD,
    REFERENCE_IMAGE_INPUT_TOKENS,
    ModelSpec,
    resolve_size,
    upstream_tasks_for,
)

CREDIT_PLACES = Decimal("0.00001")
USD_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Estimate:
    model: str
    width: int
    height: int
    auto: bool  # gpt-image-2 `auto`: the size is the model's choice, priced at its cap
    output_tokens: int
    reference_images: int
    n: int
    # The image part of one image: output plus reference-image input. This is what the
    # pages' published "per image" ranges show, so it leaves the prompt out.
    per_image_credits: Decimal
    image_credits: Decimal  # the image part of the whole request (per image × n)
    text_tokens: int  # the prompt's o200k_base tokens, whatever unit limits its length
    text_per_image: bool  # the prompt is billed for every image (× n), not once
    text_credits: Decimal  # the prompt's text input for the whole request
    total_credits: Decimal  # image part × n + text part

    @property
    def per_image_usd(self) -> Decimal:
        return to_usd(self.per_image_credits)

    @property
    def total_usd(self) -> Decimal:
        return to_usd(self.total_credits)


def round_credits(value: Decimal) -> Decimal:
    return value.quantize(CREDIT_PLACES, rounding=ROUND_HALF_UP)


def to_usd(credits: Decimal) -> Decimal:
    return (credits / CREDITS_PER_USD).quantize(USD_PLACES, rounding=ROUND_HALF_UP)


def output_tokens(spec: ModelSpec, quality: str, width: int, height: int) -> int:
    """Image output tokens for one image."""
    if not spec.is_flexible:
        return spec.output_tokens[quality][(width, height)]
    # OpenAI's calculator for gpt-image-2: q is the quality's "tile base".
    q = spec.quality_tile_base[quality]
    long_edge, short_edge = max(width, height), min(width, height)
    s = math.floor(q * short_edge / long_edge + 0.5)  # round half up
    return math.ceil(q * s * (2_000_000 + width * height) / 4_000_000)


def estimate(
    spec: ModelSpec,
    *,
    quality: str,
    size: str,
    resolution: str | None = None,
    n: int = 1,
    reference_images: int = 0,
    prompt: str = "",
) -> Estimate:
    """The estimated cost of one request; assumes valid values (see catalogue)."""
    pixels = resolve_size(spec, size, resolution)
    auto = pixels is None
    width, height = spec.auto_estimate_size if pixels is None else pixels
    tokens = output_tokens(spec, quality, width, height)
    # INFERRED (fitted to the published ranges): each reference image costs a fixed
    # number of image-input tokens. The ranges leave the prompt out, so its text input
    # is added below, apart from the per-image figure.
    per_image = (
        Decimal(tokens) * spec.rates.image_output
        + Decimal(reference_images * REFERENCE_IMAGE_INPUT_TOKENS) * spec.rates.image_input
    ) / 1000
    # Counted with the exact tokenizer for every model, even gpt-image-2 whose limit is
    # in characters: EvoLink bills tokens. Whether the prompt is billed once or per
    # image is the catalogue's `text_input_per_image`; once per request otherwise, and a
    # job the worker splits into k upstream requests (gpt-image-1.5) sends it k times.
    text_tokens = _count_tokens(prompt) if prompt else 0
    text_times = n if spec.text_input_per_image else upstream_tasks_for(spec, n)
    text = Decimal(text_tokens) * spec.rates.text_input * text_times / 1000
    return Estimate(
        model=spec.id,
        width=width,
        height=height,
        auto=auto,
        output_tokens=tokens,
        reference_images=reference_images,
        n=n,
        per_image_credits=round_credits(per_image),
        image_credits=round_credits(per_image * n),
        text_tokens=text_tokens,
        text_per_image=spec.text_input_per_image or (n > 1 and text_times == n),
        text_credits=round_credits(text),
        total_credits=round_credits(per_image * n + text),
    )


def _count_tokens(text: str) -> int:
    from playground.tokenizer import count_tokens  # heavy: load on first use

    return count_tokens(text)
