"""The audit log in headless Chromium: an admin changes the budget and a role, opens
the log from the team page, filters it, and downloads the filtered CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from playground.teams.models import Membership, Role, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    watch_csp,
)
from tests.test_browser_a11y import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"
# Where the pictures of this page go when asked for (AUDIT_SCREENSHOTS=dir).
SHOTS = os.environ.get("AUDIT_SCREENSHOTS", "")


def test_an_admin_sees_who_changed_what_filters_and_downloads_it(
    browser: Browser, live_server
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username, role in (("ada", Role.ADMIN), ("bob", Role.MEMBER)):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()

    page.goto("/t/north/members/")
    page.get_by_label("Credits per month").fill("120")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_label("Role of bob").select_option("viewer")
    page.locator("#member-" + str(Membership.objects.get(user__username="bob").pk)).get_by_role(
        "button", name="Change"
    ).click()
    expect(page.get_by_text("bob is now Viewer.")).to_be_visible()

    page.get_by_test_id("audit-link").click()
    log = page.get_by_test_id("audit-log")
    expect(log.locator("[data-action=budget_changed]")).to_contain_text("120")
    expect(log.locator("[data-action=role_changed]")).to_contain_text("member")
    expect(log.locator("[data-action=role_changed]")).to_contain_text("viewer")
    expect(log.locator("[data-action=signed_in]")).to_contain_text("ada")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "audit.png"), full_page=True)
    assert serious_violations(page) == []  # axe-core, as on the other pages

    page.get_by_label("Action").select_option("role_changed")
    page.get_by_role("button", name="Filter").click()
    expect(log.get_by_test_id("audit-entry")).to_have_count(1)
    expect(page).to_have_url(
        f"{live_server.url}/t/north/audit/?person=&action=role_changed&since=&until="
    )

    with page.expect_download() as download:
        page.get_by_test_id("audit-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row[3] for row in rows[1:]] == ["role_changed"]
    assert rows[1][5] == '{"role": ["member", "viewer"]}'

    # A bad date range says so beside the filters and keeps what was typed.
    page.get_by_label("From").fill("2026-05-10")
    page.get_by_label("To").fill("2026-05-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("audit-filter-errors")).to_contain_text("“To” is before “From”")
    expect(page.get_by_label("From")).to_have_value("2026-05-10")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "audit-error.png"), full_page=True)
    assert serious_violations(page) == []
    # On a phone the table scrolls sideways inside its region; the page itself does not.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "audit-phone.png"), full_page=True)
    assert serious_violations(page) == []
    context.close()


def test_a_superuser_sees_every_team_and_narrows_to_one(browser: Browser, live_server) -> None:
    from playground.audit.log import record
    from playground.audit.models import Action

    north = Team.objects.create(name="Studio North", slug="north")
    south = Team.objects.create(name="Studio South", slug="south")
    User.objects.create_superuser("root", password=PASSWORD)
    record(Action.KEY_ADDED, team=north, actor=None, actor_name="ada", target="Main key")
    record(Action.COLLECTION_DELETED, team=south, actor=None, actor_name="sam", target="Moodboard")
    record(Action.SIGN_IN_FAILED, team=None, actor=None, actor_name="mallory")
    context = browser.new_context(base_url=live_server.url)
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/audit/")
    log = page.get_by_test_id("audit-log")
    expect(log.locator("[data-action=key_added]")).to_contain_text("Studio North")
    expect(log.locator("[data-action=collection_deleted]")).to_contain_text("Studio South")
    expect(log.locator("[data-action=sign_in_failed]")).to_contain_text("mallory")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "audit-all.png"), full_page=True)
    page.get_by_label("Team").select_option("south")
    page.get_by_role("button", name="Filter").click()
    expect(log.get_by_test_id("audit-entry")).to_have_count(1)
    expect(log).to_contain_text("Moodboard")
    context.close()
