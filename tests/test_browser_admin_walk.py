"""Issue 25's administrator walk in headless Chromium, every component real and on
loopback: npm's oidc-provider (tests/oidc_provider.py), the EvoLink simulator behind
the live server with a worker cluster, and an HTTP receiver for the webhook.

Ada has no account yet: she signs in through the provider, and her group makes her the
team's admin. She sets a monthly budget that two of the member's jobs fill to about
45 % and 90 %, and a webhook. Alice (a password account, in a second browser) makes
those two jobs on the studio page; nothing is sent after the first, one alert after the
second (80 %; 50 % crossed at the same time is recorded, not sent). The receiver got
it signed with the secret the page showed Ada once; Ada finds it in the audit log by
filtering on the action (and in that filter's CSV), then filters on herself (her
sign-in and budget changes) and clears the filters (the membership her group gave),
and sees both deliveries on the team page. Each step is photographed when SCREENSHOTS
names a folder.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Iterator
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground import catalogue, pricing
from playground.alerts.models import Channel, Delivery, DeliveryState, SpendAlert
from playground.evolink.simulator import Simulator
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, PASSWORD, OpenIDProvider, running_provider
from tests.processes import kill, start_cluster
from tests.queue import wait_for
from tests.test_browser_a11y import serious_violations
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MEMBER_PASSWORD = "s3cret-pass-word"
PROMPT = "a lighthouse past the budget line"
THRESHOLDS_LABEL = "Alert at (percent of the budget or a cap)"
WEBHOOK_LABEL = "Webhook URL (Slack-compatible; empty: e-mail only)"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/admin-walk-{name}.png", full_page=True)


def budget_for_two_jobs() -> Decimal:
    """A budget that one low-quality job of the default model fills to ≈ 45 % and two
    to ≈ 90 %: the second job crosses 50 % and 80 % at once, and stays under 100 %
    (and under the budget check that would refuse it)."""
    spec = catalogue.MODELS[catalogue.DEFAULT_MODEL]
    job = pricing.estimate(spec, quality="low", size=spec.default_size, prompt=PROMPT)
    budget = (job.total_credits * 2 / Decimal("0.9")).quantize(Decimal("0.01"), ROUND_UP)
    assert job.total_credits * 100 < budget * 50 <= 2 * job.total_credits * 100
    assert 2 * job.total_credits * 100 < budget * 100
    return budget


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
    # The workers send the deliveries: they may reach the receiver on loopback too.
    process = start_cluster(
        simulator, PUBLIC_BASE_URL=live_server.url, ALERTS_WEBHOOK_ALLOW_PRIVATE="1"
    )
    yield
    kill(process)


def new_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    watch_csp(context)
    return context.new_page()


def admin_signs_in_through_the_provider(page: Page, base_url: str) -> None:
    page.goto("/login/")
    shot(page, "1-login")
    page.get_by_role("link", name="Sign in with Example ID").click()
    expect(page.get_by_role("heading", name="Test provider")).to_be_visible()
    page.get_by_label("Login").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "2-provider")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/t/north/")
    expect(page.get_by_test_id("current-team")).to_be_visible()
    shot(page, "3-signed-in")


def admin_sets_budget_and_webhook(page: Page, budget: Decimal, url: str) -> str:
    """The budget and the webhook on the team page; the signing secret it shows once."""
    page.goto("/t/north/members/")
    page.get_by_label("Credits per month").fill(str(budget))
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("The monthly budget was saved.")).to_be_visible()
    card = page.get_by_test_id("spend-alerts")
    expect(card.get_by_label(THRESHOLDS_LABEL)).to_have_value("50, 80, 100")  # the defaults
    card.get_by_label(WEBHOOK_LABEL).fill(url)
    card.get_by_role("button", name="Save the alerts").click()
    secret = page.get_by_test_id("webhook-secret").input_value()
    assert secret.startswith("whsec_")
    shot(page, "4-budget-and-webhook")
    return secret


def member_generates(page: Page, count: int) -> None:
    """One low-quality job on the studio page, watched until the `count`-th is done."""
    page.get_by_label("Prompt").fill(PROMPT)
    page.get_by_label("Quality").select_option("low")
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    items = page.locator(".history-item")
    expect(items).to_have_count(count)
    expect(items.first.locator(".badge")).to_have_text("Completed", timeout=30_000)


def test_an_admin_signed_in_through_the_provider_is_alerted_past_80_percent(
    browser: Browser,
    live_server: Any,
    provider: OpenIDProvider,
    cluster: None,
    receiver: Receiver,
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    alice = User.objects.create_user("alice", "alice@example.com", MEMBER_PASSWORD)
    Membership.objects.create(user=alice, team=team, role=Role.MEMBER)
    provider.person(
        "ada", email="ada@example.com", email_verified=True, name="Ada L", groups=["studio-leads"]
    )
    budget = budget_for_two_jobs()

    ada = new_page(browser, live_server.url)
    admin_signs_in_through_the_provider(ada, live_server.url)
    assert Membership.objects.get(team=team, user__email="ada@example.com").role == Role.ADMIN
    secret = admin_sets_budget_and_webhook(ada, budget, receiver.url)

    member = new_page(browser, live_server.url)
    member.goto("/login/")
    member.get_by_label("Username").fill("alice")
    member.get_by_label("Password").fill(MEMBER_PASSWORD)
    member.get_by_role("button", name="Log in").click()
    member_generates(member, 1)  # ≈ 45 %: no threshold reached
    shot(member, "5-member-first-job")
    member_generates(member, 2)  # ≈ 90 %: past 50 % and 80 %
    shot(member, "6-member-second-job")

    # The receiver got the 80 % alert, signed with the secret Ada was shown.
    (hook,) = receiver.wait_for(1, timeout=30)
    expected = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["X-Playground-Signature"], expected)
    assert hook.headers["Content-Type"] == "application/json"
    message = json.loads(hook.body)
    assert message["text"].startswith("Team Studio North has used 80% of its monthly budget: ")
    assert message["playground"]["threshold"] == 80
    assert message["playground"]["limit"] == str(budget.quantize(Decimal("0.00001")))
    # Both ways out delivered: the webhook, and the e-mail to the admin the provider made.
    wait_for(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 2, timeout=30
    )
    assert Delivery.objects.get(channel=Channel.EMAIL).target == "ada@example.com"
    # The delivery's id, the same on every attempt: what a receiver drops repeats by.
    webhook = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert hook.headers["X-Playground-Delivery"] == str(webhook.pk)
    assert webhook.target == receiver.url and webhook.attempts == 1

    # The audit log, filtered on the action: the two crossings, by the system; only
    # the 80 % one was sent.
    ada.goto("/t/north/audit/")
    ada.get_by_test_id("audit-filters").get_by_label("Action").select_option(label="Spend alert")
    ada.get_by_role("button", name="Filter").click()
    expect(ada).to_have_url(re.compile(r"/t/north/audit/\?.*action=spend_alert"))
    log = ada.get_by_test_id("audit-log")
    entries = log.get_by_test_id("audit-entry")
    expect(entries).to_have_count(2)
    expect(log.locator("[data-action='spend_alert']")).to_have_count(2)
    sent = entries.filter(has_text="has used 80% of its monthly budget")
    expect(sent).to_contain_text("the system")
    expect(sent).to_contain_text("email, webhook")
    expect(entries.filter(has_text="has used 50% of its monthly budget")).to_be_visible()
    expect(ada.get_by_test_id("audit-count")).to_have_text("2 entries")
    shot(ada, "7-audit-spend-alerts")
    assert serious_violations(ada) == []
    # The CSV download carries the same filter.
    with ada.expect_download() as info:
        ada.get_by_test_id("audit-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8"))))
    assert [(row["action"], row["person"]) for row in rows] == [("spend_alert", "")] * 2
    assert any(json.loads(row["changes"])["threshold"] == [None, 80] for row in rows)

    # The same log, on Ada's own actions: her sign-in and her budget.
    ada.get_by_test_id("audit-filters").get_by_label("Action").select_option(label="Any action")
    ada.get_by_label("Person").fill("ada")
    ada.get_by_role("button", name="Filter").click()
    mine = ada.get_by_test_id("audit-entry")
    expect(mine.and_(ada.locator("[data-action='signed_in']"))).to_have_count(1)
    expect(mine.and_(ada.locator("[data-action='budget_changed']")).first).to_be_visible()
    expect(ada.locator("[data-action='spend_alert']")).to_have_count(0)
    shot(ada, "8-audit-ada")

    # Cleared: everyone's entries, among them the membership Ada's group gave her and
    # Alice's password sign-in.
    ada.get_by_role("link", name="Clear").click()
    expect(ada).to_have_url(re.compile(r"/t/north/audit/\?$"))
    entries = ada.get_by_test_id("audit-entry")
    expect(entries.filter(has_text="group mapping")).to_have_count(1)
    expect(entries.and_(ada.locator("[data-action='signed_in']"))).to_have_count(2)
    shot(ada, "8b-audit-everyone")

    # The team page's history: the alert and its two deliveries, delivered.
    ada.goto("/t/north/members/#spend-alerts")
    history = ada.get_by_test_id("alert-history")
    expect(history.get_by_test_id("alert")).to_have_count(2)
    expect(history.get_by_test_id("delivery")).to_have_count(2)
    expect(history).not_to_contain_text("Waiting to be sent")
    shot(ada, "9-team-alert-history")

    assert sorted(SpendAlert.objects.values_list("threshold", flat=True)) == [50, 80]
    assert len(receiver.requests) == 1  # one message, however many checks ran
