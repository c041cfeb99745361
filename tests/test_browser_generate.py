"""Generating for real in headless Chromium: live server + real worker cluster + simulator."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Page, expect

from playground.evolink.simulator import AUTO_SIZE, Simulator
from playground.teams.models import Membership, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 2.5  # long enough to watch the progress bar move
    process = start_cluster(simulator)
    yield
    kill(process)


def log_in(page: Page, base_url: str) -> None:
    alice = User.objects.create_user("alice", password="s3cret-pass-word")
    Membership.objects.create(user=alice, team=Team.objects.create(name="Team A", slug="a"))
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("s3cret-pass-word")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Generate")).to_be_visible()


def generate(page: Page, model_label: str, prompt: str, n: str = "1") -> None:
    page.get_by_role("link", name=model_label, exact=True).click()
    wait_for_htmx(page)
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Quality").select_option("low")
    page.get_by_label("Number of images").fill(n)
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)


def test_generate_with_every_model_watch_it_finish_and_download(
    page: Page, live_server, cluster: None, simulator: Simulator, tmp_path
) -> None:
    log_in(page, live_server.url)
    expect(page.get_by_test_id("simulator-banner")).to_contain_text("Offline simulator")
    page.evaluate("window.__noReload = true")

    generate(page, "GPT Image 2", "a lighthouse in a storm", n="2")
    first = page.locator(".history-item").first
    # The job shows up at once, then runs with a progress bar, then shows its images.
    expect(first).to_contain_text("a lighthouse in a storm")
    expect(first.locator("progress")).to_be_visible()
    expect(first.locator(".badge")).to_have_text("Running", timeout=10_000)
    expect(first.locator(".badge")).to_have_text("Completed", timeout=20_000)
    expect(first.locator(".thumbs img")).to_have_count(2)

    generate(page, "GPT Image 1", "a red fox in the snow")
    generate(page, "GPT Image 1.5", "a bowl of ramen, watercolour")
    items = page.locator(".history-item")
    expect(items).to_have_count(3)
    for index in range(3):
        expect(items.nth(index).locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(page.get_by_test_id("counters")).to_have_text(re.compile(r"0 running · 3 completed"))

    # A failure comes back with its meaning.
    generate(page, "GPT Image 2", "[fail:content_policy_violation] a forbidden scene")
    failed = page.locator(".history-item").first
    expect(failed.locator(".badge")).to_have_text("Failed", timeout=20_000)
    expect(failed.locator(".item-error")).to_contain_text("content filter blocked")

    assert page.evaluate("window.__noReload") is True  # all of it without a reload
    assert simulator.request_count("POST /v1/images/generations") == 4

    # The detail page of the first job: full-size images and a download.
    page.locator(".history-item", has_text="a lighthouse in a storm").get_by_role(
        "link", name=re.compile(r"#\d+ · GPT Image 2")
    ).click()
    expect(page.get_by_test_id("detail-state")).to_have_text("Completed")
    expect(page.locator(".results img")).to_have_count(2)
    expect(page.locator(".prompt")).to_have_text("a lighthouse in a storm")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download", exact=True).first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".png"
    assert Image.open(path).size == AUTO_SIZE  # what the simulator makes of `auto`
