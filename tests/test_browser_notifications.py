"""The bell and browser notifications in headless Chromium (issue 24).

The bell's count arrives with the history's live refresh (no request of its own); the
panel lists, links and marks read. Browser notifications are asked for only after a
click, and shown when a job of yours ends while the tab is hidden: the page's
Notification and `document.hidden` are stand-ins here (a headless tab is never hidden,
and a real notification cannot be read back), the logic is the page's own.
Pages photographed when SCREENSHOTS names a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from playground.generations.models import Generation, State
from playground.notifications.events import notify
from playground.notifications.models import Kind
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.factories import make_generation
from tests.test_browser_a11y import AXE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"

# A Notification that records what the page shows, and a tab the test hides at will.
STAND_INS = """
(() => {
  window.__shown = [];
  window.__asked = 0;
  window.__hidden = false;
  Object.defineProperty(document, "hidden", { get: () => window.__hidden });
  class FakeNotification {
    constructor(title, options) { window.__shown.push(title); this.options = options; }
    close() {}
    static requestPermission() {
      window.__asked += 1;
      FakeNotification.permission = "granted";
      return Promise.resolve("granted");
    }
  }
  FakeNotification.permission = "default";
  window.Notification = FakeNotification;
})();
"""


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=False)


def person(browser: Browser, base_url: str, username: str, width: int = 1280) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 800})
    watch_csp(context)
    context.add_init_script(STAND_INS)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


@pytest.fixture
def people(db: None) -> dict[str, User]:
    team = Team.objects.create(name="Studio North", slug="north")
    users = {}
    for name, role in (("mia", Role.MEMBER), ("rex", Role.MEMBER)):
        users[name] = User.objects.create_user(name, f"{name}@example.com", PASSWORD)
        Membership.objects.create(user=users[name], team=team, role=role)
    return users


def test_the_bell_follows_the_live_refresh_and_the_panel_marks_read(
    browser: Browser,
    live_server,
    people: dict[str, User],  # type: ignore[no-untyped-def]
) -> None:
    mia, rex = people["mia"], people["rex"]
    job = make_generation(mia, prompt="a lighthouse at dusk", state=State.COMPLETED)
    page = person(browser, live_server.url, "mia")
    page.goto("/t/north/")
    expect(page.get_by_role("button", name="Notifications (0 unread)")).to_be_visible()

    # A colleague mentions her: the bell changes with the history's next refresh.
    for text in ("@mia the lighthouse is the one", "and the second"):
        notify(mia, Kind.MENTION, team=job.team, actor=rex, generation=job, excerpt=text)
    bell = page.get_by_role("button", name="Notifications (2 unread)")
    expect(bell).to_be_visible(timeout=10_000)
    expect(page.locator("[data-bell-count]")).to_have_text("2")

    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("notification")).to_have_count(2)
    expect(panel).to_contain_text(f"rex mentioned you on job #{job.number}")
    expect(panel).to_contain_text("“@mia the lighthouse is the one”")
    shot(page, "bell-panel")
    if (AXE / "axe.min.js").exists():
        assert serious_violations(page) == []

    # One marked read, in the panel; the bell follows the answer.
    panel.get_by_role("button", name="Mark read").first.click()
    expect(page.get_by_role("button", name="Notifications (1 unread)")).to_be_visible()
    expect(page.get_by_role("region", name="Notifications")).to_be_visible()
    expect(page.get_by_role("heading", name="Notifications")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("region", name="Notifications")).to_be_hidden()
    expect(page.get_by_role("button", name="Notifications (1 unread)")).to_be_focused()

    # Following one reads it and lands on the job.
    page.get_by_role("button", name="Notifications (1 unread)").click()
    unread = page.get_by_role("region", name="Notifications").locator(".notification.unread")
    expect(unread).to_have_count(1)
    unread.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/generations/{job.public_id}/")
    expect(page.get_by_role("button", name="Notifications (0 unread)")).to_be_visible()


def test_a_job_of_yours_that_ends_while_the_tab_is_hidden_shows_a_browser_notification(
    browser: Browser,
    live_server,
    people: dict[str, User],  # type: ignore[no-untyped-def]
) -> None:
    mia, rex = people["mia"], people["rex"]
    mine = make_generation(mia, prompt="mine", state=State.RUNNING)
    other = make_generation(rex, prompt="a colleague's", state=State.RUNNING)
    page = person(browser, live_server.url, "mia")
    page.goto("/t/north/")

    # Nothing is asked of the browser until the person clicks.
    page.get_by_role("button", name="Notifications (0 unread)").click()
    ask = page.get_by_role("button", name="Notify me in the browser")
    expect(ask).to_be_visible()
    on = page.get_by_text("Browser notifications are on for your jobs.")
    expect(on).to_be_hidden()
    assert page.evaluate("window.__asked") == 0
    ask.click()
    expect(on).to_be_visible()
    expect(ask).to_be_hidden()
    assert page.evaluate("window.__asked") == 1
    page.keyboard.press("Escape")

    # The tab is hidden; the colleague's job ends (nothing), then hers (one notification).
    page.evaluate("window.__hidden = true")
    now = timezone.now()
    Generation.objects.transition(other.pk, State.RUNNING, state=State.COMPLETED, finished_at=now)
    expect(page.locator(f"#generation-{other.pk}")).to_have_attribute("data-state", "completed")
    wait_for_htmx(page)
    assert page.evaluate("window.__shown") == []
    Generation.objects.transition(mine.pk, State.RUNNING, state=State.FAILED, finished_at=now)
    expect(page.locator(f"#generation-{mine.pk}")).to_have_attribute("data-state", "failed")
    page.wait_for_function("window.__shown.length > 0")
    assert page.evaluate("window.__shown") == [f"Your job #{mine.number} · GPT Image 2 has ended"]


def test_the_bell_on_a_phone(
    browser: Browser,
    live_server,
    people: dict[str, User],  # type: ignore[no-untyped-def]
) -> None:
    mia, rex = people["mia"], people["rex"]
    job = make_generation(mia, prompt="a lighthouse", state=State.COMPLETED)
    notify(mia, Kind.MENTION, team=job.team, actor=rex, generation=job, excerpt="this one")
    page = person(browser, live_server.url, "mia", width=390)
    page.goto("/t/north/")
    bell = page.get_by_role("button", name="Notifications (1 unread)")
    box = bell.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44
    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    expect(panel).to_be_visible()
    panel_box = panel.bounding_box()
    assert (
        panel_box is not None and panel_box["x"] >= 0 and panel_box["x"] + panel_box["width"] <= 390
    )
    shot(page, "bell-phone")
    page.goto("/notifications/settings/")
    shot(page, "notification-settings")
    checked = (AXE / "axe.min.js").exists()
    assert not checked or serious_violations(page) == []
    page.goto("/notifications/")
    # The page belongs to no team; the header shows the current one, with its links.
    expect(page.get_by_test_id("current-team")).to_have_text("Studio North")
    shot(page, "notifications-page")
    assert not checked or serious_violations(page) == []
