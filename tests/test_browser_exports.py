"""Download as ZIP in headless Chromium: the filtered history's button leads to a
progress page that turns, by itself, into the download link once a worker has built
the ZIP; the file downloaded is a ZIP of those images with its manifest."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.exports.models import Export
from playground.generations.jobs import save_result
from playground.generations.models import State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.queue import drain
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def download_when_ready(page: Page, images: int, folder: Path, timeout: float = 5_000) -> Path:
    """On an export's page: wait for the link (the page polls by itself), download the
    ZIP under the name the export gives it, and return where it was saved."""
    link = page.get_by_test_id("export-download")
    expect(link).to_be_visible(timeout=timeout)
    expect(page.locator("#export-status")).to_contain_text(f"Ready: {images} images")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == Export.objects.get().download_name
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_the_filtered_history_downloads_as_a_zip(
    browser: Browser, live_server, tmp_path: Path
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    for i, colour in enumerate(("teal", "orange", "navy")):
        job = make_generation(user, team=team, prompt=f"harbour {i}", state=State.COMPLETED)
        save_result(job, 0, png_bytes(64, 48, colour))
    make_generation(user, team=team, prompt="a fox", state=State.COMPLETED)
    page = person(browser, live_server.url, "lea")
    page.goto("/t/north/?q=harbour")

    page.locator("#history").get_by_role("button", name="Download as ZIP").click()
    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("export-description")).to_have_text("History: “harbour”")
    expect(page.get_by_test_id("export-count")).to_contain_text("3 images")
    # A worker builds it; the page, polling every second, offers the file by itself.
    assert drain() == ["build"]
    path = download_when_ready(page, 3, tmp_path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(r["prompt"] for r in manifest["images"]) == [
            "harbour 0",
            "harbour 1",
            "harbour 2",
        ]
        assert all(archive.read(r["file"])[:4] == b"\x89PNG" for r in manifest["images"])
