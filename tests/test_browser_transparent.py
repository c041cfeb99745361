"""A transparent gpt-image-2 image for real in headless Chromium (live server, worker
cluster, simulator): transparent + JPEG is refused on the form with nothing sent, then a
transparent PNG is made and shown on a checkerboard in the lightbox."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster
from tests.test_browser_generate import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# TRANSPARENCY_SCREENSHOTS=/tmp keeps the form and the lightbox as PNGs to look at.
SCREENSHOTS = os.environ.get("TRANSPARENCY_SCREENSHOTS", "")


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 0.5
    process = start_cluster(simulator)
    yield
    kill(process)


def snap(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name))


def test_a_transparent_image_on_a_checkerboard_in_the_lightbox(
    page: Page, live_server, cluster: None, simulator: Simulator
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server.url)
    page.get_by_role("link", name="GPT Image 2", exact=True).click()
    wait_for_htmx(page)
    page.get_by_label("Prompt").fill("a glass teapot, cut out")
    page.get_by_label("Quality").select_option("low")
    expect(page.get_by_label("Opaque")).to_be_checked()
    expect(page.get_by_test_id("preview-caveat")).to_contain_text("results may be unstable")

    # Transparent + JPEG: refused beside the format, nothing sent, nothing lost.
    page.get_by_label("Transparent").check()
    page.get_by_label("Format", exact=True).select_option("jpeg")
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    expect(page.locator("#field-output_format .errorlist")).to_contain_text(
        "A transparent background needs PNG or WebP"
    )
    expect(page.get_by_label("Prompt")).to_have_value("a glass teapot, cut out")
    expect(page.get_by_label("Transparent")).to_be_checked()
    snap(page, "transparent-form-error.png")
    assert not Generation.objects.exists()
    assert simulator.request_count("POST /v1/images/generations") == 0

    page.get_by_label("Format", exact=True).select_option("png")
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    item = page.locator(".history-item").first
    expect(item.locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(item).to_contain_text("PNG · Transparent")
    tile = item.locator(".tile.has-alpha")
    expect(tile).to_have_count(1)
    snap(page, "transparent-studio.png")

    tile.locator("a[data-lightbox]").click()
    dialog = page.get_by_test_id("lightbox")
    expect(dialog).to_be_visible()
    image = page.locator("[data-lightbox-image]")
    expect(image).to_have_class(re.compile(r"\balpha\b"))
    expect(page.locator("[data-lightbox-settings]")).to_contain_text("PNG · Transparent")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-lightbox-image]');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    # The checkerboard is behind the image's own pixels, and those pixels really are
    # transparent in places (the file came with its alpha channel).
    background = image.evaluate("i => getComputedStyle(i).backgroundImage")
    assert background.count("linear-gradient") == 2
    box = image.bounding_box()
    assert box is not None
    natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert abs(box["width"] / box["height"] - natural[0] / natural[1]) < 0.02
    corner_alpha = image.evaluate(
        "i => { const c = document.createElement('canvas');"
        " c.width = i.naturalWidth; c.height = i.naturalHeight;"
        " const x = c.getContext('2d'); x.drawImage(i, 0, 0);"
        " return x.getImageData(1, 1, 1, 1).data[3]; }"
    )
    assert corner_alpha == 0
    snap(page, "transparent-lightbox.png")
    assert simulator.request_count("POST /v1/images/generations") == 1

    # The job's page: on a checkerboard too, with its format and background.
    page.goto(f"{live_server.url}/generations/{Generation.objects.get().public_id}/")
    expect(page.locator(".results img.alpha")).to_be_visible()
    expect(page.get_by_test_id("output-format")).to_have_text("PNG")
    expect(page.get_by_test_id("background")).to_have_text("Transparent")
    snap(page, "transparent-job.png")
