"""Issue 25's walk in headless Chromium, with every real component on loopback: the
OpenID provider (npm's oidc-provider), the EvoLink simulator and a worker cluster, a
webhook receiver. An admin signs in through the provider (their group makes them the
team's admin), sets a budget and a webhook, a member generates past 80 %, the receiver
gets the alert, and the admin sees it in the team's audit log beside their sign-in and
the membership their group gave."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.factories import make_generation
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, PASSWORD, OpenIDProvider, running_provider
from tests.processes import kill, start_cluster
from tests.test_browser_a11y import serious_violations
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MEMBER_PASSWORD = "s3cret-pass-word"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


@pytest.fixture
def provider(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[OpenIDProvider]:
    with running_provider(tmp_path, [f"{live_server.url}/sso/callback/"]) as started:
        settings.OIDC_ISSUER = started.issuer
        settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_PROVIDER_NAME = "Example ID"
        settings.OIDC_ALLOWED_DOMAINS = ["example.com"]
        settings.OIDC_GROUP_TEAMS = "studio-leads=north:admin"
        yield started


@pytest.fixture
def cluster(
    simulator: Simulator, settings: Any, live_server: Any, receiver: Receiver
) -> Iterator[None]:
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.task_seconds = 0.5
    # The worker sends the deliveries: it may reach the receiver on loopback too.
    process = start_cluster(
        simulator, PUBLIC_BASE_URL=live_server.url, ALERTS_WEBHOOK_ALLOW_PRIVATE="1"
    )
    yield
    kill(process)


def test_an_admin_signed_in_through_the_provider_sees_the_spend_alert_in_the_audit_log(
    browser: Browser,
    live_server: Any,
    provider: OpenIDProvider,
    cluster: None,
    receiver: Receiver,
) -> None:
    Team.objects.create(name="Studio North", slug="north")
    alice = User.objects.create_user("alice", "alice@example.com", MEMBER_PASSWORD)
    Membership.objects.create(user=alice, team=Team.objects.get(slug="north"), role=Role.MEMBER)
    # 7.9 credits spent earlier this month.
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("7.9"))
    provider.person("ada", email="ada@example.com", email_verified=True, groups=["studio-leads"])

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    watch_csp(context)
    ada = context.new_page()
    ada.goto("/login/")
    ada.get_by_role("link", name="Sign in with Example ID").click()
    ada.get_by_label("Login").fill("ada")
    ada.get_by_label("Password").fill(PASSWORD)
    ada.get_by_role("button", name="Sign in").click()
    expect(ada).to_have_url(f"{live_server.url}/t/north/")

    ada.goto("/t/north/members/")
    ada.get_by_label("Credits per month").fill("10")
    ada.get_by_role("button", name="Save").first.click()
    expect(ada.get_by_text("The monthly budget was saved.")).to_be_visible()
    card = ada.get_by_test_id("spend-alerts")
    card.get_by_label("Alert at (percent of the budget or a cap)").fill("80, 100")
    card.get_by_label("Webhook URL (Slack-compatible; empty: e-mail only)").fill(receiver.url)
    card.get_by_role("button", name="Save the alerts").click()
    expect(ada.get_by_test_id("webhook-secret")).to_be_visible()

    member_context = browser.new_context(base_url=live_server.url)
    watch_csp(member_context)
    member = member_context.new_page()
    member.goto("/login/")
    member.get_by_label("Username").fill("alice")
    member.get_by_label("Password").fill(MEMBER_PASSWORD)
    member.get_by_role("button", name="Log in").click()
    member.get_by_label("Prompt").fill("a lighthouse past the budget line")
    member.get_by_label("Quality").select_option("low")
    member.get_by_role("button", name="Generate").click()
    wait_for_htmx(member)

    (hook,) = receiver.wait_for(1, timeout=30)
    assert b"has used 80% of its monthly budget" in hook.body

    ada.goto("/t/north/audit/")
    log = ada.get_by_test_id("audit-log")
    expect(log.locator('[data-action="spend_alert"]')).to_contain_text("80%")
    expect(log.locator('[data-action="signed_in"]').filter(has_text="ada")).not_to_have_count(0)
    expect(log.locator('[data-action="member_added"]')).to_contain_text("group mapping")
    expect(log.locator('[data-action="budget_changed"]').first).to_contain_text("ada")
    shot(ada, "issue25-audit-log")
    assert serious_violations(ada) == []
