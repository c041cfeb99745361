"""Issue 20, "Consistency": one way to write a figure, a size and a number everywhere."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

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
