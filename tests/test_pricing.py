"""The price model reproduces the pages' published per-image ranges exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from playground.catalogue import MODELS
from playground.pricing import estimate, output_tokens, to_usd

# ../shared/evolink-api.md section 6: the six endpoint test vectors (n = 1).
VECTORS = [
    ("gpt-image-1", dict(quality="low", size="1024x1024"), 0, "0.66586", "0.0098"),
    ("gpt-image-1", dict(quality="high", size="1024x1536"), 16, "30.31603", "0.4458"),
    ("gpt-image-1.5", dict(quality="low", size="1024x1024"), 0, "0.53268", "0.0078"),
    ("gpt-image-1.5", dict(quality="high", size="1024x1536"), 16, "24.25283", "0.3567"),
    ("gpt-image-2", dict(quality="low", size="3:1", resolution="1K"), 0, "0.11383", "0.0017"),
    ("gpt-image-2", dict(quality="high", size="1:1", resolution="4K"), 16, "55.58049", "0.8174"),
]


@pytest.mark.parametrize(("model", "params", "refs", "credits", "usd"), VECTORS)
def test_published_price_endpoints(
    model: str, params: dict, refs: int, credits: str, usd: str
) -> None:
    result = estimate(MODELS[model], reference_images=refs, **params)
    assert result.per_image_credits == Decimal(credits)
    assert result.per_image_usd == Decimal(usd)


def test_published_usd_ranges_round_to_the_pages() -> None:
    # The pages print $0.446, $0.357 and $0.817 for the most expensive cases.
    assert round(to_usd(Decimal("30.31603")), 3) == Decimal("0.446")
    assert round(to_usd(Decimal("24.25283")), 3) == Decimal("0.357")
    assert round(to_usd(Decimal("55.58049")), 3) == Decimal("0.817")


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        ("low", (1024, 1024), 196),
        ("medium", (1024, 1024), 1756),
        ("high", (1024, 1024), 7024),
        ("high", (1536, 1024), 5488),
        ("low", (1776, 592), 62),
        ("high", (2880, 2880), 23719),
    ],
)
def test_gpt_image_2_output_tokens(quality: str, size: tuple[int, int], tokens: int) -> None:
    assert output_tokens(MODELS["gpt-image-2"], quality, *size) == tokens


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        ("low", "1024x1024", 272),
        ("medium", "2:3", 1584),
        ("high", "3:2", 6208),
        ("medium", "1536x1024", 1568),
        ("high", "1:1", 4160),
        ("low", "1024x1536", 408),
    ],
)
def test_gpt_image_1_output_token_table(quality: str, size: str, tokens: int) -> None:
    for model in ("gpt-image-1", "gpt-image-1.5"):
        assert estimate(MODELS[model], quality=quality, size=size).output_tokens == tokens


def test_n_multiplies_the_per_image_price() -> None:
    one = estimate(MODELS["gpt-image-2"], quality="medium", size="16:9", resolution="2K")
    four = estimate(MODELS["gpt-image-2"], quality="medium", size="16:9", resolution="2K", n=4)
    assert four.per_image_credits == one.per_image_credits
    assert four.total_credits == one.per_image_credits * 4


def test_auto_is_priced_as_2048_square() -> None:
    auto = estimate(MODELS["gpt-image-2"], quality="medium", size="auto")
    square = estimate(MODELS["gpt-image-2"], quality="medium", size="2048x2048")
    assert auto.auto and not square.auto
    assert (auto.width, auto.height) == (2048, 2048)
    assert auto.per_image_credits == square.per_image_credits


def test_each_reference_image_adds_image_input_tokens() -> None:
    spec = MODELS["gpt-image-1"]
    base = estimate(spec, quality="low", size="1:1")
    with_refs = estimate(spec, quality="low", size="1:1", reference_images=3)
    assert with_refs.per_image_credits - base.per_image_credits == Decimal(
        "2.82009"
    )  # 3 × 1536 × 0.612 / 1000, rounded
