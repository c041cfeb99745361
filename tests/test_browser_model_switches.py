"""Model switches and key states in headless Chromium: a team admin switches a model
off on the keys page and the studio stops offering it; the keys page shows a key
resting until midnight and a key refused a model; the job page shows a withdrawn
model's failure and, to admins, EvoLink's request ids."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from playground.billing.models import ApiKey
from playground.generations.models import Generation, State
from playground.teams import availability
from playground.teams.models import Membership, ModelNotice, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    watch_csp,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"
SHOTS = os.environ.get("PLAYGROUND_SHOTS", "")


def person(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def key(label: str, team: Team, **fields) -> ApiKey:  # type: ignore[no-untyped-def]
    row = ApiKey(label=label, team=team, **fields)
    row.set_secret(f"sk-evo-{label.lower()}-000{len(label)}")
    row.save()
    return row


def test_an_admin_switches_a_model_off_and_sees_key_states_and_request_ids(
    browser: Browser, live_server
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    Membership.objects.create(user=root, team=team, role="admin")
    key("Main", team, priority=1, denied_models=["gpt-image-1"], last_error="Refused.")
    key(
        "Backup",
        team,
        priority=2,
        paused_until=timezone.now() + timedelta(hours=3),
        last_error="This API key has used up its daily quota.",
        last_error_at=timezone.now(),
    )
    job = Generation.objects.create(
        team=team,
        owner=root,
        model="gpt-image-1",
        prompt="a lighthouse at dusk",
        size="1024x1024",
        quality="low",
        n=1,
        state=State.FAILED,
        error_code="model_not_found",
        error_message=availability.gone_message("gpt-image-1"),
        upstream_request_ids=[
            {"call": "create", "id": "req_4f9a2b7c0d1e", "status": 400, "at": "2026-12-03"}
        ],
        finished_at=timezone.now(),
    )

    page = person(browser, live_server.url, "root")
    page.goto("/t/north/keys/")
    expect(page.get_by_test_id("key-paused")).to_contain_text("Resting until")
    expect(page.get_by_test_id("denied-models")).to_contain_text("GPT Image 1")
    models = page.get_by_test_id("models")
    shot(page, "keys-models")
    models.locator('tr[data-model="gpt-image-1.5"]').get_by_role(
        "button", name="Switch off", exact=True
    ).click()
    page.wait_for_load_state()
    expect(page.locator('tr[data-model="gpt-image-1.5"] .badge').first).to_have_text("Off")

    ModelNotice.objects.create(team=team, model="gpt-image-1")
    page.goto("/t/north/?model=gpt-image-1")
    expect(page.get_by_test_id("withdrawn")).to_contain_text("EvoLink took this model offline")
    expect(page.get_by_text("EvoLink refused GPT Image 1 as no longer offered")).to_be_visible()
    shot(page, "studio-withdrawn")

    page.goto("/t/north/")
    picker = page.locator(".model-picker")
    expect(picker.locator('[data-model="gpt-image-2"]')).to_be_visible()
    expect(picker.locator('[data-model="gpt-image-1.5"]')).to_have_count(0)

    page.goto(f"/generations/{job.public_id}/")
    expect(page.get_by_text("EvoLink does not offer GPT Image 1 any more")).to_be_visible()
    expect(page.get_by_test_id("request-ids")).to_contain_text("req_4f9a2b7c0d1e")
    shot(page, "job-model-gone")
