"""Comment threads in headless Chromium: a colleague's comment with an @mention chosen
from the autocomplete (team members only) appears live on the other person's open page;
its author edits and deletes it; a comment posted from the lightbox; the tile's count."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Dialog, expect

from playground.comments.models import Comment
from playground.generations.jobs import save_result
from playground.generations.models import State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_mention_from_the_autocomplete_appears_live_and_is_edited_and_deleted(
    browser: Browser, live_server
) -> None:
    north = Team.objects.create(name="Studio North", slug="north")
    south = Team.objects.create(name="Studio South", slug="south")
    for username, team, role in (
        ("lea", north, Role.MEMBER),
        ("leon", north, Role.VIEWER),
        ("max", north, Role.MEMBER),
        ("lars", south, Role.MEMBER),  # another team's: never offered
    ):
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, team=team, role=role)
    lea = User.objects.get(username="lea")
    job = make_generation(lea, team=north, prompt="a red kite", state=State.COMPLETED)
    save_result(job, 0, png_bytes(48, 32, "teal"))

    # Lea has her job's page open while Max writes.
    lea_page = person(browser, live_server.url, "lea")
    lea_page.goto(f"/generations/{job.public_id}/")
    lea_thread = lea_page.locator(f"#thread-j{job.pk}")
    expect(lea_thread).to_contain_text("No comments yet.")

    page = person(browser, live_server.url, "max")
    page.goto(f"/generations/{job.public_id}/")
    thread = page.locator(f"#thread-j{job.pk}")
    box = thread.get_by_label("Comment", exact=True)
    box.click()
    box.press_sequentially("Lovely colours @le")
    picker = page.get_by_role("listbox", name="People to mention")
    expect(picker.get_by_role("option")).to_have_text(["@lea", "@leon"])
    box.press("ArrowDown")
    box.press("ArrowUp")
    box.press("Enter")  # takes the option shown as chosen, does not post
    expect(picker).to_have_count(0)
    expect(box).to_have_value("Lovely colours @lea ")
    box.press_sequentially("— keep this one?")
    thread.get_by_role("button", name="Post comment").click()
    wait_for_htmx(page)
    comment = thread.locator(".comment").first
    expect(comment).to_contain_text("Lovely colours @lea — keep this one?")
    expect(comment.locator(".mention")).to_have_text("@lea")
    expect(thread.get_by_role("status")).to_have_text("Posted.")
    expect(thread.get_by_label("Comment", exact=True)).to_have_value("")
    expect(thread.get_by_label("Comment", exact=True)).to_be_focused()

    # Lea's open page shows it without a reload; she may not edit or delete it.
    expect(lea_thread.locator(".comment")).to_contain_text("Lovely colours @lea")
    expect(lea_thread.get_by_role("button", name="Delete")).to_have_count(0)

    # Max edits it in place, then deletes it (after the browser's confirmation).
    comment.get_by_role("link", name="Edit").click()
    edit = thread.get_by_label("Changed text")
    expect(edit).to_be_focused()
    edit.fill("Lovely colours, @lea: keep it")
    thread.get_by_role("button", name="Save").click()
    wait_for_htmx(page)
    expect(comment).to_contain_text("Lovely colours, @lea: keep it")
    expect(comment).to_contain_text("edited")
    expect(lea_thread.locator(".comment")).to_contain_text("keep it")

    def accept(dialog: Dialog) -> None:
        assert dialog.message == "Delete this comment?"
        dialog.accept()

    page.once("dialog", accept)
    comment.get_by_role("button", name="Delete").click()
    expect(thread.locator(".comment")).to_have_count(0)
    expect(lea_thread.locator(".comment")).to_have_count(0)
    assert not Comment.objects.exists()


def test_a_comment_from_the_lightbox_and_the_count_on_the_tile(
    browser: Browser, live_server
) -> None:
    north = Team.objects.create(name="Studio North", slug="north")
    lea = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=lea, team=north, role=Role.MEMBER)
    max_ = User.objects.create_user("max", password=PASSWORD)
    Membership.objects.create(user=max_, team=north, role=Role.VIEWER)
    job = make_generation(lea, team=north, prompt="a red kite", state=State.COMPLETED)
    image = save_result(job, 0, png_bytes(48, 32, "teal"))

    page = person(browser, live_server.url, "lea")
    tile = page.locator(f"#image-tile-{image.pk}")
    expect(tile.get_by_test_id("comment-count")).to_have_count(0)
    tile.locator("a.tile-open").click()
    lightbox = page.get_by_test_id("lightbox")
    expect(lightbox).to_be_visible()
    box = lightbox.get_by_label("Comment", exact=True)
    box.click()
    box.press_sequentially("fine @")  # "f" stars outside a text box; not here
    picker = page.get_by_role("listbox", name="People to mention")
    expect(picker.get_by_role("option")).to_have_text(["@max"])
    box.press("Escape")  # closes the list, not the lightbox
    expect(picker).to_have_count(0)
    expect(lightbox).to_be_visible()
    box.press("Backspace")
    expect(lightbox.locator("[data-lightbox-favourite]")).to_have_attribute("aria-pressed", "false")
    lightbox.get_by_role("button", name="Post comment").click()
    expect(lightbox.locator(".comment .comment-body")).to_have_text("fine")
    assert Comment.objects.get().image_id == image.pk

    # Closed, the history's live refresh has put the count on the tile.
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(tile.get_by_test_id("comment-count")).to_contain_text("1")
    expect(tile.get_by_test_id("comment-count")).to_have_attribute(
        "title", re.compile("1 comment on this job")
    )
