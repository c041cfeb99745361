"""Issue 20, "Consistency": one way to write a figure, a size and a number everywhere."""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from typing import Any

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


# --- The matrix: sizes written as everywhere, and what a ticked size rules out ---------

MATRIX = "/t/a/matrix/"


def matrix_form(**data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mode": "matrix",
        "prompt": "a red fox in the snow",
        "models": ["gpt-image-2"],
        "qualities": ["low", "high"],
        "sizes": ["1:1"],
        "resolution": "1K",
        "n": "1",
        "client_token": str(uuid.uuid4()),
        "action": "preview",
    }
    values.update(data)
    return values


def test_the_matrix_writes_sizes_with_a_times_sign(alice_client: Client) -> None:
    page = alice_client.post(
        MATRIX, matrix_form(models=["gpt-image-1", "gpt-image-2"], sizes=["1:1", "auto"])
    ).content.decode()
    assert "1024×1024, 1024×1536, 1536×1024" in page
    assert not re.search(r"\d{3,4}x\d{3,4}", visible(page))


def test_beside_the_sizes_the_page_says_which_cells_a_size_rules_out(
    alice_client: Client,
) -> None:
    page = alice_client.post(
        MATRIX, matrix_form(models=["gpt-image-1", "gpt-image-2"], sizes=["1:1", "auto"])
    ).content.decode()
    notes = unescape(page.split('data-testid="size-notes"', 1)[1].split("</div>", 1)[0])
    assert "Auto: GPT Image 2 only — 2 cells won't be made." in notes
    # A size every ticked model makes needs no note.
    page = alice_client.post(MATRIX, matrix_form(sizes=["1:1", "auto"])).content.decode()
    assert "won't be made" not in page


def test_the_matrix_starts_with_a_size_every_ticked_model_makes(alice_client: Client) -> None:
    # From the studio's gpt-image-2 ("auto") with GPT Image 1 ticked too: not "Auto".
    response = alice_client.get(
        MATRIX, {"models": ["gpt-image-1", "gpt-image-2"], "model": "gpt-image-2"}
    )
    assert response.context["form"].data.getlist("sizes") == ["1:1"]
    assert "data-sizes-chosen" not in response.content.decode()
    # Alone, gpt-image-2 keeps its own default; sizes named in the address are a choice.
    response = alice_client.get(MATRIX, {"model": "gpt-image-2"})
    assert response.context["form"].data.getlist("sizes") == ["auto"]
    response = alice_client.get(MATRIX, {"models": ["gpt-image-1"], "sizes": ["auto"]})
    assert response.context["form"].data.getlist("sizes") == ["auto"]
    assert "data-sizes-chosen" in response.content.decode()
    assert 'id="size-makers"' in response.content.decode()


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
