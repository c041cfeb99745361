"""The members table in headless Chromium: a row's role select, cap field and Change
button are one height (they sat at three)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser

from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rows_controls_are_one_height(browser: Browser, live_server) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    ada = User.objects.create_user("ada", password=PASSWORD)
    membership = Membership.objects.create(user=ada, team=team, role=Role.ADMIN)
    page = person(browser, live_server.url, "ada")
    try:
        page.goto("/t/north/members/")
        row = page.locator(f"#member-{membership.pk}")
        heights = {
            round(box["height"])
            for control in ("select", "input[type=number]", "button[type=submit]")
            if (box := row.locator(control).first.bounding_box()) is not None
        }
        assert len(heights) == 1, heights
    finally:
        page.context.close()
