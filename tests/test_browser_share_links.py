"""Share links in headless Chromium: an admin shares a job with a client by link (its
address in a read-only field), an anonymous browser opens it, downloads an image and
the ZIP, and gets the plain 404 once the admin revokes it; a link with a password
opens after the password is typed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.reviews.models import ImageReview, ReviewStatus
from playground.sharing.models import ShareLink
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, watch_csp  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_a11y import serious_violations
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_job() -> Generation:
    team = Team.objects.create(name="Studio North", slug="north")
    ada = User.objects.create_user("ada", password=PASSWORD)
    Membership.objects.create(user=ada, team=team, role=Role.ADMIN)
    job = make_generation(ada, team=team, prompt="a lighthouse at dusk", state=State.COMPLETED, n=2)
    save_result(job, 0, png_bytes(640, 480, "teal"))
    save_result(job, 1, png_bytes(640, 480, "orange"))
    return job


def make_link(
    page: Page, job: Generation, title: str, password: str = "", approved_only: bool = False
) -> str:
    """Share the job from its page; the address the link's page shows."""
    page.goto(f"/generations/{job.public_id}/")
    page.get_by_role("button", name="Share link", exact=True).click()
    page.get_by_label("Title").fill(title)
    if password:
        page.get_by_label("Password").fill(password)
    if approved_only:
        page.get_by_label("Approved images only").check()
    page.get_by_role("button", name="Share link", exact=True).click()
    field = page.get_by_label("The link's address")
    expect(field).to_have_attribute("readonly", "")
    address = field.input_value()
    assert "/s/" in address
    return address


def anonymous(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    watch_csp(context)
    return context.new_page()


def test_a_client_opens_downloads_and_loses_a_revoked_link(
    browser: Browser, live_server, tmp_path: Path
) -> None:
    job = a_job()
    admin = person(browser, live_server.url, "ada")
    address = make_link(admin, job, "Lighthouse, two options")

    client = anonymous(browser, live_server.url)
    client.goto(address)
    expect(client.get_by_role("heading", name="Lighthouse, two options")).to_be_visible()
    images = client.locator(".shared-image img")
    expect(images).to_have_count(2)
    # Both images loaded (their bytes, not a broken icon).
    client.wait_for_function(
        "() => [...document.querySelectorAll('.shared-image img')]"
        ".every(img => img.complete && img.naturalWidth === 640)"
    )
    expect(client.get_by_text("a lighthouse at dusk")).to_have_count(0)
    expect(client.get_by_text("ada")).to_have_count(0)
    with client.expect_download() as info:
        client.get_by_role("link", name="Download image 1").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    with job.images.get(index=0).file.open("rb") as stored:
        assert saved.read_bytes() == stored.read()
    with client.expect_download() as info:
        client.get_by_role("link", name="Download all 2 images (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert len(archive.namelist()) == 2

    admin.get_by_role("button", name="Revoke").click()
    expect(admin.get_by_test_id("share-state")).to_have_text("Revoked")
    client.reload()
    expect(client.get_by_test_id("error-404")).to_be_visible()
    expect(client.get_by_text("Lighthouse")).to_have_count(0)


def test_a_link_with_a_password_opens_once_it_is_typed(browser: Browser, live_server) -> None:
    job = a_job()
    admin = person(browser, live_server.url, "ada")
    address = make_link(admin, job, "Private preview", password="harbour-lights")
    client = anonymous(browser, live_server.url)
    client.goto(address)
    expect(client.locator(".shared-image")).to_have_count(0)
    client.get_by_label("Password").fill("harbour-light")
    client.get_by_role("button", name="Open").click()
    expect(client.get_by_role("alert")).to_have_text("That is not the password of this page.")
    client.get_by_label("Password").fill("harbour-lights")
    client.get_by_role("button", name="Open").click()
    expect(client.locator(".shared-image img")).to_have_count(2)

    admin.goto("/t/north/share-links/")
    rows = admin.get_by_test_id("share-links").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Private preview")
    expect(rows.first).to_contain_text("1")


def test_the_share_link_pages_have_no_serious_accessibility_problems(
    browser: Browser, live_server
) -> None:
    job = a_job()
    admin = person(browser, live_server.url, "ada")
    found: dict[str, list[str]] = {}
    admin.goto(f"/generations/{job.public_id}/")
    admin.get_by_role("button", name="Share link", exact=True).click()
    admin.get_by_label("Password").fill("short")
    admin.get_by_role("button", name="Share link", exact=True).click()
    expect(admin.get_by_text("A password has at least 6 characters.")).to_be_visible()
    found["options, in error"] = serious_violations(admin)
    address = make_link(admin, job, "Lighthouse", password="harbour-lights")
    found["link"] = serious_violations(admin)
    admin.goto("/t/north/share-links/")
    found["list"] = serious_violations(admin)
    client = anonymous(browser, live_server.url)
    client.goto(address)
    found["password"] = serious_violations(client)
    client.get_by_label("Password").fill("harbour-lights")
    client.get_by_role("button", name="Open").click()
    expect(client.locator(".shared-image img")).to_have_count(2)
    found["public page"] = serious_violations(client)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_approved_images_only_shows_the_approved_one(browser: Browser, live_server) -> None:
    job = a_job()
    first, second = job.images.order_by("index")
    ImageReview.objects.create(image=first, status=ReviewStatus.APPROVED)
    ImageReview.objects.create(image=second, status=ReviewStatus.CHANGES_REQUESTED)
    admin = person(browser, live_server.url, "ada")
    address = make_link(admin, job, "The approved one", approved_only=True)
    expect(admin.get_by_test_id("share-shown")).to_have_text("1 of 2")
    client = anonymous(browser, live_server.url)
    client.goto(address)
    expect(client.locator(".shared-image img")).to_have_count(1)
    expect(client.get_by_role("link", name="Download 1 image (ZIP)")).to_be_visible()


def test_the_ticked_images_of_the_history_are_shared(browser: Browser, live_server) -> None:
    job = a_job()
    admin = person(browser, live_server.url, "ada")
    admin.goto("/t/north/")
    admin.locator("[data-select-image]").nth(1).check()
    expect(admin.locator(".selection-bar.floating")).to_be_visible()
    admin.get_by_test_id("selection-share").click()
    expect(admin.get_by_test_id("share-source")).to_have_text("Selection of 1 image")
    expect(admin.get_by_test_id("share-new")).to_contain_text("A read-only page of this image")
    admin.get_by_role("button", name="Share link", exact=True).click()
    expect(admin.get_by_test_id("share-shown")).to_have_text("1 of 1")
    shared = ShareLink.objects.get().items.get().image
    assert shared.generation_id == job.pk
