"""The studio with the keyboard only, in headless Chromium: log in, switch model,
generate with Ctrl+Enter, open the result and download it, without the mouse. Focus
never falls back to the page's body, and every stop shows a focus ring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Role, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    wait_for_htmx,
)
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"


@pytest.fixture
def cluster(simulator: Simulator, settings, live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 1.0
    process = start_cluster(simulator)
    yield
    kill(process)


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement?.matches(s)", selector)


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until `selector` has the focus; each stop must show a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert not focused(page, "body"), "the focus fell back to the page's body"
        ring = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
        )
        tag = page.evaluate(
            "() => document.activeElement.outerHTML.slice(0, 80) + ' '"
            " + getComputedStyle(document.activeElement).outline"
        )
        assert ring, f"no visible focus ring on {tag}"
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def test_log_in_generate_and_open_the_result_without_a_mouse(
    page: Page, live_server, cluster: None
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("kim", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)

    page.goto(f"{live_server.url}/login/")
    assert focused(page, "#id_username")  # the login form starts there
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("current-team")).to_have_text("Studio North")
    # The first stop of every page is the skip link; it takes the focus to the content.
    page.keyboard.press("Tab")
    assert focused(page, "a.skip-link")
    page.keyboard.press("Enter")
    assert focused(page, "main")

    # Switching model keeps the focus on the model just chosen, in the form.
    tab_to(page, "a.model-tab[data-model='gpt-image-1']")
    page.keyboard.press("Enter")
    expect(page.locator("a.model-tab.active")).to_have_attribute("data-model", "gpt-image-1")
    wait_for_htmx(page)
    assert focused(page, "a.model-tab[data-model='gpt-image-1']")

    tab_to(page, "#id_prompt")
    page.keyboard.type("a lighthouse at dusk, ink drawing")
    page.keyboard.press("Control+Enter")
    announcement = page.get_by_test_id("queued")
    expect(announcement).to_contain_text("is queued")
    wait_for_htmx(page)
    assert focused(page, "[data-testid=queued]")  # told, and still in the form
    job = Generation.objects.get()
    expect(page.locator(f"#generation-{job.pk}")).to_have_attribute(
        "data-state", State.COMPLETED, timeout=30_000
    )

    tab_to(page, f"#generation-{job.pk} a.item-title", limit=200)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(f"Job #{job.number}")
    image = page.locator(".detail-images img").first
    expect(image).to_be_visible()
    # Loaded and decoded (visible is not enough: wait for it, never sleep).
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    tab_to(page, "a[download], a[href$='?download=1']", limit=60)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.startswith(f"gpt-image-1-{job.number}-1.")
