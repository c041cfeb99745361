"""The README's phone promises, measured at 390 × 844 in headless Chromium with a touch
screen (issue 20): every visible interactive element of every main page is a tap target
of at least 44 × 44 px, for an admin and for a member; the header and the simulator
banner leave the studio's form well above the fold; after Generate the "Job #N is
queued" line is in sight (not under the sticky tabs) and no keyboard hint is shown.

Photographed at 390 and 1280 px wide when SCREENSHOTS names a folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.apitokens.models import ApiToken
from playground.gallery.models import Collection, CollectionItem
from playground.matrix.models import MatrixCell, MatrixRun
from playground.teams.models import Invitation, Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.factories import png_bytes, team_at_work
from tests.test_browser_team import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
MIN = 44

# What is measured: everything a finger can activate. A checkbox or a radio button is
# tapped through its label, so its label's box counts (the larger of the two).
INTERACTIVE = (
    "a[href], button, summary, select, textarea, [role=tab], [tabindex]:not([tabindex='-1']), "
    "input:not([type=hidden])"
)

# The only exceptions, each with its reason.
EXCEPTIONS = {
    # WCAG 2.5.8's inline exception: a link inside a sentence is as tall as its line
    # (found by the script below: an inline link with other words around it).
    "inline link": "a link in running text",
}

MEASURE = """([selector, min]) => {
  const boxOf = (el) => {
    let box = el.getBoundingClientRect();
    // A control tapped through its label: the label's box is the target.
    const label = el.labels && el.labels.length ? el.labels[0] : el.closest("label");
    if (label && ["checkbox", "radio", "file"].includes(el.type)) {
      const l = label.getBoundingClientRect();
      box = { width: Math.max(box.width, l.width), height: Math.max(box.height, l.height) };
    }
    return box;
  };
  // A link inside a sentence (WCAG 2.5.8's inline exception).
  const inline = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const parent = el.parentElement;
    return parent.textContent.trim().length > el.textContent.trim().length;
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.checkVisibility({ opacityProperty: false, visibilityProperty: true }))
    .filter((el) => !el.closest("[inert], dialog:not([open])"))
    .filter((el) => !inline(el))
    .map((el) => [el, boxOf(el)])
    .filter(([el, box]) => box.width > 0 && (box.width < min || box.height < min))
    .map(([el, box]) =>
      `${Math.round(box.width)}×${Math.round(box.height)}: ${el.outerHTML.slice(0, 90)}`);
}"""


def small_targets(page: Page) -> list[str]:
    """The visible interactive elements under 44 px, and any sideways scroll."""
    # Measured once the page is still: mid-transition (the grid tile's details sliding up
    # under a finger that just tapped Grid) a 44 px link measures 43.9999 px.
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    found: list[str] = page.evaluate(MEASURE, [INTERACTIVE, MIN])
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:  # type: ignore[index]
        found.append(f"the page scrolls sideways: {width} px wide")
    return found


def shot(page: Page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # (A full-page shot drops Chromium's touch emulation while it is taken.)
        page.screenshot(path=f"{folder}/{name}.png", full_page=full_page)


def phone(browser: Browser, base_url: str, username: str, width: int = 390) -> Page:
    """A touch screen (coarse pointer, no hover), signed in."""
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": 844 if width == 390 else 900},
        has_touch=width == 390,
    )
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    return page


@pytest.fixture
def a_team_with_everything(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """ana (admin) and mo (member) of Studio North, with jobs, a collection, a matrix
    run, an open invitation link; mo is also invited to another team. The upstream is a
    loopback address, as in the demo, so the simulator banner shows (nothing is sent:
    no worker runs)."""
    settings.EVOLINK_BASE_URL = "http://127.0.0.1:9/"
    settings.EVOLINK_API_KEY = "demo-key"
    ana, done, _failed = team_at_work(PASSWORD)
    team = Team.objects.get(slug="north")
    mo = User.objects.create_user("mo", password=PASSWORD)
    Membership.objects.create(user=mo, team=team, role=Role.MEMBER)
    images = list(done.images.all())
    collection = Collection.objects.create(team=team, name="Posters", created_by=ana)
    for image in images:
        CollectionItem.objects.create(collection=collection, image=image, added_by=ana)
    run = MatrixRun.objects.create(
        team=team,
        created_by=ana,
        text="a fox",
        choices={},
        axes={"rows": ["GPT Image 2"], "columns": ["Low"], "column_heading": "Quality"},
        client_token=uuid.uuid4(),
    )
    MatrixCell.objects.create(
        run=run, generation=done, row=0, column=0, row_label="GPT Image 2", column_label="Low"
    )
    _link, token = Invitation.issue(team, Role.MEMBER, ana)
    # A token of ana's: the API tokens page lists it with its Revoke button.
    ApiToken.issue(Membership.objects.get(user=ana, team=team), name="batch renamer")
    south = Team.objects.create(name="Studio South", slug="south")
    sam = User.objects.create_user("sam", password=PASSWORD)
    Membership.objects.create(user=sam, team=south, role=Role.ADMIN)
    Invitation.address(south, Role.MEMBER, sam, "mo")
    return {
        "studio": "/t/north/",
        "job": f"/generations/{done.public_id}/",
        "re-run": f"/generations/{done.public_id}/resubmit/",
        "delete": f"/generations/{done.public_id}/delete/",
        "collections": "/t/north/collections/",
        "collection": f"/t/north/collections/{collection.pk}/",
        "matrix": "/t/north/matrix/",
        "matrix run": f"/t/north/runs/{run.public_id}/",
        "compare": f"/compare/?images={images[0].pk},{images[1].pk}",
        "keys": "/t/north/keys/",
        "usage": "/t/north/usage/",
        "members": "/t/north/members/",
        "api tokens": "/t/north/tokens/",
        "invitations": "/invitations/",
        "password": "/account/password/",
        "invitation link": f"/invite/{token}/",
    }


def walk(page: Page, pages: dict[str, str], who: str) -> dict[str, list[str]]:
    """Every page's small targets (all listed before the verdict); the studio twice, its
    history tab in both layouts too."""
    found: dict[str, list[str]] = {}
    for name, url in pages.items():
        if (name == "keys" and who != "ana") or (name == "invitations" and who != "mo"):
            continue
        page.goto(url)
        found[name] = small_targets(page)
        shot(page, f"{who}-{name}-390")
        if name == "studio":
            # Two reference images attached: their chips' arrows and remove buttons.
            page.locator("#id_reference_files").set_input_files(
                files=[
                    {"name": f"{n}.png", "mimeType": "image/png", "buffer": png_bytes(n, 64)}
                    for n in (64, 96)
                ]
            )
            chips = page.locator("#reference-list .reference-chip:not(.uploading)")
            expect(chips).to_have_count(2)
            found["studio, references"] = small_targets(page)
            chips.first.scroll_into_view_if_needed()
            shot(page, f"{who}-references-390", full_page=False)
            # The mask painter over the first of them (the default model takes masks).
            chips.first.locator("[data-mask-open]").click()
            expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()
            found["mask painter"] = small_targets(page)
            shot(page, f"{who}-mask-painter-390", full_page=False)
            page.keyboard.press("Escape")
            expect(page.locator("#mask-painter")).to_be_hidden()
            page.get_by_role("tab", name="History").click()
            found["studio, history"] = small_targets(page)
            shot(page, f"{who}-history-390")
            page.get_by_role("button", name="Grid").click()
            wait_for_htmx(page)
            found["studio, history grid"] = small_targets(page)
            page.get_by_role("button", name="List").click()
            wait_for_htmx(page)
            # The selection bar, floating once an image is ticked.
            page.locator("[data-select-image]").first.check()
            expect(page.locator(".selection-bar.floating")).to_be_visible()
            found["studio, selection bar"] = small_targets(page)
            shot(page, f"{who}-selection-390", full_page=False)
            page.locator("[data-select-image]").first.uncheck()
            # The lightbox over the history.
            page.locator("a[data-lightbox]").first.click()
            expect(page.get_by_test_id("lightbox")).to_be_visible()
            found["lightbox"] = small_targets(page)
            shot(page, f"{who}-lightbox-390", full_page=False)
            page.keyboard.press("Escape")
    # The header's menus open: the teams and the languages.
    page.goto(pages["studio"])
    page.get_by_test_id("team-switcher").locator("summary").click()
    page.get_by_test_id("language-menu").locator("summary").click()
    found["menus open"] = small_targets(page)
    return {name: problems for name, problems in found.items() if problems}


def test_every_tap_target_is_44_px_on_a_phone(
    browser: Browser, live_server, a_team_with_everything: dict[str, str]
) -> None:
    # Signed out: the login page and the forgotten password.
    anonymous = browser.new_context(base_url=live_server.url, viewport=PHONE, has_touch=True)
    page = anonymous.new_page()
    for url in ("/login/", "/password-reset/", a_team_with_everything["invitation link"]):
        page.goto(url)
        assert small_targets(page) == [], url
    shot(page, "anonymous-password-reset-390")
    anonymous.close()
    for who in ("ana", "mo"):
        page = phone(browser, live_server.url, who)
        problems = walk(page, a_team_with_everything, who)
        assert problems == {}, "\n".join(
            f"{who}, {name}: {p}" for name, ps in problems.items() for p in ps
        )
        page.context.close()


def test_the_form_starts_above_the_fold_and_the_queued_job_shows(
    browser: Browser, live_server, a_team_with_everything: dict[str, str]
) -> None:
    page = phone(browser, live_server.url, "mo")
    page.goto("/t/north/")
    expect(page.get_by_test_id("simulator-banner")).to_be_visible()
    # The header and the banner are compact: the form starts in the top quarter.
    form_top = page.locator("#generation-form").bounding_box()
    assert form_top and form_top["y"] < 200, form_top
    # The model buttons: one row, equal widths, each label centred in its button.
    boxes = [b for b in (t.bounding_box() for t in page.locator(".model-tab").all()) if b]
    assert len(boxes) == 3
    assert len({round(b["y"]) for b in boxes}) == 1, boxes
    assert max(b["width"] for b in boxes) - min(b["width"] for b in boxes) < 2, boxes
    assert page.evaluate(
        """() => [...document.querySelectorAll('.model-tab')].every((tab) => {
            const box = tab.getBoundingClientRect();
            const range = document.createRange();
            range.selectNodeContents(tab);
            const text = range.getBoundingClientRect();
            return Math.abs((text.left + text.right) / 2 - (box.left + box.right) / 2) < 2;
        })"""
    )

    page.get_by_label("Prompt").fill("a lighthouse at dawn")
    # Scrolled down to the form, as after typing a prompt: the news of the job will be
    # born right where the sticky tabs are. Sent as the phone's Go key does.
    page.evaluate("window.scrollTo(0, document.getElementById('generation-form').offsetTop)")
    page.locator("#generation-form").evaluate("(form) => form.requestSubmit()")
    queued = page.get_by_test_id("queued")
    expect(queued).to_be_visible()
    wait_for_htmx(page)
    # In sight, below the sticky tabs, and focused (studio.js).
    expect(queued).to_be_focused()
    tabs = page.locator(".pane-tabs").bounding_box()
    line = queued.bounding_box()
    assert tabs and line
    assert line["y"] >= tabs["y"] + tabs["height"] - 1, (tabs, line)
    assert line["y"] + line["height"] <= PHONE["height"], line
    # No keyboard on a touch screen: no "Press Ctrl+Enter".
    expect(page.get_by_text("Ctrl+Enter")).to_be_hidden()
    shot(page, "mo-queued-390", full_page=False)


def test_the_desktop_keeps_its_keyboard_hint_and_layout(
    browser: Browser, live_server, a_team_with_everything: dict[str, str]
) -> None:
    page = phone(browser, live_server.url, "ana", width=1280)
    for name, url in a_team_with_everything.items():
        if name == "invitations":
            continue
        page.goto(url)
        shot(page, f"ana-{name}-1280")
    page.goto("/t/north/")
    page.get_by_label("Prompt").fill("a lighthouse at dawn")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("queued")).to_contain_text("Ctrl+Enter")
    expect(page.get_by_text("Ctrl+Enter")).to_be_visible()
    # The header stays one line.
    header = page.locator("header.topbar").bounding_box()
    assert header and header["height"] < 70, header
    shot(page, "ana-queued-1280")
