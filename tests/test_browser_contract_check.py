"""The contract check in headless Chromium: a superuser presses "Check contract" on the
keys page, a real worker runs it against the simulator, and the table arrives on the
page by itself; then the paid variant, after its confirmation page. Each page is
photographed into test-results/contract-check (CONTRACT_SCREENSHOTS to change it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.billing.models import ApiKey, ContractCheck
from playground.evolink.simulator import Simulator
from playground.teams.models import Membership, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    watch_csp,
)
from tests.processes import kill, start_cluster
from tests.test_browser_a11y import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / os.environ.get("CONTRACT_SCREENSHOTS", "test-results/contract-check")
CREATE = "POST /v1/images/generations"


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL = simulator.base_url
    simulator.task_seconds = 1.0
    process = start_cluster(simulator)
    yield simulator
    kill(process)


def signed_in(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_a_superuser_checks_the_contract_and_sees_the_table(
    browser: Browser, live_server, cluster: Simulator
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    Membership.objects.create(user=root, team=team, role="admin")
    key = ApiKey(label="North account", team=team)
    key.set_secret(cluster.api_key)
    key.save()
    shared = ApiKey(label="Company account")  # no team: shared, its button is there too
    shared.set_secret("sk-evo-shared-0042")
    shared.save()

    page = signed_in(browser, live_server.url, "root")
    page.goto("/t/north/keys/")
    shoot(page, "keys-page")
    expect(
        page.locator(".shared-keys").get_by_role("button", name="Check contract")
    ).to_be_visible()
    page.locator(f"#key-{key.pk}").get_by_role("button", name="Check contract").click()

    # The worker's rows arrive while the page watches; it stops polling once done.
    expect(page.get_by_test_id("contract-outcome")).to_have_text("Passed", timeout=20_000)
    rows = page.get_by_test_id("contract-row")
    expect(rows.first).to_be_visible()
    assert rows.count() == len(ContractCheck.objects.get().rows) >= 10
    expect(page.locator('[data-field="data.user.remaining_credits"]')).to_contain_text(
        "as expected"
    )
    assert cluster.request_count(CREATE) == 0  # the free check made no job
    shoot(page, "free-check")

    # The paid check asks first, says what it costs, then makes exactly one job.
    page.goto("/t/north/keys/")
    page.locator(f"#key-{key.pk}").get_by_role("link", name="With a paid job…").click()
    expect(page.get_by_test_id("contract-cost")).to_contain_text("about 0.11383 credits")
    shoot(page, "paid-confirmation")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Run the paid check").click()
    expect(page.get_by_test_id("contract-outcome")).to_have_text("Passed", timeout=30_000)
    expect(page.get_by_test_id("contract-task")).to_have_text(
        ContractCheck.objects.latest("pk").task_id
    )
    expect(page.locator('[data-field="image"]')).to_contain_text("PNG 1776×592")
    assert cluster.request_count(CREATE) == 1
    shoot(page, "paid-check")

    # Drift: the same button names the difference.
    cluster.set_drift("missing-usage")
    page.goto("/t/north/keys/")
    page.locator(f"#key-{key.pk}").get_by_role("link", name="With a paid job…").click()
    page.get_by_role("button", name="Run the paid check").click()
    expect(page.get_by_test_id("contract-outcome")).to_have_text("2 differences", timeout=30_000)
    expect(page.locator('[data-field="usage.credits_used | usage.cost.credits"]')).to_contain_text(
        "missing"
    )
    shoot(page, "drift")
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls
    shoot(page, "drift-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/t/north/keys/")
    expect(page.get_by_test_id("contract-checks").locator("li")).to_have_count(3)
    shoot(page, "keys-page-after")
