"""Invitations by username in headless Chromium (issue 19, finding 4): an admin invites
a person who has an account; that person sees it when they sign in, with the header's
count, and joins only by accepting. Also the pages issue 19 changed (a private run,
the team page's invitation form, an old link), photographed when SCREENSHOTS names a
folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.matrix.models import MatrixCell, MatrixRun
from playground.teams.models import Invitation, Membership, Role, Team
from tests.browser import browser_type_launch_args, watch_csp  # noqa: F401 - fixture
from tests.factories import make_generation
from tests.test_browser_a11y import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass-word"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def person(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    watch_csp(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


@pytest.fixture
def teams(db: None) -> dict[str, User]:
    a = Team.objects.create(name="Studio North", slug="north")
    b = Team.objects.create(name="Studio South", slug="south")
    ada = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    charlie = User.objects.create_user("charlie", "charlie@example.com", PASSWORD)
    Membership.objects.create(user=ada, team=a, role=Role.ADMIN)
    Membership.objects.create(user=charlie, team=b, role=Role.MEMBER)
    return {"ada": ada, "charlie": charlie}


def test_an_invited_person_sees_the_invitation_on_signing_in_and_joins_by_accepting(
    browser: Browser,
    live_server,
    teams: dict[str, User],  # type: ignore[no-untyped-def]
) -> None:
    ada = person(browser, live_server.url, "ada")
    expect(ada.get_by_test_id("current-team")).to_have_text("Studio North")
    ada.goto("/t/north/members/")
    ada.get_by_label("Username").fill("charlie")
    ada.get_by_role("button", name="Send the invitation").click()
    expect(ada.get_by_role("status").first).to_contain_text("Invitation sent to “charlie”")
    shot(ada, "team-page-invited")

    charlie = person(browser, live_server.url, "charlie")
    expect(charlie).to_have_url(f"{live_server.url}/invitations/")
    expect(charlie.get_by_test_id("invitations-link")).to_contain_text("1")
    expect(charlie.get_by_test_id("pending-invitation")).to_contain_text("Studio North")
    shot(charlie, "my-invitations")
    assert serious_violations(charlie) == []
    # Not in the team until accepted.
    assert not Membership.objects.filter(user=teams["charlie"], team__slug="north").exists()
    charlie.get_by_test_id("accept").click()
    expect(charlie).to_have_url(f"{live_server.url}/t/north/")
    expect(charlie.get_by_test_id("current-team")).to_have_text("Studio North")
    expect(charlie.get_by_test_id("invitations-link")).to_have_count(0)


def test_pages_of_the_audit_fixes(
    browser: Browser,
    live_server,
    teams: dict[str, User],  # type: ignore[no-untyped-def]
) -> None:
    """The private run's page and the recent runs, an old invitation link."""
    team = Team.objects.get(slug="north")
    job = make_generation(teams["ada"], prompt="a secret fox plan", private=True)
    run = MatrixRun.objects.create(
        team=team,
        created_by=teams["ada"],
        text="a secret fox plan",
        private=True,
        choices={"private": True},
        axes={"rows": ["GPT Image 2"], "columns": ["Low"], "column_heading": "Quality"},
        client_token=uuid.uuid4(),
    )
    MatrixCell.objects.create(
        run=run, generation=job, row=0, column=0, row_label="GPT Image 2", column_label="Low"
    )
    ada = person(browser, live_server.url, "ada")
    ada.goto(f"/t/north/runs/{run.public_id}/")
    expect(ada.get_by_test_id("run-private")).to_be_visible()
    shot(ada, "private-run")
    ada.goto("/t/north/matrix/")
    expect(ada.locator("#recent-runs")).to_contain_text("Only me")
    shot(ada, "matrix-recent-runs")

    _invitation, token = Invitation.issue(team, Role.MEMBER, teams["ada"])
    Invitation.objects.update(revoked_at=team.created_at)
    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto(f"/invite/{token}/")
    expect(visitor.get_by_test_id("invitation")).to_contain_text("no longer valid")
    expect(visitor.get_by_test_id("invitation")).not_to_contain_text("Studio North")
    shot(visitor, "invitation-spent")
