"""The API tokens page in Chromium: a member makes a token from the header's link, sees
its value once in a read-only field and copies it; the team's admin sees it in the list
(never its value) and revokes it. SCREENSHOTS=dir keeps pictures of the pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import openai
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.apitokens.models import ApiToken
from playground.teams.models import Membership, Role, Team
from tests.browser import (  # noqa: F401 - fixture
    browser_type_launch_args,
    watch_csp,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"


def person(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()
    return page


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_member_makes_and_copies_a_token_an_admin_revokes_it(
    browser: Browser, live_server: Any
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username, role in (("alice", Role.MEMBER), ("ada", Role.ADMIN)):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)

    alice = person(browser, live_server.url, "alice")
    alice.get_by_role("link", name="API tokens").click()
    expect(alice.get_by_test_id("no-tokens")).to_be_visible()
    alice.get_by_label("Name").fill("batch renamer")
    alice.get_by_label("Expires after (days)").fill("30")
    alice.get_by_role("button", name="Make the token").click()
    field = alice.get_by_test_id("token-value")
    expect(field).to_have_attribute("readonly", "")
    value = field.input_value()
    assert value.startswith("pgk_")
    alice.get_by_role("button", name="Copy", exact=True).click()
    expect(alice.get_by_text("Token copied")).to_be_visible()
    assert alice.evaluate("navigator.clipboard.readText()") == value
    shoot(alice, "api-tokens-new")
    alice.goto("/t/north/tokens/")
    expect(alice.get_by_test_id("api-token")).to_have_count(1)
    assert value not in alice.content()

    ada = person(browser, live_server.url, "ada")
    ada.goto("/t/north/tokens/")
    row = ada.get_by_test_id("api-token")
    expect(row).to_contain_text("batch renamer")
    expect(row).to_contain_text("alice")
    assert value not in ada.content()
    shoot(ada, "api-tokens-admin")
    row.get_by_role("button", name="Revoke batch renamer").click()
    expect(ada.get_by_test_id("api-token")).to_contain_text("Revoked")
    assert ApiToken.objects.get().revoked_at is not None


def test_a_job_made_through_the_api_appears_live_in_a_colleagues_history(
    browser: Browser, live_server: Any
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username in ("alice", "bob"):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    _token, value = ApiToken.issue(
        Membership.objects.get(user__username="alice"), name="batch renamer"
    )
    bob = person(browser, live_server.url, "bob")
    bob.goto("/t/north/")
    expect(bob.get_by_test_id("via-api")).to_have_count(0)
    # Answered at once (?wait=0): the job is queued, and bob's open history shows it at
    # its next live check, as any colleague's job.
    client = openai.OpenAI(api_key=value, base_url=f"{live_server.url}/v1", max_retries=0)
    client.images.generate(
        model="gpt-image-2", prompt="a fox made by a script", extra_query={"wait": 0}
    )
    via = bob.get_by_test_id("via-api")
    expect(via).to_have_text("via API · batch renamer", timeout=15_000)
    expect(bob.get_by_test_id("made-by").first).to_have_text("by alice")
    shoot(bob, "api-job-in-history")
