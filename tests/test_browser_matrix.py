"""A matrix run for real in headless Chromium (live server + real worker cluster +
simulator): from the studio's prompt to a 2 × 3 grid (two models × three qualities),
previewed live with its total, generated once, and filled in live as the jobs finish."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation
from playground.matrix.models import MatrixRun
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 1.5  # long enough to see the grid fill cell by cell
    process = start_cluster(simulator)
    yield
    kill(process)


def test_a_two_by_three_matrix_from_the_studio_fills_in_live(
    browser: Browser, live_server, cluster: None, simulator: Simulator
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    alice = User.objects.create_user("alice", password=PASSWORD)
    Membership.objects.create(user=alice, team=team, role=Role.MEMBER)
    page = person(browser, live_server.url, "alice")

    # The studio's prompt and quality go over to the matrix page.
    page.goto("/t/north/")
    page.get_by_label("Prompt").fill("a paper boat on a puddle")
    page.get_by_label("Quality").select_option("low")
    page.get_by_role("button", name="Matrix run…").click()
    expect(page).to_have_url(re.compile(r"/t/north/matrix/\?prompt=a\+paper\+boat"))
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value("a paper boat on a puddle")
    assert "csrfmiddlewaretoken" not in page.url

    # Tick a second model and two more qualities; a size both models make.
    page.get_by_label("GPT Image 1", exact=True).check()
    page.get_by_label("Medium").check()
    page.get_by_label("High").check()
    page.get_by_label("1:1", exact=True).check()
    page.get_by_label("Auto").uncheck()
    wait_for_htmx(page)
    expect(page.get_by_test_id("matrix-total")).to_contain_text("6 jobs")
    expect(page.get_by_test_id("preview-cell")).to_have_count(6)
    grid = page.get_by_test_id("preview-grid")
    expect(grid.locator("thead th")).to_have_text(
        [re.compile("Model"), "Low", "Medium", "High"], ignore_case=True
    )
    expect(grid.locator("tbody th")).to_have_text(["GPT Image 1", "GPT Image 2"])
    assert Generation.objects.count() == 0  # a preview sends nothing

    page.get_by_role("button", name="Generate 6 jobs").click()
    expect(page).to_have_url(re.compile(r"/t/north/runs/[0-9a-f-]+/$"))
    page.evaluate("window.__noReload = true")
    cells = page.get_by_test_id("run-cell")
    expect(cells).to_have_count(6)
    # The grid fills in by itself: every cell ends completed, with its image.
    for index in range(6):
        expect(cells.nth(index)).to_have_attribute("data-state", "completed", timeout=60_000)
    expect(page.locator("#run-grid .tile img")).to_have_count(6)
    expect(page.get_by_test_id("run-grid")).to_have_attribute("data-in-flight", "false")
    expect(page.get_by_test_id("run-counters")).to_contain_text("6 of 6 jobs finished")
    expect(cells.first.get_by_test_id("cell-cost")).to_contain_text("credits")
    assert page.evaluate("window.__noReload") is True  # filled without a reload

    assert simulator.request_count("POST /v1/images/generations") == 6
    assert MatrixRun.objects.count() == 1
    models = sorted(Generation.objects.values_list("model", "quality"))
    assert models == sorted(
        (m, q) for m in ("gpt-image-1", "gpt-image-2") for q in ("low", "medium", "high")
    )
