"""No usable key, in headless Chromium: Generate is disabled before anyone presses it.

A member reads whom to ask, and neither the button nor Ctrl+Enter sends anything; the
admin reads "Add a key", follows it to the keys page, adds one, and the member's
Generate works. Screenshots of both at a desktop's and a phone's width go to
test-results/paying/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from playground.generations.models import Generation
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.test_browser_a11y import serious_violations
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "test-results" / "paying"


@pytest.fixture
def nothing_pays(settings: Any) -> None:
    settings.EVOLINK_API_KEY = ""
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"


def test_generate_is_disabled_with_no_usable_key_and_an_admin_is_shown_the_fix(
    browser: Browser, live_server: Any, nothing_pays: None
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username, role in (("ana", Role.ADMIN), ("mo", Role.MEMBER)):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)
    SHOTS.mkdir(parents=True, exist_ok=True)

    member = person(browser, live_server.url, "mo")
    member.goto("/t/north/")
    generate = member.get_by_role("button", name="Generate", exact=True)
    expect(generate).to_be_disabled()
    notice = member.get_by_test_id("payer-gap")
    expect(notice).to_contain_text("No key can pay for this team: ask an admin.")
    expect(generate).to_have_accessible_description(
        "No key can pay for this team: ask an admin. This team has no EvoLink key, and the "
        "server has none to fall back on."
    )
    expect(notice.get_by_role("link")).to_have_count(0)
    assert serious_violations(member) == []
    member.get_by_label("Prompt").fill("a lighthouse at dusk")
    member.get_by_label("Prompt").press("Control+Enter")  # the shortcut is off too
    for width, height in ((1280, 900), (390, 844)):
        member.set_viewport_size({"width": width, "height": height})
        member.screenshot(path=SHOTS / f"member-{width}.png", full_page=True)
    assert Generation.objects.count() == 0

    admin = person(browser, live_server.url, "ana")
    admin.goto("/t/north/")
    expect(admin.get_by_role("button", name="Generate", exact=True)).to_be_disabled()
    notice = admin.get_by_test_id("payer-gap")
    expect(notice).to_contain_text("No key can pay for this team.")
    expect(notice).not_to_contain_text("ask an admin")
    assert serious_violations(admin) == []
    for width, height in ((1280, 900), (390, 844)):
        admin.set_viewport_size({"width": width, "height": height})
        admin.screenshot(path=SHOTS / f"admin-{width}.png", full_page=True)
    admin.set_viewport_size({"width": 1280, "height": 900})
    notice.get_by_role("link", name="Add a key").click()
    expect(admin).to_have_url(f"{live_server.url}/t/north/keys/")
    expect(admin.get_by_test_id("no-own-key")).to_contain_text("No key can pay for this team")
    admin.screenshot(path=SHOTS / "keys-none-1280.png", full_page=True)
    assert serious_violations(admin) == []
    admin.get_by_label("Label").last.fill("Studio key")
    admin.get_by_label("Secret").fill("sk-evo-studio-north-0001")
    admin.get_by_role("button", name="Add the key").click()
    expect(admin.get_by_test_id("key")).to_have_count(1)

    member.reload()
    expect(member.get_by_role("button", name="Generate", exact=True)).to_be_enabled()
    expect(member.get_by_test_id("payer-gap")).to_have_count(0)
