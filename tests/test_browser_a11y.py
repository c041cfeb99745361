"""axe-core (the npm package, pinned in .ci/axe) run by Playwright on the pages people
work in: the studio (list and grid), a job's page, a failed job, the team page, the
usage page, the API tokens page and the login page. No serious or critical violation is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import team_at_work
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent.parent / ".ci" / "axe" / "node_modules" / "axe-core"


def serious_violations(page: Page) -> list[str]:
    """Inject axe-core (through DevTools, so our CSP is not loosened) and run it."""
    page.evaluate((AXE / "axe.min.js").read_text())
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
                .filter((v) => ["serious", "critical"].includes(v.impact))
                .map((v) => `${v.id}: ${v.help} @ ${v.nodes.map((n) => n.target).join(" | ")}`);
        }"""
    )


def test_the_pages_people_work_in_have_no_serious_accessibility_problems(
    browser: Browser, live_server
) -> None:
    assert (AXE / "axe.min.js").exists(), "run .ci/test: it installs axe-core (npm ci)"
    _ana, done, failed = team_at_work(PASSWORD)

    found: dict[str, list[str]] = {}
    anonymous = browser.new_page(base_url=live_server.url)
    anonymous.goto("/login/")
    found["login"] = serious_violations(anonymous)

    page = person(browser, live_server.url, "ana")
    pages = {
        "studio": "/t/north/",
        "job": f"/generations/{done.public_id}/",
        "failed job": f"/generations/{failed.public_id}/",
        "re-run": f"/generations/{done.public_id}/resubmit/",
        "team": "/t/north/members/",
        "usage": "/t/north/usage/",
        "keys": "/t/north/keys/",
        "api tokens": "/t/north/tokens/",
        "review": "/t/north/review/",
    }
    for name, url in pages.items():
        page.goto(url)
        found[name] = serious_violations(page)
    # A token just made: its value in a read-only field, with its Copy button.
    page.goto("/t/north/tokens/")
    page.get_by_label("Name").fill("batch renamer")
    page.get_by_role("button", name="Make the token").click()
    assert page.get_by_test_id("token-value").input_value().startswith("pgk_")
    found["api tokens, a new token"] = serious_violations(page)
    page.goto("/t/north/")
    page.get_by_role("button", name="Grid").click()
    wait_for_htmx(page)
    found["studio, grid"] = serious_violations(page)
    # A form in error: messages next to their fields, announced.
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    assert page.locator("#generation-form .errorlist").count() > 0
    found["studio, form in error"] = serious_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/t/north/")
    found["studio on a phone"] = serious_violations(page)
    # Every page is checked before the verdict, so one run lists every problem.
    problems = {name: problems for name, problems in found.items() if problems}
    assert problems == {}, "\n".join(f"{n}: {p}" for n, ps in problems.items() for p in ps)
