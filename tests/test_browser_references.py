"""Reference images in headless Chromium: drop, paste, remove, generate an edit, Edit this."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png_base64(color: str, size: tuple[int, int] = (120, 80), fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode()


DATA_TRANSFER = """([files]) => {
    const transfer = new DataTransfer();
    for (const [name, type, b64] of files) {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name, {type}));
    }
    return transfer;
}"""


@pytest.fixture
def cluster(simulator: Simulator, settings, live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.task_seconds = 1.0
    process = start_cluster(simulator, PUBLIC_BASE_URL=live_server.url)
    yield
    kill(process)


def test_drop_paste_remove_generate_an_edit_and_edit_this(
    page: Page, live_server, cluster: None
) -> None:
    alice = User.objects.create_user("alice", password="s3cret-pass-word")
    Membership.objects.create(user=alice, team=Team.objects.create(name="Team A", slug="a"))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("s3cret-pass-word")
    page.get_by_role("button", name="Log in").click()
    chips = page.locator("#reference-list .reference-chip:not(.uploading)")

    # Drag and drop two images onto the drop zone.
    dropped = page.evaluate_handle(
        DATA_TRANSFER,
        [
            [
                ["red.png", "image/png", png_base64("red")],
                ["blue.jpg", "image/jpeg", png_base64("blue", fmt="JPEG")],
            ]
        ],
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    expect(chips).to_have_count(2)
    expect(page.get_by_test_id("estimate").locator("..")).to_contain_text("2 reference images")

    # Paste one from the clipboard.
    page.evaluate(
        """([b64]) => {
        const transfer = new DataTransfer();
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        transfer.items.add(new File([bytes], "pasted.png", {type: "image/png"}));
        document.getElementById("id_prompt").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true}));
    }""",
        [png_base64("green")],
    )
    expect(chips).to_have_count(3)

    # A GIF is refused by name; the others stay.
    gif = io.BytesIO()
    Image.new("P", (8, 8)).save(gif, "GIF")
    page.locator("#id_reference_files").set_input_files(
        files=[{"name": "tiger.gif", "mimeType": "image/gif", "buffer": gif.getvalue()}]
    )
    expect(page.locator("#reference-errors")).to_have_text(
        "tiger.gif: GIF is not supported; use JPEG, PNG or WEBP."
    )
    expect(chips).to_have_count(3)

    # Remove the second one (blue): the order of the rest is kept.
    chips.nth(1).get_by_role("button", name="Remove this reference image").click()
    expect(chips).to_have_count(2)
    expect(page.get_by_test_id("estimate").locator("..")).to_contain_text("2 reference images")

    page.get_by_label("Prompt").fill("make the background a sunset")
    page.get_by_label("Quality").select_option("low")
    page.get_by_role("button", name="Generate").click()
    wait_for_htmx(page)
    first = page.locator(".history-item").first
    expect(first.locator(".badge")).to_have_text("Completed", timeout=30_000)
    generation = Generation.objects.get()
    assert generation.state == State.COMPLETED
    urls = generation.request_payload["image_urls"]
    assert len(urls) == 2 and all(u.startswith(live_server.url + "/r/") for u in urls)
    assert [link.reference.width for link in generation.references.all()] == [120, 120]

    # "Edit this": the studio opens with the result as the only reference.
    first.get_by_role("link", name="Edit this").click()
    expect(page.get_by_label("Prompt")).to_have_value("make the background a sunset")
    expect(chips).to_have_count(1)
    expect(page.get_by_label("Quality")).to_have_value("low")
