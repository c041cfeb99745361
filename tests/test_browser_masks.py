"""The mask painter in headless Chromium: a stroke with the mouse, a rectangle with the
keyboard alone, a stroke with a finger on a phone. Each time the simulator must receive
a PNG of the reference's exact size, transparent where the person painted and opaque
elsewhere."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-pass-word"
WIDTH, HEIGHT = 300, 200  # not square: a swapped axis would show
AXE = Path(__file__).resolve().parent.parent / ".ci" / "axe" / "node_modules" / "axe-core"

DROP = """([b64]) => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], "photo.png", {type: "image/png"}));
    return transfer;
}"""


@pytest.fixture
def cluster(simulator: Simulator, settings, live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.task_seconds = 0.5
    process = start_cluster(simulator, PUBLIC_BASE_URL=live_server.url)
    yield
    kill(process)


def reference_png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (40, 120, 200)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def sign_in_and_attach(page: Page, base_url: str) -> None:
    alice = User.objects.create_user("alice", password=PASSWORD)
    Membership.objects.create(user=alice, team=Team.objects.create(name="Team A", slug="a"))
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    dropped = page.evaluate_handle(DROP, [reference_png()])
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    expect(page.locator("#reference-list .reference-chip:not(.uploading)")).to_have_count(1)


def open_painter(page: Page) -> None:
    page.locator(".reference-chip").get_by_role("button", name="Mask").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()


def image_to_page(page: Page, x: float, y: float) -> tuple[float, float]:
    """A point of the reference (its own pixels) on the page, through the CSS scaling."""
    box = page.locator("[data-mask-canvas]").bounding_box()
    assert box is not None
    return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT


def generate_and_received_mask(page: Page, simulator: Simulator) -> Image.Image:
    expect(page.locator(".reference-chip [data-mask-badge]")).to_be_visible()
    page.get_by_label("Prompt").fill("a red door")
    page.get_by_label("Quality").select_option("low")
    page.get_by_role("button", name="Generate", exact=True).click()
    wait_for_htmx(page)
    expect(page.locator(".history-item").first.locator(".badge")).to_have_text(
        "Completed", timeout=30_000
    )
    generation = Generation.objects.get()
    assert generation.state == State.COMPLETED
    [received] = simulator.stats()["masks"]
    assert (received["width"], received["height"], received["has_alpha"]) == (WIDTH, HEIGHT, True)
    data = simulator.received_mask(received["task_id"])
    assert data is not None and data.startswith(b"\x89PNG")
    mask = Image.open(io.BytesIO(data))
    assert mask.format == "PNG" and mask.size == (WIDTH, HEIGHT)
    return mask.convert("RGBA").getchannel("A")


def test_a_stroke_with_the_mouse_reaches_the_simulator_as_a_mask(
    page: Page, live_server, cluster: None, simulator: Simulator
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_and_attach(page, live_server.url)
    open_painter(page)

    # A horizontal stroke through the middle of the left half.
    page.mouse.move(*image_to_page(page, 40, 100))
    page.mouse.down()
    for x in range(50, 161, 10):
        page.mouse.move(*image_to_page(page, x, 100))
    page.mouse.up()

    # A second stroke, undone: it must not be in the mask.
    page.mouse.move(*image_to_page(page, 250, 30))
    page.mouse.down()
    page.mouse.move(*image_to_page(page, 270, 40))
    page.mouse.up()
    page.keyboard.press("Control+z")

    if AXE.exists():
        page.evaluate((AXE / "axe.min.js").read_text())
        serious = page.evaluate(
            """async () => {
                const r = await axe.run(document.getElementById("mask-painter"));
                return r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
                    .map((v) => v.id + " @ " + v.nodes.map((n) => n.target).join(" | "));
            }"""
        )
        assert serious == []

    page.get_by_role("button", name="Use mask").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#mask-field input[name=mask]")).to_have_count(1)

    # A model without masks says so and keeps the mask; back on gpt-image-2 it is there.
    page.get_by_role("link", name="GPT Image 1.5").click()
    wait_for_htmx(page)
    expect(page.get_by_test_id("mask-off")).to_contain_text("does not take a mask")
    expect(page.locator(".reference-chip [data-mask-open]")).to_be_hidden()
    chip = page.locator(".reference-chip")
    expect(chip.get_by_role("button", name="Remove mask")).to_be_visible()
    page.get_by_role("link", name="GPT Image 2").click()
    wait_for_htmx(page)
    expect(page.get_by_test_id("mask-off")).to_have_count(0)

    alpha = generate_and_received_mask(page, simulator)
    assert alpha.getpixel((100, 100)) == 0  # on the stroke: to change
    assert alpha.getpixel((100, 160)) == 255  # below it: kept
    assert alpha.getpixel((260, 35)) == 255  # the undone stroke: kept


def test_a_rectangle_made_with_the_keyboard_alone_is_the_mask(
    page: Page, live_server, cluster: None, simulator: Simulator
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_and_attach(page, live_server.url)
    # The hook "Edit with mask" uses: a chip marked data-open-mask opens the painter once.
    page.evaluate(
        """() => {
            document.querySelector(".reference-chip").setAttribute("data-open-mask", "");
            document.body.dispatchEvent(new CustomEvent("htmx:afterSettle", {bubbles: true}));
        }"""
    )
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".reference-chip[data-open-mask]")).to_have_count(0)

    mask_button = page.locator(".reference-chip").get_by_role("button", name="Mask")
    mask_button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()

    # Esc closes it and the keyboard is back on the Mask button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(mask_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()

    # Nothing painted yet: the server's sentence stays in the painter, which stays open.
    page.get_by_role("button", name="Use mask").focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("alert")).to_contain_text("opaque everywhere")
    expect(dialog).to_be_visible()

    # R: a rectangle of a third of the image in its middle (100..200 × 67..133). Steps
    # are a fiftieth of the long edge (6 px): right 5 steps, 3 steps taller.
    page.keyboard.press("r")
    expect(page.locator("[data-mask-rectangle]")).to_be_visible()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Use mask").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()

    alpha = generate_and_received_mask(page, simulator)
    assert alpha.getpixel((180, 140)) == 0  # inside the moved, taller rectangle
    assert alpha.getpixel((110, 100)) == 255  # where it was before it moved
    assert alpha.getpixel((180, 60)) == 255  # above it

    # Remove mask takes it off the form; the keyboard stays on the chip.
    chip = page.locator(".reference-chip")
    chip.get_by_role("button", name="Remove mask").click()
    expect(page.locator("#mask-field input[name=mask]")).to_have_count(0)
    expect(chip.locator("[data-mask-badge]")).to_be_hidden()
    expect(chip.get_by_role("button", name="Mask")).to_be_focused()


def test_painting_with_a_finger_on_a_phone(
    browser: Browser, live_server, cluster: None, simulator: Simulator
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    sign_in_and_attach(page, live_server.url)
    page.locator(".reference-chip").get_by_role("button", name="Mask").tap()
    dialog = page.get_by_role("dialog")
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()

    # The dialog fits the screen and every control is a finger's size.
    box = dialog.bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] <= 844
    small = page.evaluate(
        """() => [...document.querySelectorAll("#mask-painter button, #mask-painter input")]
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el.textContent.trim() || el.ariaLabel, el.getBoundingClientRect()])
            .filter(([, r]) => r.width < 44 || r.height < 44 || r.right > 390 || r.bottom > 844)
            .map(([name, r]) => `${name}: ${r.width}×${r.height} at ${r.left},${r.top}`)"""
    )
    assert small == []
    # No keyboard on a touch screen: no key hints.
    expect(page.locator("#mask-painter .mask-keys").first).to_be_hidden()

    # A finger's stroke, through the browser's real touch input (pointer events follow).
    cdp = context.new_cdp_session(page)
    points = [image_to_page(page, x, 100) for x in range(40, 161, 10)]
    fingers = [{"x": x, "y": y} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers[:1]})
    for finger in fingers[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [finger]})
    # The lifted finger is named (an empty list left Chromium's gesture open: no click after).
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": fingers[-1:]})
    # The stroke is done (Undo is offered) before the next tap.
    expect(dialog.get_by_role("button", name="Undo")).to_be_enabled()
    # Clicked, not tapped: Chromium drops a synthetic tap that comes within a few hundred
    # ms of a synthetic drag's end (seen here: pointerup, no click); a person's finger is
    # never that quick, and tapping the chip's Mask button above shows taps work.
    page.get_by_role("button", name="Use mask").click()
    expect(dialog).to_be_hidden()

    alpha = generate_and_received_mask(page, simulator)
    assert alpha.getpixel((100, 100)) == 0
    assert alpha.getpixel((100, 170)) == 255
    context.close()
