"""The gallery as one person's journey in headless Chromium (live server + a real worker
cluster + the simulator): three images of the studio's history ticked into a new
collection, that collection walked in the lightbox with the arrow keys, two of its
images compared side by side, then a 2 × 3 matrix run (two models × three qualities)
whose grid fills in live, exported as a ZIP whose images and manifests match its jobs.

The database is only written to set up the three finished jobs, and read to check
what the browser did."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from playground.evolink.simulator import Simulator
from playground.gallery.models import Collection
from playground.generations.models import Generation, ResultImage, State
from playground.matrix.models import MatrixRun
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.processes import kill, start_cluster
from tests.test_browser_exports import download_when_ready
from tests.test_browser_gallery import tick
from tests.test_browser_lightbox import lightbox_prompt, three_jobs
from tests.test_browser_team import person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODELS = ("gpt-image-1", "gpt-image-2")
QUALITIES = ("low", "medium", "high")
RUN_PROMPT = "a paper boat on a puddle"
# Long enough that the run page is drawn before any job is done, short enough to be quick.
TASK_SECONDS = 0.8
SLOW = 30_000  # ms: what a worker does (jobs, the ZIP), seen through the page's polling


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = TASK_SECONDS
    process = start_cluster(simulator)
    yield
    kill(process)


def facts(item: Locator, name: str) -> Locator:
    """The value of one of a compared image's facts (its <dd>, by its <dt>)."""
    return item.locator("dt", has_text=re.compile(rf"^{name}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def lightbox_shows(page: Page, image: ResultImage) -> None:
    job = image.generation
    expect(lightbox_prompt(page)).to_have_text(job.prompt)
    expect(page.locator("[data-lightbox-image]")).to_have_attribute(
        "src", f"/generations/{job.public_id}/images/{image.index}"
    )


def test_a_gallery_journey_from_the_history_to_a_zip_of_a_matrix_run(
    browser: Browser, live_server, cluster: None, simulator: Simulator, tmp_path: Path
) -> None:
    fox, heron, whale = three_jobs()
    by_id = {str(image.pk): image for image in (fox, heron, whale)}
    page = person(browser, live_server.url, "lea")
    expect(page).to_have_url(re.compile(r"/t/north/$"))

    # 1. Three images of the history ticked, into a new collection from the bar.
    bar = page.locator("#selection-form")
    expect(bar).to_be_hidden()
    for image in (whale, heron, fox):
        tick(page, image)
    expect(bar).to_contain_text("3 selected")
    bar.get_by_label("Collection", exact=True).select_option(label="New collection…")
    bar.get_by_label("Name of the new collection").fill("Sea and snow")
    bar.get_by_role("button", name="Add to collection").click()
    expect(bar.get_by_test_id("selection-done")).to_contain_text(
        "3 images added to “Sea and snow”."
    )
    expect(page.locator("[data-select-image]:checked")).to_have_count(0)
    bar.get_by_role("link", name="Open “Sea and snow”").click()
    collection = Collection.objects.get(name="Sea and snow")
    expect(page).to_have_url(re.compile(rf"/t/north/collections/{collection.pk}/$"))
    expect(page.get_by_test_id("collection-name")).to_have_text("Sea and snow")
    tiles = page.locator(".collection-grid .tile")
    expect(tiles).to_have_count(3)
    for image in (fox, heron, whale):
        expect(page.locator(f"#image-tile-{image.pk} img")).to_be_visible()
    # The thumbnails themselves arrived, not only their frames.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.collection-grid .tile img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )

    # 2. The lightbox on the collection's first tile; the arrows walk the page's list.
    order = page.locator(".collection-grid a[data-lightbox]").evaluate_all(
        "links => links.map(a => a.dataset.imageId)"
    )
    assert sorted(order) == sorted(by_id)
    first, second, third = (by_id[i] for i in order)
    dialog = page.get_by_test_id("lightbox")
    page.locator(f"#image-tile-{first.pk} a[data-lightbox]").click()
    expect(dialog).to_be_visible()
    lightbox_shows(page, first)
    expect(page.locator("[data-lightbox-counter]")).to_have_text("1 of 3")
    page.keyboard.press("ArrowRight")
    lightbox_shows(page, second)
    expect(page.locator("[data-lightbox-counter]")).to_have_text("2 of 3")
    page.keyboard.press("ArrowRight")
    lightbox_shows(page, third)
    page.keyboard.press("ArrowLeft")
    lightbox_shows(page, second)
    expect(page.locator("[data-lightbox-settings]")).to_contain_text(
        second.generation.quality_label
    )
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/t/north/collections/{collection.pk}/$"))

    # 3. Two of them ticked and compared, side by side, each with its settings.
    tick(page, whale)
    tick(page, fox)
    expect(bar).to_contain_text("2 selected")
    bar.get_by_role("link", name="Compare").click()
    expect(page).to_have_url(re.compile(rf"/compare/\?images={whale.pk},{fox.pk}$"))
    items = page.get_by_test_id("compare-item")
    expect(items).to_have_count(2)
    for item, image in zip((items.nth(0), items.nth(1)), (whale, fox), strict=True):
        job = image.generation
        expect(item.locator(".compare-prompt")).to_have_text(job.prompt)
        expect(facts(item, "Model")).to_have_text(job.model)
        expect(facts(item, "Quality")).to_have_text(job.quality_label)
        expect(facts(item, "Pixels")).to_have_text("60×40 · PNG")
        expect(item.locator("img")).to_have_attribute(
            "src", f"/generations/{job.public_id}/images/0"
        )
    left, right = (items.nth(i).bounding_box() for i in range(2))
    assert left and right
    assert abs(left["y"] - right["y"]) < 1 and right["x"] >= left["x"] + left["width"]

    # 4. A 2 × 3 matrix run from the studio's prompt, filling in live.
    page.get_by_role("link", name="Studio", exact=True).click()
    expect(page).to_have_url(re.compile(r"/t/north/$"))
    page.get_by_label("Prompt").fill(RUN_PROMPT)
    page.get_by_label("Quality").select_option("low")
    page.get_by_role("button", name="Matrix run…").click()
    expect(page).to_have_url(re.compile(r"/t/north/matrix/\?"))
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value(RUN_PROMPT)
    page.get_by_label("GPT Image 1", exact=True).check()
    page.get_by_label("Medium").check()
    page.get_by_label("High").check()
    page.get_by_label("1:1", exact=True).check()  # a size both models make
    page.get_by_label("Auto").uncheck()
    wait_for_htmx(page)
    expect(page.get_by_test_id("matrix-total")).to_contain_text("6 jobs")
    expect(page.get_by_test_id("preview-cell")).to_have_count(6)
    page.get_by_role("button", name="Generate 6 jobs").click()
    expect(page).to_have_url(re.compile(r"/t/north/runs/[0-9a-f-]{36}/$"))
    run_url = page.url

    # From here on the page must change only by itself: a marker on `window` that a
    # reload would wipe, and every navigation of the page counted.
    navigations: list[str] = []
    page.on(
        "framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url)
    )
    page.evaluate("window.__noReload = true")
    grid = page.get_by_test_id("run-grid")
    cells = page.get_by_test_id("run-cell")
    expect(cells).to_have_count(6)
    # Drawn while the jobs were still in flight: what follows is the page filling in.
    expect(grid).to_have_attribute("data-in-flight", "true")
    assert page.locator("#run-grid .tile img").count() < 6
    for index in range(6):
        expect(cells.nth(index)).to_have_attribute("data-state", "completed", timeout=SLOW)
        expect(cells.nth(index).locator(".tile img")).to_be_visible()
    expect(grid).to_have_attribute("data-in-flight", "false")
    expect(page.get_by_test_id("run-counters")).to_contain_text("6 of 6 jobs finished")
    assert page.evaluate("window.__noReload") is True
    assert navigations == []
    assert page.url == run_url

    run = MatrixRun.objects.get()
    jobs = [cell.generation for cell in run.cells.select_related("generation")]
    assert all(job and job.state == State.COMPLETED for job in jobs)
    assert sorted((job.model, job.quality, job.prompt) for job in jobs) == sorted(
        (model, quality, RUN_PROMPT) for model in MODELS for quality in QUALITIES
    )
    assert simulator.request_count("POST /v1/images/generations") == 6

    # 5. The run as a ZIP: the progress page turns into the download link by itself.
    page.locator(".run-actions").get_by_role("button", name="Download as ZIP").click()
    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("export-description")).to_contain_text(RUN_PROMPT)
    path = download_when_ready(page, 6, tmp_path, timeout=SLOW)

    # The cells' jobs, row by row, as the run's page and the export order them.
    expected = [(str(job.public_id), job.model, job.quality, job.prompt) for job in jobs]
    with zipfile.ZipFile(path) as archive:
        rows = json.loads(archive.read("manifest.json"))["images"]
        table = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))
        assert [(r["job_id"], r["model"], r["quality"], r["prompt"]) for r in rows] == expected
        assert [(r["job_id"], r["model"], r["quality"], r["prompt"]) for r in table] == expected
        assert [r["file"] for r in table] == [r["file"] for r in rows]
        images = [r["file"] for r in rows]
        assert sorted(archive.namelist()) == sorted([*images, "manifest.json", "manifest.csv"])
        assert len(set(images)) == 6 and all(name.startswith("images/") for name in images)
        for row in rows:
            stored = Generation.objects.get(public_id=row["job_id"]).images.get()
            with stored.file.open("rb") as original:
                assert archive.read(row["file"]) == original.read()
