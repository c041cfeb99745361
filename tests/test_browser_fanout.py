"""GPT Image 1.5 in a real browser: 3 images asked, 3 images in one job (sent as three
upstream tasks of n = 1), with a live server, a real worker cluster and the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, UpstreamTask
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.processes import kill, start_cluster
from tests.test_browser_generate import generate, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 1.5
    process = start_cluster(simulator)
    yield
    kill(process)


def test_gpt_image_1_5_makes_3_images_in_one_job(
    page: Page, live_server, cluster: None, simulator: Simulator, tmp_path
) -> None:
    log_in(page, live_server.url)
    page.evaluate("window.__noReload = true")

    generate(page, "GPT Image 1.5", "three paper boats on a pond", n="3")

    items = page.locator(".history-item")
    expect(items).to_have_count(1)
    job = items.first
    expect(job).to_contain_text("n=3")
    expect(job.locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(job.locator(".thumbs img")).to_have_count(3)
    expect(items).to_have_count(1)  # still one job, not three
    assert [(c["model"], c["n"]) for c in simulator.creates] == [("gpt-image-1.5", 1)] * 3
    (generation,) = Generation.objects.all()
    assert UpstreamTask.objects.filter(generation=generation).count() == 3

    # One task of the next job fails: the job says so, with the images it has.
    simulator.fail_tasks("content_policy_violation", times=1)
    generate(page, "GPT Image 1.5", "two kites over a beach", n="2")
    partial = items.first
    expect(partial.locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(partial.locator(".thumbs img")).to_have_count(1)
    expect(partial.get_by_test_id("returned")).to_have_text("1 of 2 images returned")
    expect(partial.get_by_test_id("job-note")).to_contain_text(
        "1 of 2 images were made; 1 failed: "
    )
    page.screenshot(path=tmp_path / "fanout-history.png", full_page=True)
    assert page.evaluate("window.__noReload") is True
