"""Every page, walked as a team admin and as a member in headless Chromium, with the
console and the network watched: no error in the console (an htmx request aborted by a
newer one, a script error), no uncaught exception, no request answered 4xx / 5xx, and
an icon linked and served on every page. The matrix page's boxes are ticked quickly,
as people tick them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.gallery import collections
from playground.generations.models import State
from playground.teams.models import Membership, Role
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import make_generation, team_at_work
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Watched:
    """What went wrong on a page, as a person's browser would show it."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")

    def _failed(self, request: Any) -> None:
        # Leaving a page cancels its requests still on their way (the 2-second live
        # checks): the browser's doing, not an error. Any other failure is one.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.method} {request.url} ({request.failure})")


def visit(page: Page, watched: Watched, url: str, seen: dict[str, list[str]], who: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    wait_for_htmx(page)
    # Headless Chromium never asks for a tab's icon: ask for it as a desktop browser would.
    icon = page.evaluate("() => document.querySelector('link[rel~=icon]')?.href")
    if not icon:
        watched.problems.append("no icon linked")
    elif (answer := page.request.get(icon)).status != 200:
        watched.problems.append(f"{answer.status}: the icon {icon}")
    seen[f"{who}: {url}"] = list(watched.problems)
    watched.problems.clear()


def tick_quickly(page: Page) -> None:
    """The matrix page's boxes, ticked one after the other as a person does: each tick
    asks for a new preview while the last may still be on its way."""
    for label in ("Medium", "High", "GPT Image 1.5", "Low", "1:1", "Medium"):
        page.get_by_label(label, exact=True).click()
    wait_for_htmx(page)
    # The preview follows the last tick: Low and Medium off, High on.
    expect(page.get_by_test_id("matrix-total")).to_be_visible()


def test_no_page_logs_an_error_or_fails_a_request(browser: Browser, live_server) -> None:
    ana, done, failed = team_at_work(PASSWORD)
    team = done.team
    mo = User.objects.create_user("mo", password=PASSWORD)
    Membership.objects.create(user=mo, team=team, role=Role.MEMBER)
    mine = make_generation(mo, team=team, prompt="mo's finished job", state=State.COMPLETED)
    kept = collections.create(team, "Keepers", ana)
    assert kept is not None
    images = list(done.images.order_by("index"))
    collections.add(kept, images, ana)
    compare = f"/compare/?images={images[0].pk},{images[1].pk}"

    # The login page, before anyone signs in.
    anonymous = browser.new_context(base_url=live_server.url)
    login = anonymous.new_page()
    watched_login = Watched(login)
    seen: dict[str, list[str]] = {}
    visit(login, watched_login, "/login/", seen, "anonymous")
    anonymous.close()

    common = [
        "/t/north/",
        f"/generations/{done.public_id}/",
        f"/generations/{failed.public_id}/",
        f"/generations/{done.public_id}/resubmit/",
        "/t/north/members/",
        "/t/north/usage/",
        "/t/north/collections/",
        f"/t/north/collections/{kept.pk}/",
        compare,
        "/invitations/",
        "/account/password/",
    ]
    walks = {
        "ana": [*common, "/t/north/keys/", f"/generations/{done.public_id}/delete/"],
        "mo": [
            *common,
            f"/generations/{mine.public_id}/",
            f"/generations/{mine.public_id}/delete/",
        ],
    }
    for username, urls in walks.items():
        page = person(browser, live_server.url, username)
        watched = Watched(page)
        for url in urls:
            visit(page, watched, url, seen, username)

        # The studio's grid view and the lightbox over it; a select changed quickly (the
        # live estimate asks on each change).
        visit(page, watched, "/t/north/", seen, username)
        for quality in ("high", "low", "medium", "high"):
            page.get_by_label("Quality").select_option(quality)
        page.get_by_role("button", name="Grid").click()
        wait_for_htmx(page)
        expect(page.locator("#history.layout-grid")).to_be_visible()
        page.locator("#history .tile img").first.click()
        expect(page.locator("dialog[open]")).to_be_visible()
        page.keyboard.press("Escape")
        seen[f"{username}: estimate, grid, lightbox"] = list(watched.problems)
        watched.problems.clear()

        # The matrix page, its boxes ticked quickly.
        visit(page, watched, "/t/north/matrix/", seen, username)
        tick_quickly(page)
        seen[f"{username}: matrix ticks"] = list(watched.problems)
        watched.problems.clear()
        page.context.close()

    problems = {where: found for where, found in seen.items() if found}
    assert problems == {}, "\n".join(f"{w}: {p}" for w, found in problems.items() for p in found)
    # Each URL of each walk, the studio once more (same key), the matrix, and two steps.
    assert len(seen) == 1 + sum(len(urls) + 3 for urls in walks.values())
