"""A team at work in headless Chromium: one browser context per person, a real worker
cluster and the simulator. A colleague's job appears live, is built on, and the new
job's page tells where it came from; a viewer sees without generating; a member of
another team sees nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation
from playground.teams.models import Membership, Role, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    wait_for_htmx,
    watch_csp,
)
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"


@pytest.fixture
def cluster(simulator: Simulator, settings, live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    # The simulator downloads reference images from the live server, as EvoLink would.
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.task_seconds = 1.5
    process = start_cluster(simulator, PUBLIC_BASE_URL=live_server.url)
    yield
    kill(process)


def person(browser: Browser, base_url: str, username: str) -> Page:
    """A separate browser (cookies and all) for one person, signed in."""
    context = browser.new_context(base_url=base_url)
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    return page


def test_colleagues_share_build_on_and_trace_each_others_work(
    browser: Browser, live_server, cluster: None
) -> None:
    team_a = Team.objects.create(name="Studio North", slug="north")
    team_b = Team.objects.create(name="Studio South", slug="south")
    for username, team, role in (
        ("alice", team_a, Role.MEMBER),
        ("bob", team_a, Role.MEMBER),
        ("vera", team_a, Role.VIEWER),
        ("charlie", team_b, Role.MEMBER),
    ):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)

    bob = person(browser, live_server.url, "bob")
    expect(bob.get_by_test_id("current-team")).to_have_text("Studio North")
    expect(bob.locator("#history")).to_contain_text("Nothing yet")
    bob.evaluate("window.__noReload = true")

    # alice generates in her own browser.
    alice = person(browser, live_server.url, "alice")
    alice.get_by_label("Prompt").fill("a lighthouse at dawn by alice")
    alice.get_by_label("Quality").select_option("low")
    alice.get_by_role("button", name="Generate").click()
    wait_for_htmx(alice)

    # bob's Team view shows it without a reload, says who made it, and fills in.
    item = bob.locator(".history-item", has_text="a lighthouse at dawn by alice")
    expect(item).to_be_visible(timeout=10_000)
    expect(item.get_by_test_id("made-by")).to_have_text("by alice")
    expect(item.locator(".badge")).to_have_text("Completed", timeout=20_000)
    expect(item.locator(".thumbs img")).to_have_count(1)
    assert bob.evaluate("window.__noReload") is True
    first = Generation.objects.get()

    # bob opens alice's job, presses "Edit this" and generates in his own name.
    item.get_by_role("link", name=re.compile(r"#\d+ · GPT Image 2")).click()
    expect(bob.get_by_test_id("byline")).to_contain_text("Made by alice in Studio North")
    bob.get_by_role("link", name="Edit this").click()
    expect(bob.locator("#reference-list .reference-chip")).to_have_count(1)
    bob.get_by_label("Prompt").fill("the same lighthouse at night, by bob")
    bob.get_by_label("Quality").select_option("low")
    bob.get_by_role("button", name="Generate").click()
    wait_for_htmx(bob)
    mine = bob.locator(".history-item", has_text="the same lighthouse at night, by bob")
    expect(mine.locator(".badge")).to_have_text("Completed", timeout=20_000)

    # The new job's page traces it back to alice's.
    mine.get_by_role("link", name=re.compile(r"#\d+ · GPT Image 2")).click()
    expect(bob.get_by_test_id("byline")).to_contain_text("Made by bob")
    lineage = bob.get_by_test_id("lineage")
    expect(lineage).to_contain_text(f"Edited from #{first.number} by alice")
    lineage.get_by_role("link", name=f"#{first.number}").click()
    expect(bob.get_by_test_id("byline")).to_contain_text("Made by alice")

    # vera, a viewer, sees both jobs and cannot generate.
    vera = person(browser, live_server.url, "vera")
    expect(vera.locator(".history-item")).to_have_count(2)
    expect(vera.get_by_test_id("viewer-note")).to_be_visible()
    expect(vera.get_by_role("button", name="Generate")).to_have_count(0)

    # charlie, of another team, gets 404 for alice's job and its image.
    charlie = person(browser, live_server.url, "charlie")
    for path in (f"/generations/{first.public_id}/", f"/generations/{first.public_id}/images/0"):
        response = charlie.goto(path)
        assert response is not None and response.status == 404, path
