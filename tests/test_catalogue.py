"""Every documented constraint of the three models, valid and invalid, table-driven.

The tables restate EvoLink's documentation (its product pages and API reference) on
purpose: they check the catalogue against it, so they must not be computed from the
catalogue itself.
"""

from __future__ import annotations

import pytest

from playground import catalogue
from playground.catalogue import MODELS
from playground.request_rules import request_errors

GPT2 = MODELS["gpt-image-2"]

# EvoLink's ratio table (landscape; portrait is the swap): ratio -> 1K, 2K, 4K.
RATIO_TABLE = {
    "1:1": ((1024, 1024), (2048, 2048), (2880, 2880)),
    "2:1": ((1456, 720), (2896, 1456), (3840, 1920)),
    "3:1": ((1776, 592), (3552, 1184), (3840, 1280)),
    "3:2": ((1248, 832), (2512, 1680), (3520, 2352)),
    "4:3": ((1184, 880), (2368, 1776), (3312, 2480)),
    "5:4": ((1152, 912), (2288, 1824), (3216, 2576)),
    "16:9": ((1360, 768), (2736, 1536), (3840, 2160)),
    "21:9": ((1568, 672), (3136, 1344), (3840, 1648)),
}
RATIO_CELLS = [
    (ratio, tier, pixels)
    for ratio, row in RATIO_TABLE.items()
    for tier, pixels in zip(("1K", "2K", "4K"), row, strict=True)
]


@pytest.mark.parametrize(("ratio", "tier", "pixels"), RATIO_CELLS)
def test_ratio_table_cell(ratio: str, tier: str, pixels: tuple[int, int]) -> None:
    assert len(RATIO_CELLS) == 24
    assert catalogue.ratio_pixels(GPT2, ratio, tier) == pixels


@pytest.mark.parametrize(("ratio", "tier", "pixels"), RATIO_CELLS)
def test_portrait_ratio_is_the_swap(ratio: str, tier: str, pixels: tuple[int, int]) -> None:
    a, b = ratio.split(":")
    portrait = f"{b}:{a}"
    assert portrait in GPT2.ratios
    assert catalogue.ratio_pixels(GPT2, portrait, tier) == (pixels[1], pixels[0])


@pytest.mark.parametrize("ratio", GPT2.ratios)
@pytest.mark.parametrize("tier", GPT2.resolutions)
def test_every_ratio_and_tier_yields_a_valid_custom_size(ratio: str, tier: str) -> None:
    width, height = catalogue.ratio_pixels(GPT2, ratio, tier)
    assert catalogue.custom_size_errors(GPT2, width, height) == {}


def test_the_documented_ratios_and_tiers() -> None:
    assert set(GPT2.ratios) == {
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
    }
    assert GPT2.resolutions == ("1K", "2K", "4K")


@pytest.mark.parametrize(
    ("model", "defaults"),
    [
        ("gpt-image-1", {"size": "1024x1024", "quality": "high", "n": 1}),
        ("gpt-image-1.5", {"size": "1:1", "quality": "high", "n": 1}),
        (
            "gpt-image-2",
            {
                "size": "auto",
                "quality": "medium",
                "n": 1,
                "resolution": "1K",
                "background": "opaque",
                "output_format": "png",
            },
        ),
    ],
)
def test_documented_defaults(model: str, defaults: dict) -> None:
    assert MODELS[model].defaults() == {"model": model, **defaults}


def payload(model: str, **changes: object) -> dict:
    body = {"model": model, "prompt": "a red fox in snow", **MODELS[model].defaults(), **changes}
    return {k: v for k, v in body.items() if v is not None}


VALID = [
    *[
        ("gpt-image-1", {"size": s})
        for s in ("1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024")
    ],
    *[
        ("gpt-image-1.5", {"size": s})
        for s in ("1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024")
    ],
    *[(m, {"quality": q}) for m in MODELS for q in ("low", "medium", "high")],
    *[(m, {"n": n}) for m in MODELS for n in (1, 10)],
    ("gpt-image-2", {"size": "auto"}),
    *[
        ("gpt-image-2", {"size": r, "resolution": t})
        for r in ("1:1", "21:9", "9:21")
        for t in ("1K", "2K", "4K")
    ],
    ("gpt-image-2", {"size": "1024x1024"}),
    ("gpt-image-2", {"size": "3840x2160"}),  # the 4K maximum
    ("gpt-image-2", {"size": "1024x640"}),  # exactly 655,360 px
    ("gpt-image-2", {"size": "3840x1280"}),  # exactly 3:1
    ("gpt-image-2", {"size": "1280x3840"}),
    ("gpt-image-2", {"prompt": "가" * 32_000}),  # code points, not bytes
    ("gpt-image-1", {"image_urls": ["https://example.com/a.png"] * 16}),
    ("gpt-image-2", {"callback_url": "https://example.com/hook"}),
]


@pytest.mark.parametrize(("model", "changes"), VALID)
def test_valid_requests_pass(model: str, changes: dict) -> None:
    assert request_errors(payload(model, **changes)) == {}


INVALID = [
    # (model, changes, field, fragment of the message)
    ("gpt-image-3", {}, "model", "Unknown model"),
    ("gpt-image-1", {"prompt": ""}, "prompt", "prompt is required"),
    ("gpt-image-2", {"prompt": "   "}, "prompt", "prompt is required"),
    ("gpt-image-2", {"prompt": "a" * 32_001}, "prompt", "32,001 characters"),
    ("gpt-image-1", {"prompt": "hello " * 2001}, "prompt", "at most 2,000"),
    ("gpt-image-1.5", {"prompt": "hello " * 2001}, "prompt", "tokens"),
    ("gpt-image-1", {"size": "auto"}, "size", "accepts these sizes"),
    ("gpt-image-1", {"size": "16:9"}, "size", "(got 16:9)"),
    ("gpt-image-1.5", {"size": "2048x2048"}, "size", "accepts these sizes"),
    ("gpt-image-1", {"quality": "ultra"}, "quality", "(got ultra)"),
    ("gpt-image-2", {"quality": "auto"}, "quality", "low, medium, high"),
    *[(m, {"n": 0}, "n", "from 1 to 10 (got 0)") for m in MODELS],
    *[(m, {"n": 11}, "n", "(got 11)") for m in MODELS],
    ("gpt-image-2", {"n": "3"}, "n", "whole number"),
    ("gpt-image-2", {"size": "5:7"}, "size", "aspect ratio such as 16:9"),
    ("gpt-image-2", {"size": "1:1", "resolution": "8K"}, "resolution", "1K, 2K, 4K"),
    ("gpt-image-2", {"size": "1000x1024"}, "width", "Width must be a multiple of 16 (got 1,000)"),
    ("gpt-image-2", {"size": "1024x1000"}, "height", "Height must be a multiple of 16 (got 1,000)"),
    ("gpt-image-2", {"size": "3856x1024"}, "width", "at most 3,840 px (got 3,856)"),
    ("gpt-image-2", {"size": "1024x3856"}, "height", "at most 3,840 px"),
    ("gpt-image-2", {"size": "1008x640"}, "size", "between 655,360 and 8,294,400 pixels"),
    ("gpt-image-2", {"size": "3840x2176"}, "size", "= 8,355,840"),
    ("gpt-image-2", {"size": "3840x1264"}, "size", "at most 3× the short edge"),
    ("gpt-image-2", {"size": "1264x3840"}, "size", "3.04:1"),
    ("gpt-image-1", {"image_urls": []}, "image_urls", "between 1 and 16"),
    ("gpt-image-1", {"image_urls": ["https://example.com/a.png"] * 17}, "image_urls", "16"),
    ("gpt-image-2", {"image_urls": ["ftp://example.com/a.png"]}, "image_urls", "http(s)"),
    ("gpt-image-2", {"callback_url": "http://example.com/hook"}, "callback_url", "HTTPS"),
    ("gpt-image-2", {"callback_url": "https://e.com/" + "a" * 2040}, "callback_url", "2048"),
]


@pytest.mark.parametrize(("model", "changes", "field", "fragment"), INVALID)
def test_invalid_requests_say_what_is_wrong(
    model: str, changes: dict, field: str, fragment: str
) -> None:
    errors = request_errors(
        payload(model, **changes) if model in MODELS else {"model": model, "prompt": "x"}
    )
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]


def test_a_prompt_of_exactly_2000_tokens_is_accepted() -> None:
    from playground.tokenizer import count_tokens

    prompt = " hello" * 2000
    assert count_tokens(prompt) == 2000
    assert request_errors(payload("gpt-image-1", prompt=prompt)) == {}
    assert "prompt" in request_errors(payload("gpt-image-1", prompt=prompt + " hello"))


def test_several_custom_size_problems_are_all_reported() -> None:
    errors = catalogue.custom_size_errors(GPT2, 1000, 4000)
    assert errors["width"] == ["Width must be a multiple of 16 (got 1,000)."]
    assert "Height must be at most 3,840 px (got 4,000)." in errors["height"]


def test_every_failure_code_has_a_retry_verdict() -> None:
    assert set(catalogue.FAILURE_CODES) == {
        "content_policy_violation",
        "invalid_parameters",
        "image_processing_error",
        "image_dimension_mismatch",
        "resource_not_found",
        "service_error",
        "generation_timeout",
        "resource_exhausted",
        "quota_exceeded",
        "service_unavailable",
        "request_cancelled",
        "generation_failed_no_content",
        "unknown_error",
    }
