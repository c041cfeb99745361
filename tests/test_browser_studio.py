"""What a person sees in the studio, in headless Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from playground.teams.models import Membership, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base_url: str) -> None:
    alice = User.objects.create_user("alice", password="s3cret-pass-word")
    Membership.objects.create(user=alice, team=Team.objects.create(name="Team A", slug="a"))
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("s3cret-pass-word")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Generate")).to_be_visible()


def test_switch_models_see_live_size_and_estimate_and_a_size_error(page: Page, live_server) -> None:
    log_in(page, live_server.url)
    estimate = page.get_by_test_id("estimate")

    # gpt-image-2 is the default: auto size, medium quality.
    expect(page.get_by_label("Resolution")).to_be_hidden()
    page.get_by_label("Prompt").fill("a lighthouse at dawn, watercolour")
    expect(page.locator("#prompt-count")).to_contain_text("33 / 32,000 characters")

    page.get_by_label("Size", exact=True).select_option("16:9")
    page.get_by_label("Resolution").select_option("4K")
    expect(page.locator("#size-preview")).to_contain_text("16:9 at 4K → 3840×2160")
    page.get_by_label("Quality").select_option("high")
    expect(estimate).to_contain_text("≈ 24.50 credits")
    page.get_by_label("Number of images").fill("3")
    # 3 × 13,342 output tokens × 1.836, and the 7-token prompt × 3 × 0.306 (per 1K tokens).
    expect(estimate).to_contain_text(
        "× 3 + 0.01 credits for the prompt (7 tokens × 3) = 73.49 credits"
    )

    # gpt-image-1: six sizes, no resolution, a token count; the prompt survives.
    page.get_by_role("link", name="GPT Image 1", exact=True).click()
    wait_for_htmx(page)
    expect(page.get_by_label("Prompt")).to_have_value("a lighthouse at dawn, watercolour")
    expect(page.get_by_label("Resolution")).to_have_count(0)
    expect(page.locator("#prompt-count")).to_contain_text(re.compile(r"\d+ / 2,000 tokens"))
    expect(page.get_by_label("Size", exact=True)).to_have_value("1024x1024")
    expect(estimate).to_contain_text("10.18 credits")  # high 1024×1024 = 4160 tokens
    page.get_by_label("Quality").select_option("low")
    expect(estimate).to_contain_text("≈ 0.67 credits · $0.0098 per image")

    page.get_by_role("link", name="GPT Image 1.5").click()
    wait_for_htmx(page)
    expect(page.get_by_label("Size", exact=True)).to_have_value("1:1")
    expect(estimate).to_contain_text("8.15 credits")  # high, 4160 × 1.9584

    # Back to gpt-image-2: an invalid custom size is explained, nothing is lost.
    page.get_by_role("link", name="GPT Image 2").click()
    wait_for_htmx(page)
    page.get_by_label("Size", exact=True).select_option("custom")
    page.get_by_label("Width (px)").fill("1000")
    page.get_by_label("Height (px)").fill("1024")
    expect(page.locator("#size-preview")).to_contain_text("Width must be a multiple of 16")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#id_width-errors")).to_have_text(
        "Width must be a multiple of 16 (got 1,000)."
    )
    expect(page.get_by_label("Prompt")).to_have_value("a lighthouse at dawn, watercolour")
    expect(page.get_by_label("Width (px)")).to_have_value("1000")
    expect(page.locator("#history")).to_contain_text("Nothing yet")


def test_a_late_live_answer_never_overwrites_a_newer_form(page: Page, live_server) -> None:
    """The race of a loaded machine, made certain: a live refresh of the gpt-image-2
    form is held back until GPT Image 1's form has replaced it, then let through."""
    log_in(page, live_server.url)
    page.get_by_label("Prompt").fill("a lighthouse")
    page.get_by_label("Prompt").blur()  # its change event is sent now, not during the switch
    expect(page.locator("#prompt-count")).to_contain_text("12 / 32,000 characters")
    wait_for_htmx(page)
    page.evaluate(
        "window.__dropped = 0; document.body.addEventListener("
        "'htmx:oobErrorNoTarget', () => { window.__dropped += 1 })"
    )

    held: list = []

    def hold_the_first(route) -> None:  # type: ignore[no-untyped-def]
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/studio/live/"), hold_the_first)
    # Exactly one live refresh of the gpt-image-2 form (as an added reference sends).
    page.evaluate("document.body.dispatchEvent(new CustomEvent('references-changed'))")
    for _ in range(100):  # the route handler runs while Playwright is pumping events
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1

    page.get_by_role("link", name="GPT Image 1", exact=True).click()
    expect(page.get_by_label("Resolution")).to_have_count(0)
    wait_for_htmx(page)
    expect(page.locator("#prompt-count")).to_contain_text(re.compile(r"\d+ / 2,000 tokens"))

    with page.expect_response(re.compile(r"/studio/live/")):
        held[0].continue_()
    # Both out-of-band parts (counter, size line) of the stale answer found no target.
    page.wait_for_function("() => window.__dropped === 2")
    expect(page.locator("#prompt-count")).to_contain_text(re.compile(r"\d+ / 2,000 tokens"))
    expect(page.locator("#size-preview")).not_to_contain_text("Auto")


def test_an_error_goes_as_soon_as_its_cause_is_fixed(page: Page, live_server) -> None:
    log_in(page, live_server.url)
    page.get_by_role("link", name="GPT Image 1", exact=True).click()
    wait_for_htmx(page)
    # Far past gpt-image-1's 2,000 tokens; the form says so next to the prompt.
    page.get_by_label("Prompt").fill("lighthouse " * 2500)
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    error = page.locator("#field-prompt .errorlist")
    expect(error).to_be_visible()
    expect(page.locator("#field-prompt")).to_have_class(re.compile(r"has-error"))
    # Shortened: the message goes with the next live refresh, not the next Generate.
    page.get_by_label("Prompt").fill("a lighthouse at dawn")
    expect(page.locator("#prompt-count")).to_have_attribute("data-prompt-ok", "true")
    expect(error).to_have_count(0)
    expect(page.locator("#field-prompt")).not_to_have_class(re.compile(r"has-error"))
