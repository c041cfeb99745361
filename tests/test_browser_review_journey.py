"""Review and hand-over as three people and a client live it (issue 24), in headless
Chromium: one live server, a real worker cluster and the simulator, one browser context
per person.

A member generates two images and asks a reviewer for a review; the reviewer (a viewer
with the reviewer right) sees the bell change on the page she has open, approves one
image and requests changes on the other with a note mentioning the member (chosen from
the autocomplete); the member sees both in the bell and in the image's thread, and
replies; an admin shares the approved image by link; an anonymous visitor opens it,
downloads the image, and gets the plain 404 once the admin revokes the link.

The database is written only to set up the team, and read to check what the browsers
did. Pages photographed when SCREENSHOTS names a folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from playground.comments.models import Comment
from playground.evolink.simulator import AUTO_SIZE, Simulator
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.reviews.models import ImageReview, ReviewStatus
from playground.sharing.models import ShareLink
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx, watch_csp  # noqa: F401
from tests.factories import make_generation, png_bytes
from tests.processes import kill, start_cluster
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMPT = "a yellow raincoat on a wooden pier"
SLOW = 30_000  # ms: what the worker does, seen through the page's polling
# The history refreshes every 2 s, a page's threads every 4 s: the bell rides on them.
LIVE = 12_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 0.8
    process = start_cluster(simulator)
    yield
    kill(process)


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/journey-{name}.png", full_page=True)


def bell(page: Page, unread: int) -> Locator:
    return page.get_by_role("button", name=f"Notifications ({unread} unread)")


def the_team() -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    for username, role, reviewer in (
        ("mia", Role.MEMBER, False),
        ("dora", Role.VIEWER, True),  # an art director: reviews, never generates
        ("ada", Role.ADMIN, False),
    ):
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
        Membership.objects.create(user=user, team=team, role=role, reviewer=reviewer)


def test_a_member_a_reviewer_an_admin_and_a_client_finish_a_job_together(
    browser: Browser, live_server, cluster: None, simulator: Simulator, tmp_path: Path
) -> None:
    the_team()

    # The reviewer has the studio open, and keeps it open: nothing below reloads it.
    dora = person(browser, live_server.url, "dora")
    expect(dora).to_have_url(re.compile(r"/t/north/$"))
    expect(bell(dora, 0)).to_be_visible()
    dora.evaluate("window.__noReload = true")

    # 1. The member generates two images.
    mia = person(browser, live_server.url, "mia")
    mia.get_by_label("Prompt").fill(PROMPT)
    mia.get_by_label("Quality").select_option("low")
    mia.get_by_label("Number of images").fill("2")
    mia.get_by_role("button", name="Generate").click()
    wait_for_htmx(mia)
    item = mia.locator(".history-item", has_text=PROMPT)
    expect(item.locator(".badge")).to_have_text("Completed", timeout=SLOW)
    expect(item.locator(".thumbs img")).to_have_count(2)
    item.get_by_role("link", name=re.compile(r"#\d+ · ")).click()
    job = Generation.objects.get()
    expect(mia).to_have_url(re.compile(rf"/generations/{job.public_id}/$"))
    first, second = job.images.order_by("index")

    # ... and asks dora to review each of them.
    for image in (first, second):
        panel = mia.locator(f"#review-{image.pk}")
        panel.get_by_label("Reviewer").select_option(label="dora")
        panel.get_by_role("button", name="Request review").click()
        wait_for_htmx(mia)
        expect(mia.locator(f"#review-{image.pk}").get_by_test_id("review-status")).to_have_text(
            "Needs review"
        )
    shot(mia, "1-member-requested")
    mia.evaluate("window.__noReload = true")

    # 2. The reviewer's bell changes on the page she had open, without a reload.
    expect(bell(dora, 2)).to_be_visible(timeout=LIVE)
    assert dora.evaluate("window.__noReload") is True
    bell(dora, 2).click()
    panel = dora.get_by_role("region", name="Notifications")
    expect(panel.get_by_test_id("notification")).to_have_count(2)
    expect(panel.get_by_test_id("notification").first).to_contain_text("mia")
    # The two requests read alike; each row shows its image.
    for index in (1, 2):
        expect(panel.get_by_role("img", name=f"Job #1, image {index}")).to_be_visible()
    dora.wait_for_function(
        "() => [...document.querySelectorAll('.notification-thumb')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    shot(dora, "2-reviewer-bell")
    panel.get_by_test_id("notification").first.get_by_role("link").click()
    expect(dora).to_have_url(re.compile(rf"/generations/{job.public_id}/"))

    # She approves the first image, and requests changes on the second with a note
    # that names the member, chosen from the autocomplete.
    dora.locator(f"#review-{first.pk}").get_by_role("button", name="Approve").click()
    wait_for_htmx(dora)
    expect(dora.locator(f"#review-{first.pk}").get_by_test_id("review-status")).to_have_text(
        "Approved"
    )
    decide = dora.locator(f"#review-{second.pk}")
    note = decide.get_by_label("Note (optional, becomes a comment)")
    note.click()
    note.press_sequentially("Warmer light, please @mi")
    picker = dora.get_by_role("listbox", name="People to mention")
    expect(picker.get_by_role("option")).to_have_text(["@mia"])
    shot(dora, "3-reviewer-mention")
    note.press("Enter")  # takes the name; sends nothing
    expect(picker).to_have_count(0)
    expect(note).to_have_value("Warmer light, please @mia ")
    note.press_sequentially("— the sky is too cold.")
    decide.get_by_role("button", name="Request changes").click()
    wait_for_htmx(dora)
    expect(dora.locator(f"#review-{second.pk}").get_by_test_id("review-status")).to_have_text(
        "Changes requested"
    )
    note_text = "Warmer light, please @mia — the sky is too cold."
    dora_thread = dora.locator(f"#thread-i{second.pk}")
    expect(dora_thread.locator(".comment")).to_contain_text(note_text, timeout=LIVE)
    expect(dora_thread.locator(".comment .mention")).to_have_text("@mia")
    shot(dora, "4-reviewer-decided")
    assert dict(ImageReview.objects.values_list("image_id", "status")) == {
        first.pk: ReviewStatus.APPROVED,
        second.pk: ReviewStatus.CHANGES_REQUESTED,
    }

    # 3. The member, on the job's page she never left: the bell (two decisions, the
    # note with the second: no separate mention) and the note in the second image's
    # thread, both without a reload.
    expect(bell(mia, 2)).to_be_visible(timeout=LIVE)
    thread = mia.locator(f"#thread-i{second.pk}")
    expect(thread.locator(".comment")).to_contain_text(note_text, timeout=LIVE)
    # The images' own panels follow too: never "Needs review" under that note.
    for image, label in ((first, "Approved"), (second, "Changes requested")):
        status = mia.locator(f"#review-{image.pk}").get_by_test_id("review-status")
        expect(status).to_have_text(label, timeout=LIVE)
    assert mia.evaluate("window.__noReload") is True
    bell(mia, 2).click()
    panel = mia.get_by_role("region", name="Notifications")
    told = panel.get_by_test_id("notification")
    expect(told).to_have_count(2)
    expect(told.nth(0)).to_contain_text("dora requested changes on your image of job #1")
    expect(told.nth(0)).to_contain_text(note_text)
    expect(told.nth(1)).to_contain_text("dora approved your image of job #1")
    shot(mia, "5-member-bell")
    mia.keyboard.press("Escape")

    # She replies in the thread; the reviewer, who wrote there, hears of it.
    box = thread.get_by_label("Comment", exact=True)
    box.click()
    box.press_sequentially("Warmer it is: I will run it again at golden hour.")
    thread.get_by_role("button", name="Post comment").click()
    wait_for_htmx(mia)
    expect(thread.locator(".comment")).to_have_count(2)
    expect(thread.locator(".comment").last).to_contain_text("golden hour")
    # The thread came back whole, its thumbnail too.
    mia.wait_for_function(
        f"() => {{ const img = document.querySelector('#thread-i{second.pk} img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    shot(mia, "6-member-replied")
    expect(dora_thread.locator(".comment")).to_have_count(2, timeout=LIVE)
    expect(bell(dora, 2)).to_be_visible(timeout=LIVE)  # the other request, and the reply
    assert list(
        Comment.objects.filter(image=second).values_list("author__username", flat=True)
    ) == ["dora", "mia"]

    # 4. The admin shares the approved image with a client.
    ada = person(browser, live_server.url, "ada")
    ada.goto(f"/generations/{job.public_id}/")
    ada.get_by_role("button", name="Share link", exact=True).click()
    ada.get_by_label("Title").fill("Raincoat, the approved one")
    ada.get_by_label("Approved images only").check()
    shot(ada, "7-admin-options")
    ada.get_by_role("button", name="Share link", exact=True).click()
    address_field = ada.get_by_label(re.compile("The link's address"))
    expect(address_field).to_have_attribute("readonly", "")
    address = address_field.input_value()
    assert re.search(r"/s/[\w-]{40,}/$", address), address
    expect(ada.get_by_test_id("share-shown")).to_have_text("1 of 2")
    shot(ada, "8-admin-link")

    # 5. The client: no account, a context of its own.
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    watch_csp(context)
    client = context.new_page()
    client.goto(address)
    expect(client.get_by_role("heading", name="Raincoat, the approved one")).to_be_visible()
    expect(client.locator(".shared-image img")).to_have_count(1)
    client.wait_for_function(
        "() => [...document.querySelectorAll('.shared-image img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    for secret in (PROMPT, "mia", "dora", "Studio North"):
        expect(client.get_by_text(secret)).to_have_count(0)
    shot(client, "9-client-page")
    with client.expect_download() as info:
        client.get_by_role("link", name="Download image 1").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    with first.file.open("rb") as stored:
        assert data == stored.read()  # the approved image, not the other one
    assert Image.open(saved).size == AUTO_SIZE
    download_url = client.get_by_role("link", name="Download image 1").get_attribute("href")
    assert download_url

    # 6. The admin revokes it: the page and its files are gone at once.
    ada.get_by_role("button", name="Revoke").click()
    expect(ada.get_by_test_id("share-state")).to_have_text("Revoked")
    client.reload()
    expect(client.get_by_test_id("error-404")).to_be_visible()
    expect(client.get_by_text("Raincoat")).to_have_count(0)
    shot(client, "10-client-revoked")
    assert client.request.get(download_url).status == 404
    assert ShareLink.objects.get().revoked_at is not None


def test_a_note_in_the_lightbox_names_the_member_from_the_autocomplete(
    browser: Browser, live_server
) -> None:
    the_team()
    job = make_generation(
        User.objects.get(username="mia"),
        team=Team.objects.get(),
        prompt=PROMPT,
        state=State.COMPLETED,
    )
    image = save_result(job, 0, png_bytes(64, 48, "teal"))
    dora = person(browser, live_server.url, "dora")
    dora.goto(f"/generations/{job.public_id}/")
    dora.locator("#image-0 a[data-lightbox]").click()
    box = dora.get_by_test_id("lightbox")
    expect(box.locator(".lightbox-comments textarea")).to_have_count(1)  # its thread loaded
    note = box.get_by_label("Note (optional, becomes a comment)")
    note.click()
    note.press_sequentially("Warmer, @m")
    picker = box.get_by_role("listbox", name="People to mention")
    expect(picker.get_by_role("option")).to_have_text(["@mia"])
    shot(dora, "11-lightbox-mention")
    note.press("Enter")  # takes the name; neither decides nor closes the lightbox
    expect(note).to_have_value("Warmer, @mia ")
    expect(box).to_be_visible()
    assert not ImageReview.objects.exists()
    box.get_by_role("button", name="Request changes").click()
    expect(box.locator("[data-lightbox-status]")).to_have_text("Changes requested.")
    expect(box.locator(".lightbox-comments .comment .mention")).to_have_text("@mia")
    comment = Comment.objects.get()
    assert (comment.image_id, comment.body) == (image.pk, "Warmer, @mia")
