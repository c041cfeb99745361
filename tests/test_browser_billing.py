"""Keys and spend in headless Chromium: a superuser adds a key in the admin and checks
it, a member generates with it, the usage page shows the job's cost, and a budget
below the next job's estimate refuses Generate. The simulator knows only that key,
and the environment has none, so the job can only be paid by the stored one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.billing.models import ApiKey
from playground.evolink.simulator import Simulator
from playground.generations.models import Generation
from playground.teams.models import Membership, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    wait_for_htmx,
    watch_csp,
)
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"
SECRET = "sk-evo-BROWSERSECRET-q7w8"


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, ""
    simulator.api_keys = frozenset({SECRET})
    simulator.task_seconds = 1.0
    process = start_cluster(simulator, EVOLINK_API_KEY="")
    yield simulator
    kill(process)
    simulator.api_keys = None


def person(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url)
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def test_a_stored_key_pays_the_usage_shows_it_and_a_budget_stops_the_next_job(
    browser: Browser, live_server, cluster: Simulator
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    alice = User.objects.create_user("alice", password=PASSWORD)
    Membership.objects.create(user=alice, team=team, role="member")

    # The superuser adds the key in the admin; afterwards only its last 4 show.
    root = person(browser, live_server.url, "root")
    root.goto("/admin/billing/apikey/add/")
    root.get_by_label("Label").fill("North account")
    root.get_by_label("Secret").fill(SECRET)
    root.get_by_label("Team").select_option(label="Studio North")
    root.get_by_role("button", name="Save", exact=True).click()
    expect(root.locator("#result_list")).to_contain_text("sk-evo-…q7w8")
    assert "BROWSERSECRET" not in root.content()
    key = ApiKey.objects.get()
    root.goto(f"/admin/billing/apikey/{key.pk}/change/")
    expect(root.get_by_text("Stored: sk-evo-…q7w8")).to_be_visible()
    assert "BROWSERSECRET" not in root.content()

    # Its balance, read by a worker.
    root.goto("/admin/billing/apikey/")
    root.locator("input[name=_selected_action]").first.check()
    root.locator("select[name=action]").select_option("check_balance")
    root.get_by_role("button", name="Go").click()
    expect(root.locator(".messagelist")).to_contain_text("Asked EvoLink")
    for _ in range(100):
        key.refresh_from_db()
        if key.checked_at:
            break
        root.wait_for_timeout(100)
    root.goto("/admin/billing/apikey/")
    expect(root.locator("#result_list td.field-credits_left")).to_have_text(re.compile(r"\d"))

    # A member generates; the stored key pays.
    member = person(browser, live_server.url, "alice")
    member.get_by_label("Prompt").fill("a lighthouse paid by the north account")
    member.get_by_label("Quality").select_option("low")
    member.get_by_role("button", name="Generate").click()
    wait_for_htmx(member)
    item = member.locator(".history-item").first
    expect(item.locator(".badge")).to_have_text("Completed", timeout=20_000)
    job = Generation.objects.get()
    assert job.api_key == key and job.credits_charged is not None
    cost = f"{job.credits_charged:,.2f}"

    # The usage page shows what it cost: to the superuser for the team, to alice for her.
    root.goto("/t/north/usage/")
    expect(root.get_by_test_id("team-total")).to_have_text(f"{cost} credits")
    expect(root.get_by_test_id("per-key")).to_contain_text("North account")
    member.goto("/t/north/usage/")
    expect(member.get_by_test_id("my-usage")).to_contain_text(f"{cost} credits this month")

    # A budget below the next job's estimate refuses Generate, on the page.
    team.monthly_budget_credits = job.credits_charged + 1
    team.save()
    member.goto("/t/north/")
    member.get_by_label("Prompt").fill("a second, bigger lighthouse")
    member.get_by_label("Quality").select_option("high")
    member.get_by_role("button", name="Generate").click()
    wait_for_htmx(member)
    expect(member.locator("#generation-form > .errorlist")).to_contain_text(
        re.compile(r"This job needs ≈ [\d.,]+ credits; the team has 1\.00 left this month")
    )
    expect(member.get_by_label("Prompt")).to_have_value("a second, bigger lighthouse")
    assert Generation.objects.count() == 1
    assert cluster.request_count("POST /v1/images/generations") == 1
