"""The history and the form at work, in headless Chromium: paging keeps the form and
its references, the grid is remembered, references are attached once and reordered,
a queued job is cancelled from its card, and Re-run asks with the estimate first."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def attach(page: Page, name: str, colour: str) -> None:
    page.locator("#id_reference_files").set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": png_bytes(60, 40, colour)}]
    )
    wait_for_htmx(page)


def reference_order(page: Page) -> list[str]:
    return page.locator("#reference-list .reference-chip").evaluate_all(
        "chips => chips.map(c => c.dataset.sha)"
    )


def test_the_history_at_work_without_losing_the_form(browser: Browser, live_server) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    for i in range(24):
        done = make_generation(user, team=team, prompt=f"old job {i}", state=State.COMPLETED)
        save_result(done, 0, png_bytes(32, 48))
    queued = make_generation(user, team=team, prompt="still waiting")
    page = person(browser, live_server.url, "lea")

    # References: attached once each, reordered with their arrows.
    attach(page, "red.png", "red")
    attach(page, "blue.png", "blue")
    attach(page, "red-again.png", "red")  # the same picture: not a second reference
    expect(page.locator("#reference-list .reference-chip")).to_have_count(2)
    expect(page.locator("#reference-errors")).to_contain_text("already attached")
    red, blue = reference_order(page)
    page.locator("#reference-list .reference-chip").nth(1).get_by_role(
        "button", name="Move this reference image earlier"
    ).click()
    assert reference_order(page) == [blue, red]
    expect(page.locator("#reference-list .reference-chip").first).to_contain_text("60×40")

    # Paging swaps the history only: the prompt and the references stay.
    page.get_by_label("Prompt").fill("a careful prompt I do not want to lose")
    page.get_by_role("link", name=re.compile("Older jobs")).click()
    wait_for_htmx(page)
    expect(page).to_have_url(re.compile(r"\?before=\d+"))
    expect(page.locator(".history-item", has_text="old job 0")).to_be_visible()
    expect(page.get_by_label("Prompt")).to_have_value("a careful prompt I do not want to lose")
    assert reference_order(page) == [blue, red]
    page.get_by_role("link", name=re.compile("Newest jobs")).click()
    wait_for_htmx(page)
    expect(page.locator(".history-item", has_text="still waiting")).to_be_visible()

    # A queued job is cancelled from its card; the card says so at once.
    card = page.locator(f"#generation-{queued.pk}")
    card.get_by_role("button", name="Cancel").click()
    expect(page.locator(f"#generation-{queued.pk}")).to_have_attribute("data-state", "cancelled")
    expect(page.locator(f"#generation-{queued.pk}")).to_contain_text("not charged")

    # The grid is the person's choice: it is still the grid after a reload.
    page.get_by_role("button", name="Grid").click()
    wait_for_htmx(page)
    expect(page.locator("#history")).to_have_class(re.compile(r"layout-grid"))
    page.reload()
    expect(page.locator("#history")).to_have_class(re.compile(r"layout-grid"))
    page.get_by_role("button", name="List").click()
    wait_for_htmx(page)

    # Re-run asks first, with the estimate, then returns to the studio.
    page.locator(".history-item", has_text="old job 23").get_by_role("link", name="Re-run…").click()
    expect(page.get_by_test_id("rerun-estimate")).to_contain_text("credits")
    assert Generation.objects.filter(prompt="old job 23").count() == 1  # nothing yet
    page.get_by_role("button", name="Run it again").click()
    expect(page).to_have_url(re.compile(r"/t/north/$"))
    expect(page.locator(".messages")).to_contain_text("was sent again as job #")
    assert Generation.objects.filter(prompt="old job 23").count() == 2
