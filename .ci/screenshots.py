"""Redo the README's screenshots from a real run: `.venv/bin/python .ci/screenshots.py`.

Starts `manage.py playground` (web, worker, simulator) on free ports with a fresh
SQLite database in a temporary directory, then, in Debian's Chromium, the two demo
logins do what a team does: generate with each model, attach a reference, build on a
colleague's image, run a matrix and look at it in the lightbox and side by side. The
pages are photographed into docs/img/ (outside static/, so production never collects or
serves them). Every process it starts is stopped (SIGTERM, then SIGKILL) whatever happens.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
PASSWORD = "demo-playground"  # noqa: S105 - the printed demo login of `manage.py playground`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poster(colour: str) -> bytes:
    """A small picture to use as a reference image."""
    image = Image.new("RGB", (640, 800), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 220, 470, 520), fill="#fff4e6")
    draw.rectangle((0, 620, 640, 800), fill="#343a40")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("current-team")).to_be_visible()


def settled(page: Page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def generate(page: Page, model: str, prompt: str, **fields: str) -> None:
    page.locator(f"a.model-tab[data-model='{model}']").click()
    expect(page.locator("a.model-tab.active")).to_have_attribute("data-model", model)
    settled(page)  # the form was swapped: fill the new one, not the old
    page.locator("#id_prompt").fill(prompt)
    for name, value in fields.items():
        page.locator(f"#id_{name}").select_option(value)
    page.get_by_role("button", name="Generate").click()
    try:
        expect(page.get_by_test_id("queued")).to_be_visible()
    except AssertionError:
        errors = page.locator("#generation-form [role=alert]").all_inner_texts()
        raise SystemExit(f"{model} {prompt!r} was not queued: {errors}") from None


def all_done(page: Page) -> None:
    page.wait_for_function(
        "() => document.querySelectorAll('.history-item').length > 0 && "
        "![...document.querySelectorAll('.history-item')].some(li => "
        "['queued','submitting','running','archiving'].includes(li.dataset.state))",
        timeout=120_000,
    )


def paint_over_the_sun(page: Page) -> None:
    """Open the mask painter on the attached poster and paint its sun (the circle)."""
    page.locator(".reference-chip").get_by_role("button", name="Mask").click()
    expect(page.locator("[data-mask-stage][data-ready]")).to_be_visible()
    box = page.locator("[data-mask-canvas]").bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:  # poster pixels to the page
        return box["x"] + x * box["width"] / 640, box["y"] + y * box["height"] / 800

    for y in range(250, 500, 35):
        page.mouse.move(*at(200, y))
        page.mouse.down()
        for x in range(200, 451, 25):
            page.mouse.move(*at(x, y))
        page.mouse.up()
    page.mouse.move(*at(560, 120))  # the brush's outline, away from the painting


def painter_shots(browser, base: str) -> None:  # type: ignore[no-untyped-def]
    """The mask painter, on a desktop and on a phone."""
    desk = browser.new_context(base_url=base, viewport={"width": 1360, "height": 900})
    page = desk.new_page()
    log_in(page, "demo")
    page.locator("#id_reference_files").set_input_files(
        [{"name": "poster.png", "mimeType": "image/png", "buffer": poster("#4c6ef5")}]
    )
    paint_over_the_sun(page)
    page.screenshot(path=OUT / "mask-painter.png")
    desk.close()
    phone = browser.new_context(
        base_url=base,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    small = phone.new_page()
    log_in(small, "demo")
    small.locator("#id_reference_files").set_input_files(
        [{"name": "poster.png", "mimeType": "image/png", "buffer": poster("#4c6ef5")}]
    )
    paint_over_the_sun(small)
    small.screenshot(path=OUT / "phone-mask-painter.png")
    phone.close()


def main() -> None:
    # `screenshots.py painter`: only the mask painter's two pictures.
    only_painter = sys.argv[1:] == ["painter"]
    workdir = Path(tempfile.mkdtemp(prefix="playground-shots-"))
    port, simulator_port = free_port(), free_port()
    env = {
        **os.environ,
        "PLAYGROUND_VAR_DIR": str(workdir),
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The history shows all three models, gpt-image-1 too (withdrawn upstream).
        "PLAYGROUND_OFFER_WITHDRAWN_MODELS": "1",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EVOLINK_API_KEY", "EVOLINK_BASE_URL"):
        env.pop(name, None)
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            "manage.py",
            "playground",
            "--port",
            str(port),
            "--simulator-port",
            str(simulator_port),
            "--task-seconds",
            "3",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise SystemExit("the playground did not start")
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                headless=True,
                args=["--no-sandbox", "--disable-gpu"],
            )
            painter_shots(browser, base)
            if only_painter:
                browser.close()
                return
            desk = browser.new_context(base_url=base, viewport={"width": 1360, "height": 900})
            member = desk.new_page()
            log_in(member, "demo-member")
            generate(
                member,
                "gpt-image-1.5",
                "a lighthouse in a storm, oil painting",
                size="2:3",
                quality="high",
            )
            generate(
                member,
                "gpt-image-1",
                "a fox reading a book, children's book illustration",
                size="1024x1024",
                quality="medium",
            )
            admin_context = browser.new_context(
                base_url=base, viewport={"width": 1360, "height": 900}
            )
            admin = admin_context.new_page()
            log_in(admin, "demo")
            admin.locator("#id_reference_files").set_input_files(
                [{"name": "sketch.png", "mimeType": "image/png", "buffer": poster("#4c6ef5")}]
            )
            expect(admin.locator("#reference-list .reference-chip")).to_have_count(1)
            generate(
                admin, "gpt-image-2", "the same scene at night, neon signs, rain", quality="low"
            )
            admin.locator("#id_n").fill("2")
            generate(
                admin,
                "gpt-image-2",
                "a tiny robot watering a bonsai, studio photo",
                quality="medium",
            )
            all_done(admin)

            # A colleague builds on the admin's image: "Edit this", then generate.
            member.goto("/")
            all_done(member)
            member.locator(".history-item", has_text="tiny robot").get_by_role(
                "link", name="Edit this"
            ).click()
            generate(member, "gpt-image-2", "the robot, now painting the bonsai in watercolor")
            all_done(member)

            admin.goto("/")
            all_done(admin)
            admin.locator("#id_prompt").fill("a paper boat on a puddle, morning light")
            expect(admin.locator("#prompt-count")).to_contain_text("39 / ")  # the live count
            admin.screenshot(path=OUT / "studio.png")
            admin.get_by_role("button", name="Grid").click()
            admin.wait_for_timeout(400)  # the thumbnails' fade-in; only a picture here
            admin.screenshot(path=OUT / "studio-grid.png")
            admin.get_by_role("button", name="List").click()

            member.locator(".history-item", has_text="now painting").locator("a.item-title").click()
            expect(member.get_by_test_id("lineage")).to_be_visible()
            member.screenshot(path=OUT / "lineage.png")

            admin.goto("/t/demo/usage/")
            admin.screenshot(path=OUT / "usage.png")

            # The gallery: a matrix run filling in, the lightbox, a comparison.
            admin.goto("/t/demo/")
            admin.locator("#id_prompt").fill("a paper boat on a puddle, morning light")
            admin.get_by_role("button", name="Matrix run…").click()
            admin.get_by_label("GPT Image 1", exact=True).check()
            admin.get_by_label("Low").check()
            admin.get_by_label("Medium").check()
            admin.get_by_label("High").check()
            admin.get_by_label("1:1", exact=True).check()
            admin.get_by_label("Auto").uncheck()
            expect(admin.get_by_test_id("preview-cell")).to_have_count(6)  # 2 models x 3 qualities
            admin.screenshot(path=OUT / "matrix.png")
            admin.get_by_role("button", name="Generate 6 jobs").click()
            expect(admin.get_by_test_id("run-grid")).to_have_attribute(
                "data-in-flight", "false", timeout=120_000
            )
            admin.screenshot(path=OUT / "matrix-run.png")
            admin.locator("#run-grid a[data-lightbox]").nth(4).click()
            expect(admin.locator("dialog[open]")).to_be_visible()
            admin.wait_for_timeout(400)  # the full image loading; only a picture here
            admin.screenshot(path=OUT / "lightbox.png")
            admin.keyboard.press("Escape")
            ids = admin.locator("#run-grid a[data-lightbox]").evaluate_all(
                "links => links.map(a => a.dataset.imageId)"
            )
            admin.goto(f"/compare/?images={ids[1]},{ids[4]}")
            admin.wait_for_timeout(400)
            admin.screenshot(path=OUT / "compare.png")

            phone = browser.new_context(
                base_url=base,
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
            )
            small = phone.new_page()
            log_in(small, "demo-member")
            small.get_by_role("tab", name="History").click()
            small.screenshot(path=OUT / "phone-history.png")
            browser.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
