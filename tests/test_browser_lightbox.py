"""The lightbox and a comparison in headless Chromium: open an image of the history
full-screen, walk the list with the arrow keys, star it with `f`, keep the focus inside
and give it back on Esc; on a phone the lightbox fits the screen; two images compared
side by side with their settings."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.gallery.models import Favourite
from playground.generations.jobs import save_result
from playground.generations.models import ResultImage, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_a11y import serious_violations
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def three_jobs() -> list[ResultImage]:
    """Three finished jobs of lea's, oldest first (the history shows the newest first)."""
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    shown = []
    for prompt, colour, quality in (
        ("a red fox in snow", "red", "low"),
        ("a green heron at dawn", "green", "medium"),
        ("a blue whale far below", "blue", "high"),
    ):
        job = make_generation(
            user, team=team, prompt=prompt, quality=quality, state=State.COMPLETED
        )
        shown.append(save_result(job, 0, png_bytes(60, 40, colour)))
    return shown


def lightbox_prompt(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("[data-lightbox-prompt]")


def focused_image_id(page: Page) -> str | None:
    return page.evaluate("() => document.activeElement.getAttribute('data-image-id')")


def test_the_lightbox_from_the_keyboard(browser: Browser, live_server) -> None:
    fox, heron, whale = three_jobs()
    page = person(browser, live_server.url, "lea")
    dialog = page.get_by_test_id("lightbox")

    # The newest first: the whale's tile opens the lightbox instead of the job's page.
    page.locator(f"#image-tile-{whale.pk} a[data-lightbox]").click()
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(r"/t/north/$"))
    expect(lightbox_prompt(page)).to_have_text("a blue whale far below")
    expect(page.locator("[data-lightbox-image]")).to_have_attribute(
        "src", f"/generations/{whale.generation.public_id}/images/0"
    )
    expect(page.locator("[data-lightbox-counter]")).to_have_text("1 of 3")
    expect(page.locator("[data-lightbox-settings]")).to_contain_text("High · 60×40")
    expect(page.locator("[data-lightbox-edit]")).to_have_attribute(
        "href", re.compile(rf"\?edit={whale.generation.public_id}&image=0$")
    )

    page.keyboard.press("ArrowRight")
    expect(lightbox_prompt(page)).to_have_text("a green heron at dawn")
    expect(page.locator("[data-lightbox-image]")).to_have_attribute(
        "src", f"/generations/{heron.generation.public_id}/images/0"
    )
    page.keyboard.press("ArrowRight")
    expect(lightbox_prompt(page)).to_have_text("a red fox in snow")
    expect(page.locator("[data-lightbox-counter]")).to_have_text("3 of 3")
    page.keyboard.press("ArrowRight")  # the end of the list: it stays
    expect(lightbox_prompt(page)).to_have_text("a red fox in snow")
    page.keyboard.press("ArrowLeft")
    expect(lightbox_prompt(page)).to_have_text("a green heron at dawn")

    # `f` stars the image shown: the lightbox, the tile and the database agree.
    star = page.locator("[data-lightbox-favourite]")
    expect(star).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("f")
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#image-tile-{heron.pk} a[data-lightbox]")).to_have_attribute(
        "data-favourited", "true"
    )
    assert Favourite.objects.filter(image=heron).exists()

    # `d` downloads the full image.
    with page.expect_download() as download:
        page.keyboard.press("d")
    assert download.value.suggested_filename.endswith(".png")

    assert not serious_violations(page)

    # Tab never leaves the open lightbox.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('dialog[open]')")

    # Esc closes, and the focus is back on the tile that opened it.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_image_id(page) == str(whale.pk)

    # A modifier key still opens the job's page the browser's way (a new tab).
    with page.context.expect_page() as opened:
        page.locator(f"#image-tile-{fox.pk} a[data-lightbox]").click(modifiers=["Control"])
    opened.value.close()
    expect(dialog).to_be_hidden()


def test_the_lightbox_on_a_phone_and_two_images_compared(browser: Browser, live_server) -> None:
    fox, heron, whale = three_jobs()
    page = person(browser, live_server.url, "lea")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("tab", name="History").click()
    page.locator(f"#image-tile-{heron.pk} a[data-lightbox]").click()
    dialog = page.get_by_test_id("lightbox")
    expect(dialog).to_be_visible()
    expect(lightbox_prompt(page)).to_have_text("a green heron at dawn")
    # The whole lightbox on the screen, the image on top, nothing wider than the phone.
    box = dialog.bounding_box()
    assert box and box["x"] == 0 and box["width"] <= 390 and box["height"] <= 844
    image = page.locator("[data-lightbox-image]").bounding_box()
    assert image and image["x"] >= 0 and image["x"] + image["width"] <= 390
    assert image["y"] + image["height"] <= 844 * 0.7
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    close = page.locator("[data-lightbox-close]").bounding_box()
    assert close and close["height"] >= 44 and close["y"] < 100  # in reach, on top
    page.locator("[data-lightbox-move='1']").click()
    expect(lightbox_prompt(page)).to_have_text("a red fox in snow")
    page.locator("[data-lightbox-close]").click()
    expect(dialog).to_be_hidden()

    # Compare two images at the same scale, each with its settings.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/compare/?images={whale.pk},{fox.pk}")
    items = page.get_by_test_id("compare-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("a blue whale far below")
    expect(items.nth(0)).to_contain_text("High")
    expect(items.nth(1)).to_contain_text("a red fox in snow")
    expect(items.nth(1)).to_contain_text("Low")
    expect(items.nth(1).get_by_test_id("compare-pixels")).to_contain_text("60×40")
    assert not serious_violations(page)
    widths = [items.nth(i).locator("img").bounding_box()["width"] for i in range(2)]
    assert widths[0] == widths[1] and widths[0] > 300
    expect(page.get_by_test_id("compare-link")).to_have_value(
        f"{live_server.url}/compare/?images={whale.pk},{fox.pk}"
    )
