"""The review loop in headless Chromium: a member asks a reviewer (a viewer with the
reviewer right) to review both images of a job; the reviewer's header counts them,
the Review page lists them oldest first, and in the lightbox A approves, → moves on
and C requests changes; the member's history shows both badges. And from the
lightbox: the maker asks, the admin types a note (its letters A and C decide nothing)
and presses "Request changes"; the note is a comment on the image."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.reviews.models import ImageReview, ReviewStatus
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_a11y import serious_violations
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where the pictures of the pages go when a person wants to look at them.
SHOTS = os.environ.get("REVIEW_SCREENSHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def job_of_two(owner: User, team: Team) -> Generation:
    job = make_generation(owner, team=team, prompt="a red raincoat", n=2, state=State.COMPLETED)
    save_result(job, 0, png_bytes(64, 48, "teal"))
    save_result(job, 1, png_bytes(64, 48, "orange"))
    return job


def test_ask_a_reviewer_who_approves_one_and_requests_changes_on_the_other_by_keys(
    browser: Browser, live_server
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    people = {}
    for username, role, reviewer in (
        ("mia", Role.MEMBER, False),
        ("dora", Role.VIEWER, True),
        ("ada", Role.ADMIN, False),
    ):
        people[username] = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=people[username], team=team, role=role, reviewer=reviewer)
    job = job_of_two(people["mia"], team)
    first, second = job.images.order_by("index")

    # The member asks dora for a review of each image, on the job's page.
    mia = person(browser, live_server.url, "mia")
    mia.goto(f"/generations/{job.public_id}/")
    for image in (first, second):
        panel = mia.locator(f"#review-{image.pk}")
        panel.get_by_label("Reviewer").select_option(label="dora")
        panel.get_by_role("button", name="Request review").click()
        wait_for_htmx(mia)
        expect(mia.locator(f"#review-{image.pk} [data-testid=review-status]")).to_have_text(
            "Needs review"
        )
    shot(mia, "job-page-requested")
    assert set(ImageReview.objects.values_list("status", "reviewer__username")) == {
        (ReviewStatus.NEEDS_REVIEW, "dora")
    }

    # The reviewer: dora is a viewer whom the admin gave the right on the team page.
    admin = person(browser, live_server.url, "ada")
    admin.goto("/t/north/members/")
    expect(admin.get_by_test_id("reviewer-dora")).to_be_checked()
    admin.get_by_test_id("reviewer-mia").check()
    admin.locator("#member-" + str(Membership.objects.get(user=people["mia"]).pk)).get_by_role(
        "button", name="Change"
    ).click()
    expect(admin.get_by_test_id("reviewer-mia")).to_be_checked()
    assert Membership.objects.get(user=people["mia"]).reviewer
    shot(admin, "team-page")

    # The reviewer: two waiting, oldest first; the lightbox decides by keys.
    dora = person(browser, live_server.url, "dora")
    expect(dora.get_by_test_id("review-link")).to_contain_text("2")
    dora.get_by_test_id("review-link").click()
    expect(dora.get_by_role("heading", name="Review")).to_be_visible()
    items = dora.locator(".review-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_id(f"review-item-{first.pk}")
    shot(dora, "review-queue")
    assert serious_violations(dora) == []
    items.nth(0).locator("a[data-lightbox]").click()
    box = dora.get_by_test_id("lightbox")
    expect(box).to_be_visible()
    expect(box.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    expect(box.locator('.lightbox-keys [data-key="a"]')).to_be_visible()
    shot(dora, "lightbox-review")
    assert serious_violations(dora) == []
    dora.keyboard.press("a")
    expect(box.locator("[data-lightbox-status]")).to_have_text("Approved.")
    expect(box.locator("[data-lightbox-review-status]")).to_have_text("Approved")
    dora.keyboard.press("ArrowRight")
    expect(box.locator("[data-lightbox-counter]")).to_have_text("2 of 2")
    expect(box.locator("[data-lightbox-review-status]")).to_have_text("Needs review")
    dora.keyboard.press("c")
    expect(box.locator("[data-lightbox-status]")).to_have_text("Changes requested.")
    # The queue's own badges followed without a reload.
    expect(dora.locator(f'.review-item [data-review-badge="{second.pk}"]')).to_have_text(
        "Changes requested"
    )
    dora.keyboard.press("Escape")
    assert dict(ImageReview.objects.values_list("image_id", "status")) == {
        first.pk: ReviewStatus.APPROVED,
        second.pk: ReviewStatus.CHANGES_REQUESTED,
    }
    assert set(ImageReview.objects.values_list("decided_by__username", flat=True)) == {"dora"}

    # Both decided: nothing waits for dora any more.
    dora.reload()
    expect(dora.get_by_test_id("review-empty")).to_be_visible()

    # The member's history: both badges, and the filter keeps the approved one.
    mia.goto("/t/north/")
    expect(mia.locator(f'#image-tile-{first.pk} [data-review-badge="{first.pk}"]')).to_have_text(
        "Approved"
    )
    expect(mia.locator(f'#image-tile-{second.pk} [data-review-badge="{second.pk}"]')).to_have_text(
        "Changes requested"
    )
    shot(mia, "history-badges")
    mia.get_by_test_id("review-filter").select_option("changes_requested")
    wait_for_htmx(mia)
    expect(mia).to_have_url(re.compile(r"review=changes_requested"))
    mia.get_by_role("button", name="Grid").click()
    wait_for_htmx(mia)
    shot(mia, "history-grid-filtered")


def test_asked_from_the_lightbox_a_note_typed_there_decides_nothing_until_a_button(
    browser: Browser, live_server
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    mia = User.objects.create_user("mia", password=PASSWORD)
    Membership.objects.create(user=mia, team=team, role=Role.MEMBER)
    ada = User.objects.create_user("ada", password=PASSWORD)
    Membership.objects.create(user=ada, team=team, role=Role.ADMIN)
    job = job_of_two(mia, team)
    first = job.images.order_by("index").first()
    assert first is not None

    # The maker asks for the review from the lightbox, naming the admin.
    maker = person(browser, live_server.url, "mia")
    maker.goto(f"/generations/{job.public_id}/")
    maker.locator(f"#image-{first.index} a[data-lightbox]").click()
    box = maker.get_by_test_id("lightbox")
    expect(box.get_by_role("button", name="Approve", exact=True)).to_be_hidden()
    box.get_by_label("Reviewer").select_option(label="ada")
    box.get_by_role("button", name="Request review").click()
    expect(box.locator("[data-lightbox-status]")).to_have_text("Review requested.")
    expect(box.locator("[data-lightbox-review-status]")).to_have_text("Needs review")
    assert list(ImageReview.objects.values_list("image_id", "reviewer__username")) == [
        (first.pk, "ada")
    ]

    page = person(browser, live_server.url, "ada")
    page.goto(f"/generations/{job.public_id}/")
    page.locator(f"#image-{first.index} a[data-lightbox]").click()
    box = page.get_by_test_id("lightbox")
    note = box.get_by_label("Note (optional, becomes a comment)")
    note.fill("")
    note.type("a calmer sky, please")
    assert ImageReview.objects.get().status == ReviewStatus.NEEDS_REVIEW
    box.get_by_role("button", name="Request changes").click()
    expect(box.locator("[data-lightbox-status]")).to_have_text("Changes requested.")
    expect(note).to_have_value("")
    review = ImageReview.objects.get()
    assert (review.image_id, review.status) == (first.pk, ReviewStatus.CHANGES_REQUESTED)
    # The note is a comment on the image, by the reviewer.
    from playground.comments.models import Comment

    assert list(Comment.objects.values_list("author__username", "image_id", "body")) == [
        ("ada", first.pk, "a calmer sky, please")
    ]
    # The job page's own panel says so too, after a reload.
    page.keyboard.press("Escape")
    page.reload()
    expect(page.locator(f"#review-{first.pk} [data-testid=review-status]")).to_have_text(
        "Changes requested"
    )
