"""Issue 20, "Visible breakage", in headless Chromium at a desktop (1280) and a phone
(390) width: the team page's open invitations read as one clean row with the new link
in a full-width field and a Copy button; the history's grid keeps every row as tall as
its tiles whatever the jobs' states, and shows a square image whole; a collection kept
from a matrix run says each tile's model and quality. Pages are photographed when
SCREENSHOTS names a folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.matrix import runs
from playground.matrix.models import MatrixCell, MatrixRun
from playground.teams.models import Membership, Profile
from tests.browser import browser_type_launch_args, watch_csp  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes, team_at_work
from tests.test_browser_a11y import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"
WIDTHS = {"desktop": 1280, "phone": 390}
IMAGES_LOADED = """() => [...document.querySelectorAll('.layout-grid .thumbs img')]
    .every(img => img.complete && img.naturalWidth)"""


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def signed_in(browser: Browser, base_url: str, width: int, username: str = "ana") -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 844})
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    return page


def finished(owner: User, *, model: str, quality: str, size: str, pixels: tuple[int, int]):  # type: ignore[no-untyped-def]
    job = make_generation(
        owner, model=model, quality=quality, size=size, state=State.COMPLETED, prompt="a kite"
    )
    save_result(job, 0, png_bytes(*pixels))
    return job


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_an_open_invitation_reads_as_one_row_and_its_link_can_be_copied(
    browser: Browser, live_server, width: int
) -> None:
    team_at_work(PASSWORD)
    page = signed_in(browser, live_server.url, width)
    page.goto("/t/north/members/")
    page.get_by_role("button", name="Make an invitation link").click()

    field = page.get_by_test_id("invitation-link")
    expect(field).to_be_visible()
    # The link is in a field as wide as the page's column, with a Copy button beside
    # it; on a desktop the whole link shows.
    box = page.locator(".new-link").bounding_box()
    field_box = field.bounding_box()
    assert box and field_box
    assert field_box["width"] >= box["width"] * 0.6, (field_box, box)
    if width >= 1000:
        assert field.evaluate("f => f.scrollWidth <= f.clientWidth + 1"), "the link is cut off"
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator(".new-link [data-copy-status]")).not_to_be_empty()

    # The open invitation: "Member · made by ana · until …", the name on one line.
    row = page.get_by_test_id("open-invitation").first
    expect(row).to_contain_text("Member · made by ana · until ")
    who = row.locator("[translate=no]").first
    assert who.evaluate("el => el.getClientRects().length") == 1
    who_box = who.bounding_box()
    assert who_box and who_box["height"] < 30, who_box
    # Nothing on the page is wider than the screen.
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    shot(page, f"invitations-{width}")
    assert serious_violations(page) == []


def _grid_history(owner: User, failed: Generation) -> None:
    finished(owner, model="gpt-image-2", quality="high", size="1024x1024", pixels=(128, 128))
    finished(owner, model="gpt-image-1", quality="low", size="1536x1024", pixels=(192, 128))
    # Four images share one tile (two rows of two), each still whole.
    four = make_generation(
        owner, model="gpt-image-1.5", size="1024x1024", n=4, state=State.COMPLETED
    )
    for index in range(4):
        save_result(four, index, png_bytes(96, 96, "purple"))
    # A second failure with a long reason, the tallest card there is.
    make_generation(
        owner,
        prompt="a very long prompt " * 20,
        state=State.FAILED,
        error_message=failed.error_message,
        error_code=failed.error_code,
    )
    Profile.objects.update_or_create(user=owner, defaults={"history_layout": "grid"})


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_the_grid_keeps_rows_of_mixed_states_as_tall_as_their_tiles(
    browser: Browser, live_server, width: int
) -> None:
    ana, _done, failed = team_at_work(PASSWORD)
    _grid_history(ana, failed)
    page = signed_in(browser, live_server.url, width)
    page.goto("/t/north/")
    if width < 700:
        page.get_by_role("tab", name="History").click()
    items = page.locator(".layout-grid .history-item")
    expect(items).to_have_count(7)
    page.wait_for_function(IMAGES_LOADED)
    shot(page, f"grid-{width}")
    boxes = [items.nth(i).bounding_box() for i in range(items.count())]
    heights = {round(b["height"]) for b in boxes if b}
    # Every tile, a failed job's as well as a finished one's, is the same height: no
    # row is stretched by one card, no blank gap above a neighbour's title.
    assert len(heights) == 1, heights
    # A tile's title strip starts right under its images (no blank band between), and
    # a job without images shows its details inside the tile, not past its bottom.
    gaps = page.evaluate(
        """() => [...document.querySelectorAll('.layout-grid .history-item')].map(el => {
            const box = el.getBoundingClientRect();
            const info = el.querySelector('.item-info').getBoundingClientRect();
            const thumbs = el.querySelector('.thumbs');
            if (!thumbs) return Math.max(0, info.bottom - box.bottom);
            return Math.abs(info.top - thumbs.getBoundingClientRect().bottom);
        })"""
    )
    assert all(gap <= 2 for gap in gaps), gaps
    assert serious_violations(page) == []


def test_a_square_image_is_shown_whole_in_its_grid_tile(browser: Browser, live_server) -> None:
    ana, _done, failed = team_at_work(PASSWORD)
    _grid_history(ana, failed)
    page = signed_in(browser, live_server.url, 1280)
    page.goto("/t/north/")
    page.wait_for_function(IMAGES_LOADED)
    # The part of each image that is drawn: with `cover` in a box of another shape, its
    # edges are cut; every image must be drawn whole (its drawn size keeps its aspect and
    # fits inside the box).
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.layout-grid .thumbs img')].map(img => {
            const fit = getComputedStyle(img).objectFit;
            const box = img.clientWidth / img.clientHeight;
            const natural = img.naturalWidth / img.naturalHeight;
            const whole = fit === 'contain' || fit === 'scale-down'
                || Math.abs(box - natural) < 0.02;
            return whole ? null : [img.currentSrc, fit, box, natural];
        }).filter(Boolean)"""
    )
    assert cut == []


def test_a_collection_kept_from_a_matrix_run_names_each_tile_s_model_and_quality(
    browser: Browser, live_server
) -> None:
    ana, _done, _failed = team_at_work(PASSWORD)
    membership = Membership.objects.get(user=ana)
    run = MatrixRun.objects.create(
        team=membership.team,
        created_by=ana,
        text="a kite",
        choices={},
        axes={
            "rows": ["GPT Image 2", "GPT Image 1"],
            "columns": ["Low", "High"],
            "column_heading": "Quality",
        },
        client_token=uuid.uuid4(),
    )
    cells = [
        ("gpt-image-2", "low", 0, 0),
        ("gpt-image-2", "high", 0, 1),
        ("gpt-image-1", "low", 1, 0),
        ("gpt-image-1", "high", 1, 1),
    ]
    for model, quality, row, column in cells:
        job = finished(ana, model=model, quality=quality, size="1024x1024", pixels=(96, 96))
        MatrixCell.objects.create(
            run=run, generation=job, row=row, column=column, row_label="", column_label=""
        )
    collection, _added = runs.keep(run, membership)

    for label, width in WIDTHS.items():
        page = signed_in(browser, live_server.url, width)
        page.goto(f"/t/north/collections/{collection.pk}/")
        captions = page.get_by_test_id("tile-caption")
        expect(captions).to_have_count(4)
        texts = [c.inner_text() for c in captions.all()]
        assert texts == [
            "GPT Image 2 · Low · 1024×1024",
            "GPT Image 2 · High · 1024×1024",
            "GPT Image 1 · Low · 1024×1024",
            "GPT Image 1 · High · 1024×1024",
        ], texts
        shot(page, f"collection-from-run-{label}")
        assert serious_violations(page) == []
        page.context.close()
