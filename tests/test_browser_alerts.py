"""Spend alerts end to end in headless Chromium, with a real worker cluster, the
simulator and a real webhook receiver on loopback: an admin sets the budget and the
webhook on the team page, a member generates past 80 %, the receiver gets one signed
message, and the admin sees the alert and its deliveries on the team page, and the
alert in the audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.alerts.models import Delivery, DeliveryState, SpendAlert
from playground.audit.models import Action, AuditEntry
from playground.evolink.simulator import Simulator
from playground.generations.models import State
from playground.teams.models import Membership, Role, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    wait_for_htmx,
    watch_csp,
)
from tests.factories import make_generation
from tests.processes import kill, start_cluster
from tests.queue import wait_for
from tests.test_browser_a11y import serious_violations
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


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


def person(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    return page


def test_an_admin_is_alerted_when_a_member_generates_past_80_percent(
    browser: Browser, live_server: Any, cluster: None, receiver: Receiver
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username, role in (("ada", Role.ADMIN), ("alice", Role.MEMBER)):
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)
    # 7.9 credits spent earlier this month (a job that sent no signal: made here).
    make_generation(
        User.objects.get(username="alice"), state=State.COMPLETED, credits_charged=Decimal("7.9")
    )

    ada = person(browser, live_server.url, "ada")
    ada.goto("/t/north/members/")
    ada.get_by_label("Credits per month").fill("10")
    ada.get_by_role("button", name="Save").first.click()
    expect(ada.get_by_text("The monthly budget was saved.")).to_be_visible()
    card = ada.get_by_test_id("spend-alerts")
    expect(card.get_by_label("Alert at (percent of the budget or a cap)")).to_have_value(
        "50, 80, 100"
    )
    # A bad threshold is said plainly and loses nothing typed.
    card.get_by_label("Alert at (percent of the budget or a cap)").fill("80, lots")
    card.get_by_label("Webhook URL (Slack-compatible; empty: e-mail only)").fill(receiver.url)
    card.get_by_role("button", name="Save the alerts").click()
    card = ada.get_by_test_id("spend-alerts")
    expect(card.get_by_role("alert")).to_contain_text("Thresholds are whole percentages")
    expect(card.get_by_label("Webhook URL (Slack-compatible; empty: e-mail only)")).to_have_value(
        receiver.url
    )
    shot(ada, "alerts-error")
    card.get_by_label("Alert at (percent of the budget or a cap)").fill("80, 100")
    card.get_by_role("button", name="Save the alerts").click()
    secret = ada.get_by_test_id("webhook-secret").input_value()
    assert secret.startswith("whsec_")
    shot(ada, "alerts-secret")

    alice = person(browser, live_server.url, "alice")
    alice.get_by_label("Prompt").fill("a lighthouse past the budget line")
    alice.get_by_label("Quality").select_option("low")
    alice.get_by_role("button", name="Generate").click()
    wait_for_htmx(alice)

    # The worker posts one signed message to the receiver.
    (hook,) = receiver.wait_for(1, timeout=30)
    expected = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Playground-Signature"] == expected
    text = json.loads(hook.body)["text"]
    assert text.startswith("Team Studio North has used 80% of its monthly budget: ")
    wait_for(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 2, timeout=30
    )
    assert SpendAlert.objects.get().threshold == 80
    assert AuditEntry.objects.filter(action=Action.SPEND_ALERT, target=text).exists()

    ada.goto("/t/north/members/#spend-alerts")
    history = ada.get_by_test_id("alert-history")
    expect(history).to_contain_text(text)
    expect(history.get_by_test_id("delivery")).to_have_count(2)
    expect(history).not_to_contain_text("Waiting to be sent")
    shot(ada, "alerts-team-page")
    assert serious_violations(ada) == []
    ada.set_viewport_size({"width": 390, "height": 844})
    ada.goto("/t/north/alerts/")
    expect(ada.get_by_test_id("alert-history")).to_contain_text(text)
    shot(ada, "alerts-phone")
    ada.set_viewport_size({"width": 1280, "height": 900})

    # The audit log has it too, by the system.
    ada.goto("/t/north/audit/")
    row = ada.locator("tr", has_text=text)
    expect(row).to_contain_text("Spend alert")
    expect(row).to_contain_text("the system")
    shot(ada, "alerts-audit")
    assert len(receiver.requests) == 1  # once, however many checks ran
