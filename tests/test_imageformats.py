"""playground/imageformats.py: the one table of image format names."""

from __future__ import annotations

import pytest
from django.test import Client
from PIL import Image

from playground import catalogue, imageformats


def test_the_table_agrees_with_pillow() -> None:
    extensions = Image.registered_extensions()
    for f in imageformats.FORMATS:
        assert Image.MIME[f.pillow] == f.mime_type
        assert extensions[f".{f.extension}"] == f.pillow


def test_every_format_a_model_offers_or_a_reference_may_have_is_in_it() -> None:
    offered = {fmt for spec in catalogue.MODELS.values() for fmt in spec.output_formats}
    assert offered <= set(imageformats.BY_OUTPUT)
    assert set(catalogue.REFERENCE_FORMATS) <= set(imageformats.BY_PILLOW)


def test_an_unknown_format_gets_the_callers_default() -> None:
    assert imageformats.extension("JPEG", default="bin") == "jpg"
    assert imageformats.extension("GIF", default="bin") == "bin"
    assert imageformats.mime_type("GIF") == "application/octet-stream"


@pytest.mark.django_db
def test_the_studio_file_picker_offers_the_reference_formats(alice_client: Client) -> None:
    html = alice_client.get("/t/a/").content.decode()
    assert 'accept="image/jpeg,image/png,image/webp"' in html
