"""Single sign-on in headless Chromium against a real OpenID Provider on loopback (npm's
oidc-provider, tests/oidc_provider.py): the login page's button, the provider's own
sign-in page, and back, signed in, in the team the person's group gives; an answer
meant for another application refused with a message on the login page; the password
form switched off. Pages photographed when SCREENSHOTS names a folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.sso.models import Identity
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, watch_csp  # noqa: F401 - fixture
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, PASSWORD, OpenIDProvider, running_provider
from tests.test_browser_a11y import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


@pytest.fixture(scope="module")
def live_provider(
    live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenIDProvider]:
    callback = f"{live_server.url}/sso/callback/"
    with running_provider(tmp_path_factory.mktemp("oidc"), [callback]) as provider:
        yield provider


@pytest.fixture
def provider(live_provider: OpenIDProvider, settings: Any) -> Iterator[OpenIDProvider]:
    live_provider.reset()
    settings.OIDC_ISSUER = live_provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Example ID"
    settings.OIDC_ALLOWED_DOMAINS = ["example.com"]
    settings.OIDC_GROUP_TEAMS = "studio-leads=north:admin;designers=north:member"
    yield live_provider
    live_provider.reset()


def new_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    watch_csp(context)
    return context.new_page()


def through_the_provider(page: Page, login: str) -> None:
    """From our login page to the provider's sign-in page, and its form filled in."""
    page.get_by_role("link", name="Sign in with Example ID").click()
    expect(page.get_by_role("heading", name="Test provider")).to_be_visible()
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_signs_in_through_the_provider_into_the_team_their_group_gives(
    browser: Browser, live_server: Any, provider: OpenIDProvider
) -> None:
    Team.objects.create(name="Studio North", slug="north")
    provider.person("ada", email="ada@example.com", email_verified=True, groups=["studio-leads"])
    page = new_page(browser, live_server.url)
    page.goto("/login/")
    expect(page.get_by_role("link", name="Sign in with Example ID")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()  # the password form stays
    shot(page, "login-with-sso")
    assert serious_violations(page) == []

    through_the_provider(page, "ada")
    expect(page).to_have_url(f"{live_server.url}/t/north/")
    expect(page.get_by_test_id("current-team")).to_have_text("Studio North")
    ada = User.objects.get(username="ada")
    assert Identity.objects.filter(user=ada, issuer=provider.issuer, subject="ada").exists()
    assert Membership.objects.get(user=ada).role == Role.ADMIN
    page.goto("/t/north/members/")  # an admin's page
    expect(page.get_by_role("heading", level=1)).to_contain_text("Studio North")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("aud", "the provider's answer was meant for another application."),
        ("iss", "the provider's answer names another issuer than the one this site trusts."),
    ],
)
def test_an_answer_for_another_audience_or_from_another_issuer_is_refused_on_the_login_page(
    browser: Browser, live_server: Any, provider: OpenIDProvider, tamper: str, message: str
) -> None:
    provider.person("ada", email="ada@example.com", email_verified=True)
    provider.tamper(tamper)
    page = new_page(browser, live_server.url)
    page.goto("/login/")
    through_the_provider(page, "ada")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("status")).to_contain_text(f"The sign-in was refused: {message}")
    shot(page, f"login-sso-refused-{tamper}")
    assert not User.objects.filter(username="ada").exists()


def test_someone_outside_the_allowed_domains_is_told_so(
    browser: Browser, live_server: Any, provider: OpenIDProvider
) -> None:
    provider.person("mallory", email="mallory@elsewhere.org", email_verified=True)
    page = new_page(browser, live_server.url)
    page.goto("/login/")
    through_the_provider(page, "mallory")
    expect(page.get_by_role("status")).to_contain_text(
        "mallory@elsewhere.org cannot sign in here: this site admits addresses at example.com only."
    )


def test_with_password_login_off_the_page_offers_the_provider_alone(
    browser: Browser, live_server: Any, provider: OpenIDProvider, settings: Any
) -> None:
    settings.PASSWORD_LOGIN = False
    page = new_page(browser, live_server.url)
    page.goto("/login/")
    expect(page.get_by_role("link", name="Sign in with Example ID")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_count(0)
    expect(page.get_by_text("Forgotten your password?")).to_have_count(0)
    shot(page, "login-sso-only")
    assert serious_violations(page) == []
