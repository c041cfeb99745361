"""Issue 20, "Consistency": one way to write a figure, a size and a number everywhere."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground import catalogue, request_rules
from playground.generations.models import State
from tests.factories import fake_result, make_generation

pytestmark = pytest.mark.django_db


def settings_line(html: str, image_id: int) -> str:
    found = re.search(rf'data-image-id="{image_id}"[^>]*?data-settings="([^"]*)"', html, re.S)
    assert found, f"no lightbox data for image {image_id}"
    return found.group(1)


def test_the_lightbox_says_the_size_once(alice: User, alice_client: Client) -> None:
    square = make_generation(alice, model="gpt-image-1", size="1024x1024", quality="high")
    square.state = State.COMPLETED
    square.save()
    same = fake_result(square)
    same.width = same.height = 1024
    same.save()
    auto = make_generation(alice, size="auto", state=State.COMPLETED)
    picked = fake_result(auto)
    picked.width, picked.height = 1536, 1024
    picked.save()

    html = alice_client.get("/t/a/history/").content.decode()
    assert settings_line(html, same.pk) == "1024×1024 · High"
    # When the size asked for is not the pixels made, both are said.
    assert settings_line(html, picked.pk) == "Auto · Low · 1536×1024"


def test_every_figure_in_a_message_is_grouped_the_same_way() -> None:
    spec = catalogue.MODELS["gpt-image-2"]
    errors = catalogue.custom_size_errors(spec, 5000, 1024)
    assert errors["width"] == [
        "Width must be a multiple of 16 (got 5,000).",
        f"Width must be at most {spec.custom.max_edge:,} px (got 5,000).",
    ]
    long_prompt = request_rules.prompt_errors(spec, "x" * 40_000)
    assert "40,000 characters long" in long_prompt[0] and "at most 32,000" in long_prompt[0]


def test_the_estimate_shows_two_decimals_and_the_exact_figure_on_hover(
    alice_client: Client,
) -> None:
    query = {"model": "gpt-image-2", "size": "16:9", "resolution": "4K", "quality": "high"}
    html = alice_client.get("/studio/live/", {**query, "n": "3", "prompt": "a fox " * 30}).content
    panel = html.decode().split('data-testid="estimate">', 1)[1].split("</span>\n", 1)[0]
    figures = re.findall(r'<span title="([\d.]+)">([^<]+)</span>', panel)
    assert len(figures) == 3  # per image, the prompt, the total
    per_image, prompt, total = figures
    assert per_image == ("24.49591", "24.50")
    assert prompt[1].endswith("credits for the prompt (61 tokens × 3)")
    assert total[1] == f"{Decimal(total[0]).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    assert not re.search(r"\d\.\d{3,} credits", re.sub(r'title="[^"]*"', "", panel))
