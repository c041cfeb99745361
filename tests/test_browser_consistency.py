"""Issue 20, "Consistency", in headless Chromium: the star and the tick are there to be
seen (list view, touch screens), the matrix starts and stays with sizes every ticked
model makes, and a failed Generate says its size problem once."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import ResultImage, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.factories import make_generation, png_bytes
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lea() -> User:
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    return user


def finished(user: User) -> ResultImage:
    job = make_generation(user, prompt="a lighthouse", state=State.COMPLETED)
    return save_result(job, 0, png_bytes(48, 32, "teal"))


def opacity(page: Page, selector: str) -> float:
    return float(page.eval_on_selector(selector, "el => getComputedStyle(el).opacity"))


def test_star_and_tick_show_without_hover_in_the_list_view(
    browser: Browser, live_server, lea: User
) -> None:
    image = finished(lea)
    tile = f"#image-tile-{image.pk}"
    page = person(browser, live_server.url, "lea")
    page.mouse.move(0, 0)  # nowhere near the tile
    expect(page.locator(f"{tile} [data-select-image]")).to_be_visible()
    assert opacity(page, f"{tile} .tile-select") == 1
    assert opacity(page, f"{tile} .favourite") == 1

    # The grid keeps its images clean with a mouse: they show on hover.
    page.get_by_role("button", name="Grid").click()
    wait_for_htmx(page)
    page.mouse.move(0, 0)
    expect(page.locator("#history")).to_have_class(re.compile("layout-grid"))
    expect(page.locator(f"{tile} .tile-select")).to_have_css("opacity", "0")
    page.hover(tile)
    expect(page.locator(f"{tile} .tile-select")).to_have_css("opacity", "1")


def test_star_and_tick_show_on_a_touch_screen_in_the_grid_too(
    browser: Browser, live_server, lea: User
) -> None:
    image = finished(lea)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
    )
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("lea")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="Grid").click()
    wait_for_htmx(page)
    expect(page.locator("#history")).to_have_class(re.compile("layout-grid"))
    tile = f"#image-tile-{image.pk}"
    expect(page.locator(tile)).to_be_visible()
    assert opacity(page, f"{tile} .tile-select") == 1
    assert opacity(page, f"{tile} .favourite") == 1
    context.close()


def test_the_matrix_keeps_its_default_sizes_to_those_every_ticked_model_makes(
    browser: Browser, live_server, lea: User
) -> None:
    page = person(browser, live_server.url, "lea")
    page.goto("/t/north/matrix/?prompt=a+fox&model=gpt-image-2")
    auto, square = page.get_by_label("Auto"), page.get_by_label("1:1", exact=True)
    expect(auto).to_be_checked()

    # GPT Image 1 does not make "Auto": the default moves to a size both make.
    page.get_by_label("GPT Image 1", exact=True).check()
    wait_for_htmx(page)
    expect(auto).not_to_be_checked()
    expect(square).to_be_checked()
    expect(page.get_by_test_id("preview-cell")).to_have_count(2)
    expect(page.get_by_test_id("preview-grid")).not_to_contain_text("Not made")
    expect(page.get_by_test_id("size-notes")).to_be_empty()
    # Offered all the same, marked as a size not every ticked model makes.
    expect(page.locator("label", has=auto)).to_have_class(re.compile("partial"))

    # Ticked on purpose, it stays, and the page says plainly what it rules out.
    auto.check()
    wait_for_htmx(page)
    expect(page.get_by_test_id("size-notes")).to_have_text(
        "Auto: GPT Image 2 only — 1 cell won't be made."
    )
    page.get_by_label("GPT Image 1.5", exact=True).check()
    wait_for_htmx(page)
    expect(auto).to_be_checked()  # the person's choice is not undone
    expect(page.get_by_test_id("size-notes")).to_have_text(
        "Auto: GPT Image 2 only — 2 cells won't be made."
    )


def png_file(size: tuple[int, int]) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    return {"name": "ref.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def test_a_failed_generate_says_its_size_problem_once_when_a_reference_is_added(
    browser: Browser, live_server, lea: User
) -> None:
    page = person(browser, live_server.url, "lea")
    page.get_by_label("Prompt").fill("a fox")
    page.get_by_label("Size", exact=True).select_option("custom")
    page.get_by_label("Width").fill("1000")
    page.get_by_label("Height").fill("1024")
    page.get_by_role("button", name="Generate", exact=True).click()
    width_errors = page.locator("#field-width .errorlist")
    expect(width_errors).to_have_text("Width must be a multiple of 16 (got 1,000).")
    preview = page.locator("#size-preview")

    # Adding a reference refreshes the live panel: it must not say it all again.
    page.set_input_files("#id_reference_files", files=[png_file((120, 80))])
    expect(page.locator(".reference-chip:not(.uploading)")).to_have_count(1)
    expect(page.locator("#live")).to_contain_text("Fix the size")
    wait_for_htmx(page)
    expect(preview).not_to_contain_text("multiple of 16")
    expect(width_errors).to_be_visible()

    # Changed, the fields' messages are out of date: the live line speaks for the new size.
    page.get_by_label("Width").fill("1001")
    expect(preview).to_contain_text("Width must be a multiple of 16 (got 1,001).")
    expect(page.locator("#field-width .errorlist")).to_have_count(0)
    expect(page.get_by_text("multiple of 16")).to_have_count(1)
