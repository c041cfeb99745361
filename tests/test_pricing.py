"""The price model reproduces the pages' published per-image ranges exactly, and adds
the prompt's text input apart from them."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client

from playground.catalogue import MODELS
from playground.generations.models import Generation
from playground.pricing import estimate, output_tokens, to_usd

# EvoLink's product pages' "Est. price per image" ranges: their six endpoints (n = 1).
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


# --- The prompt's text input -----------------------------------------------------------

# The pages' "Text Input" rate, the same for all three models: 0.306 credits per 1K tokens
# (seeds 002, 003 and 004). gpt-image-2's page says "text input tokens scale linearly with
# n"; gpt-image-1 and 1.5 bill the prompt once per request (INFERRED, see the catalogue).
TEXT_INPUT = Decimal("0.306")
# gpt-image-1.5 is sent as one request of n=1 per image (reference, August 2026), each
# carrying the prompt: its text is billed per image too.
TEXT_BILLED_PER_IMAGE = {"gpt-image-1": False, "gpt-image-1.5": True, "gpt-image-2": True}
# Image output rates from the same pages, for the totals below.
IMAGE_OUTPUT = {
    "gpt-image-1": Decimal("2.448"),
    "gpt-image-1.5": Decimal("1.9584"),
    "gpt-image-2": Decimal("1.836"),
}
# 30,000 characters, 6,000 o200k_base tokens (" word" is one token): long for any model.
LONG_PROMPT = " word" * 6000
LONG_PROMPT_TOKENS = 6000
CHEAP = {
    "gpt-image-1": dict(quality="low", size="1024x1024"),  # 272 output tokens
    "gpt-image-1.5": dict(quality="low", size="1024x1024"),  # 272 output tokens
    "gpt-image-2": dict(quality="low", size="3:1", resolution="1K"),  # 62 output tokens
}
CHEAP_OUTPUT_TOKENS = {"gpt-image-1": 272, "gpt-image-1.5": 272, "gpt-image-2": 62}


def credits(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)


def test_the_long_prompt_is_what_it_claims() -> None:
    from playground.tokenizer import count_tokens

    assert len(LONG_PROMPT) == 30_000
    assert count_tokens(LONG_PROMPT) == LONG_PROMPT_TOKENS


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("n", [1, 3])
def test_a_30000_character_prompt_costs_its_text_input_tokens(model: str, n: int) -> None:
    spec = MODELS[model]
    empty = estimate(spec, n=n, **CHEAP[model])
    long = estimate(spec, n=n, prompt=LONG_PROMPT, **CHEAP[model])
    times = n if TEXT_BILLED_PER_IMAGE[model] else 1
    text = LONG_PROMPT_TOKENS * TEXT_INPUT / 1000 * times  # 1.836 credits per copy

    assert long.text_tokens == LONG_PROMPT_TOKENS  # tokens, even where the limit is characters
    assert long.text_credits == text
    assert long.total_credits - empty.total_credits == text
    image = CHEAP_OUTPUT_TOKENS[model] * IMAGE_OUTPUT[model] / 1000 * n
    assert long.total_credits == credits(image + text)
    assert long.total_usd == (credits(image + text) / 68).quantize(Decimal("0.0001"))
    # The image part is untouched by the prompt.
    assert long.per_image_credits == empty.per_image_credits
    assert long.image_credits == empty.image_credits == credits(image)


def test_the_prompt_scales_with_n_except_for_gpt_image_1() -> None:
    for model, per_image in TEXT_BILLED_PER_IMAGE.items():
        spec = MODELS[model]
        one = estimate(spec, prompt="a red fox in the snow", **CHEAP[model])
        four = estimate(spec, prompt="a red fox in the snow", n=4, **CHEAP[model])
        assert one.text_tokens == four.text_tokens == 6
        assert one.text_credits == credits(6 * TEXT_INPUT / 1000)  # 0.00184
        assert four.text_credits == credits(6 * TEXT_INPUT / 1000 * (4 if per_image else 1))
        assert four.text_per_image is per_image, model


def test_without_a_prompt_the_estimate_is_the_image_part_alone() -> None:
    spec = MODELS["gpt-image-2"]
    result = estimate(spec, quality="medium", size="16:9", resolution="2K", n=3)
    assert (result.text_tokens, result.text_credits) == (0, Decimal(0))
    assert result.total_credits == result.image_credits
    assert estimate(spec, quality="medium", size="16:9", resolution="2K", n=3, prompt="") == result


@pytest.mark.parametrize(("model", "params", "refs", "credits_", "usd"), VECTORS)
def test_a_prompt_leaves_the_published_per_image_prices_alone(
    model: str, params: dict, refs: int, credits_: str, usd: str
) -> None:
    result = estimate(MODELS[model], reference_images=refs, prompt=LONG_PROMPT, **params)
    assert result.per_image_credits == Decimal(credits_)
    assert result.per_image_usd == Decimal(usd)
    assert result.total_credits == Decimal(credits_) + LONG_PROMPT_TOKENS * TEXT_INPUT / 1000


@pytest.mark.django_db
def test_a_stored_job_is_estimated_with_its_prompt(alice_client: Client) -> None:
    body = {
        "model": "gpt-image-2",
        "prompt": "a red fox in the snow",  # 6 tokens
        "size": "3:1",
        "resolution": "1K",
        "quality": "low",
        "n": "2",
        "client_token": str(uuid.uuid4()),
    }
    assert alice_client.post("/t/a/", body).status_code == 302
    image = 62 * IMAGE_OUTPUT["gpt-image-2"] / 1000 * 2
    text = 6 * TEXT_INPUT / 1000 * 2
    assert Generation.objects.get().estimated_credits == credits(image + text)


def test_a_split_gpt_image_1_5_job_pays_the_prompt_once_per_upstream_request() -> None:
    spec = MODELS["gpt-image-1.5"]
    four = estimate(spec, prompt="a red fox in the snow", n=4, **CHEAP["gpt-image-1.5"])
    one = estimate(spec, prompt="a red fox in the snow", n=1, **CHEAP["gpt-image-1.5"])
    # Exactly four of the one-image requests the worker sends.
    assert four.total_credits == credits(one.total_credits * 4)
    assert four.text_credits == credits(6 * TEXT_INPUT / 1000 * 4)
