"""The studio and a job's page on a phone (390 × 844) in headless Chromium: the form and
the history are two tabs, a job's page shows its images first, every tap target is at
least 44 px high and no button's label breaks onto two lines."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP_TARGETS = (
    ".pane-tabs [role=tab], #generation-form button[type=submit], .model-tab, "
    ".layout-switch button, .view-tabs .tab, .item-actions a, .item-actions button, "
    ".detail-actions .button, .detail-actions button, .pager a"
)


def small_targets(page: Page) -> list[str]:
    """Visible tap targets under 44 px high, or whose label takes two lines."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => {
                const box = el.getBoundingClientRect();
                // The lines the label's text takes (each word on the same line: one).
                const lines = new Set();
                const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
                while (walker.nextNode()) {
                    if (!walker.currentNode.textContent.trim()) continue;
                    const range = document.createRange();
                    range.selectNodeContents(walker.currentNode);
                    for (const r of range.getClientRects()) {
                        if (r.width > 0) lines.add(Math.round(r.top / 4));
                    }
                }
                return box.height < 44 || lines.size > 1;
            })
            .map((el) => {
                const height = Math.round(el.getBoundingClientRect().height);
                return `${height} px: ${el.outerHTML.slice(0, 60)}`;
            })""",
        TAP_TARGETS,
    )


def test_the_studio_and_a_job_on_a_phone(browser: Browser, live_server) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("mia", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    job = make_generation(
        user, team=team, prompt="a tall poster", size="1024x1536", n=2, state=State.COMPLETED
    )
    for index in range(2):
        save_result(job, index, png_bytes(256, 384))
    page = person(browser, live_server.url, "mia")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/t/north/")

    # Two tabs: the form first, the history one tap away, never both.
    form, history = page.locator("#pane-form"), page.locator("#pane-history")
    expect(page.get_by_role("tab", name="New image")).to_have_attribute("aria-selected", "true")
    expect(form).to_be_visible()
    expect(history).to_be_hidden()
    assert small_targets(page) == []
    page.get_by_role("tab", name="History").click()
    expect(history).to_be_visible()
    expect(form).to_be_hidden()
    expect(page.locator(f"#generation-{job.pk} img").first).to_be_visible()
    assert small_targets(page) == []
    # The arrow keys move between the tabs too.
    page.get_by_role("tab", name="History").focus()
    page.keyboard.press("ArrowLeft")
    expect(form).to_be_visible()

    # A job's page: the images come first, the details below them.
    page.goto(f"{live_server.url}/generations/{job.public_id}/")
    first_image = page.locator(".detail-images img").first.bounding_box()
    details = page.locator("dl.params").bounding_box()
    assert first_image and details and first_image["y"] < details["y"]
    assert first_image["width"] >= 300  # not a thumbnail on a phone
    assert small_targets(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
