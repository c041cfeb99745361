"""A queued job says its place in the fair queue, live, and "Cancel my waiting jobs"
empties the person's own waiting jobs after a confirmation, in headless Chromium."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect

from playground.generations.models import Generation, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import make_generation
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_queued_job_shows_its_place_and_cancel_my_waiting_jobs_empties_them(
    browser: Browser, live_server, tmp_path: Path
) -> None:
    # Each member may have 3 jobs in flight: mo's fourth cell waits for the limit.
    team = Team.objects.create(name="Studio North", slug="north", member_jobs_in_flight_limit=3)
    lea, mo = (User.objects.create_user(name, password=PASSWORD) for name in ("lea", "mo"))
    for user in (lea, mo):
        Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    start = timezone.now() - timedelta(minutes=5)
    # mo's matrix run of 4 cells went in first; lea pressed Generate twice after it.
    mos = [
        make_generation(mo, team=team, prompt=f"mo's cell {i}", created_at=start) for i in range(4)
    ]
    leas = [
        make_generation(
            lea, team=team, prompt=f"lea's idea {i}", created_at=start + timedelta(seconds=9)
        )
        for i in range(2)
    ]
    page = person(browser, live_server.url, "lea")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Round-robin: mo 0, lea 0, mo 1, lea 1 — lea's first job is second, not fifth.
    first, second = (page.locator(f"#generation-{job.pk}") for job in leas)
    expect(first.get_by_test_id("queue-place")).to_have_text("Queued: 1 ahead of you")
    expect(second.get_by_test_id("queue-place")).to_have_text("Queued: 3 ahead of you")
    expect(page.locator(f"#generation-{mos[2].pk}").get_by_test_id("queue-place")).to_have_text(
        "Queued: 4 jobs ahead"
    )
    expect(page.locator(f"#generation-{mos[3].pk}").get_by_test_id("queue-place")).to_have_text(
        "Waiting: its maker is at the team's limit"
    )
    page.screenshot(path=tmp_path / "queued-history.png", full_page=True)
    # The grid's tiles say it too (a queued tile has no image: its details show).
    page.get_by_role("button", name="Grid").click()
    expect(first.get_by_test_id("queue-place")).to_be_visible()
    page.screenshot(path=tmp_path / "queued-grid.png", full_page=True)

    # The first round is sent (mo's first cell, lea's first job): the history's refresh
    # moves lea's second job up by itself.
    for job in (mos[0], leas[0]):
        Generation.objects.transition(job.pk, State.QUEUED, state=State.SUBMITTING)
    expect(second.get_by_test_id("queue-place")).to_have_text("Queued: 1 ahead of you")
    expect(first.get_by_test_id("queue-place")).to_have_count(0)

    # Cancel my waiting jobs: asks first, with the count, then empties them.
    page.get_by_test_id("cancel-waiting").click()
    expect(page.get_by_role("heading")).to_have_text("Cancel your 1 waiting job?")
    page.get_by_test_id("confirm-cancel").click()
    expect(page).to_have_url(re.compile(r"/t/north/$"))
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text(
        "1 waiting job was cancelled"
    )
    expect(second).to_have_attribute("data-state", "cancelled")
    expect(second.get_by_test_id("queue-place")).to_have_count(0)
    expect(first).to_have_attribute("data-state", "submitting")  # on its way: it runs on
    expect(page.get_by_test_id("cancel-waiting")).to_have_count(0)
    # mo's jobs are mo's: still waiting.
    assert Generation.objects.filter(owner=mo, state=State.QUEUED).count() == 3
