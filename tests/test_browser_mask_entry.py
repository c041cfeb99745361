"""Edit with mask in headless Chromium: a job's page shows its mask tinted over the
reference it was painted on (measured in the rendered pixels), and Edit with mask (the
page's button, the lightbox's M key) opens the studio on gpt-image-2 with the result
made the reference, and the painter opens on it (the chip's data-open-mask).

The job's page is photographed when SCREENSHOTS names a folder (docs/img/ keeps the
README's copy)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from playground.generations import mask_uploads, references
from playground.generations.jobs import save_result
from playground.generations.models import Generation, GenerationReference, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import make_generation
from tests.test_browser_a11y import serious_violations
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = (480, 320)
HOLE = (300, 40, 440, 180)  # the painted region (transparent in the mask): the sky's sun
INSIDE, OUTSIDE = (370, 110), (100, 260)  # in reference pixels


def landscape() -> Image.Image:
    """A small picture a person could be editing: sky, sun, hills."""
    image = Image.new("RGB", SIZE, (142, 197, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((330, 70, 410, 150), fill=(250, 210, 70))
    draw.polygon(
        [(0, 230), (160, 150), (330, 240), (480, 170), (480, 320), (0, 320)], (76, 140, 80)
    )
    draw.rectangle((0, 280, 480, 320), fill=(58, 110, 62))
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def masked_job() -> Generation:
    """lea's finished gpt-image-2 edit: the landscape with its sun masked, and the
    result (the masked region filled, as the simulator does)."""
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    reference = references.store_bytes(png(landscape()), "landscape.png", user)
    mask = Image.new("RGBA", SIZE, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), HOLE)
    stored = mask_uploads.store(io.BytesIO(png(mask)), reference, user)
    job = make_generation(
        user,
        team=team,
        prompt="replace the sun with a crescent moon",
        state=State.COMPLETED,
        images_returned=1,
    )
    GenerationReference.objects.create(generation=job, reference=reference, position=0, mask=stored)
    result = landscape()
    ImageDraw.Draw(result).rectangle(HOLE, fill=(40, 40, 90))
    save_result(job, 0, png(result))
    return job


def rendered(page: Page, selector: str) -> Image.Image:
    return Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")


def at(image: Image.Image, point: tuple[int, int]) -> tuple[int, int, int]:
    """The rendered colour at a point given in reference pixels."""
    x = round(point[0] * image.width / SIZE[0])
    y = round(point[1] * image.height / SIZE[1])
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def expect_the_studio_on_gpt_image_2_with_the_painter_asked(page: Page, job: Generation) -> None:
    expect(page).to_have_url(re.compile(rf"/t/north/\?edit={job.public_id}&image=0&mask=1$"))
    expect(page.locator('.model-tab[aria-current="true"]')).to_have_attribute(
        "data-model", "gpt-image-2"
    )
    chip = page.locator("#reference-list .reference-chip")
    expect(chip).to_have_count(1)
    # The painter (static/js/mask-painter.js) takes the chip's mark (data-open-mask, the
    # server's, see test_mask_entry.py) and opens once, on the result at its real size.
    painter = page.get_by_role("dialog", name="Paint the region to change")
    expect(painter).to_be_visible()
    expect(painter.locator("[data-mask-stage]")).to_have_attribute("data-ready", "")
    canvas = painter.locator("[data-mask-canvas]")
    expect(canvas).to_have_attribute("width", str(SIZE[0]))
    expect(canvas).to_have_attribute("height", str(SIZE[1]))
    expect(chip).not_to_have_attribute("data-open-mask", "")
    page.keyboard.press("Escape")
    expect(painter).to_be_hidden()


def test_the_job_page_shows_its_mask_and_edit_with_mask_opens_the_studio_on_gpt_image_2(
    browser: Browser, live_server
) -> None:
    job = masked_job()
    page = person(browser, live_server.url, "lea")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/generations/{job.public_id}/")
    overlay = page.get_by_test_id("mask-overlay")
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("img")).to_have_accessible_name(
        "The reference image, tinted where the mask let the model change it"
    )
    expect(overlay.get_by_role("link", name="Mask file (PNG)")).to_have_attribute(
        "href", f"/generations/{job.public_id}/mask.png"
    )
    # Both images drawn: the reference, and the mask that lets the tint through.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.mask-overlay image')].length === 2
            && [...document.images].every(img => img.complete)"""
    )
    # The tint covers the painted region and nothing else: inside, the yellow sun under
    # the painter's pink at .55; outside, the hills keep their colour.
    drawn = rendered(page, ".mask-overlay svg")
    sun, pink = (250, 210, 70), (255, 45, 120)
    tinted = tuple(round(s + (p - s) * 0.55) for s, p in zip(sun, pink, strict=True))
    assert at(drawn, INSIDE) == pytest.approx(tinted, abs=12)
    assert at(drawn, OUTSIDE) == pytest.approx((76, 140, 80), abs=12)
    assert serious_violations(page) == []
    shot(page, "job-page-mask")

    # The lightbox's M key.
    page.locator("#image-0 a[data-lightbox]").click()
    expect(page.get_by_test_id("lightbox")).to_be_visible()
    expect(page.locator("[data-lightbox-mask-edit]")).to_be_visible()
    page.keyboard.press("m")
    expect_the_studio_on_gpt_image_2_with_the_painter_asked(page, job)

    # The job page's button.
    page.goto(f"/generations/{job.public_id}/")
    page.locator(".detail-actions").get_by_role("link", name="Edit with mask").click()
    expect_the_studio_on_gpt_image_2_with_the_painter_asked(page, job)
