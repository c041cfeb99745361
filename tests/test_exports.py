"""Download as ZIP: a selection, a collection, a matrix run or the filtered history
becomes a ZIP of the archived images with a manifest that matches the jobs, built in
the background by a task that is safe to run twice, for the person who asked only."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.exports import tasks
from playground.exports.models import Export, ExportState
from playground.gallery.models import Collection, CollectionItem
from playground.generations import references
from playground.generations.jobs import save_result
from playground.generations.models import (
    Derivation,
    Generation,
    GenerationReference,
    ResultImage,
    State,
)
from playground.generations.spend import charge_of
from playground.matrix.models import MatrixCell, MatrixRun
from playground.teams.models import Team
from tests.conftest import logged_in, member
from tests.factories import make_generation, png_bytes
from tests.queue import drain, queued_tasks

pytestmark = pytest.mark.django_db


def archived(owner: User, images: int = 1, **fields: Any) -> Generation:
    """A completed job with real archived images (distinct pictures of a few KB)."""
    fields.setdefault("state", State.COMPLETED)
    fields.setdefault("finished_at", timezone.now())
    job = make_generation(owner, n=images, **fields)
    for index in range(images):
        save_result(job, index, png_bytes(40 + index, 30, ("teal", "orange", "navy")[index % 3]))
    return job


def ask(client: Client, capture: Any, data: dict[str, Any], team: str = "a") -> Any:
    with capture(execute=True):
        return client.post(f"/t/{team}/exports/", data)


def exported(client: Client, capture: Any, data: dict[str, Any]) -> Export:
    """Ask for an export, run what was enqueued, and return the export."""
    response = ask(client, capture, data)
    assert response.status_code == 302, response.content[:300]
    export = Export.objects.latest("id")
    assert response["Location"] == f"/exports/{export.public_id}/"
    assert drain() == ["build"]
    export.refresh_from_db()
    return export


def download(client: Client, export: Export) -> zipfile.ZipFile:
    response = client.get(f"/exports/{export.public_id}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def manifest_of(archive: zipfile.ZipFile) -> tuple[dict[str, Any], list[dict[str, str]]]:
    as_json = json.loads(archive.read("manifest.json"))
    as_csv = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))
    return as_json, as_csv


def selection(*images: ResultImage) -> dict[str, Any]:
    return {"source": "selection", "image": [image.pk for image in images]}


# --- What goes in, and a manifest that matches the jobs ---------------------------------


def test_a_selection_becomes_a_zip_whose_manifest_matches_the_jobs(
    alice: User, bob: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # bob's job, charged; alice edits it (reserved); alice uses it as a reference
    # (estimated only); alice re-runs a job of bob's that is "Only me" (not hers to see).
    original = archived(
        bob,
        prompt="a fox in the snow",
        quality="high",
        estimated_credits=Decimal("3.10000"),
        credits_charged=Decimal("3.20000"),
    )
    edit = archived(
        alice,
        images=2,
        prompt="the fox, but red",
        model="gpt-image-1.5",
        size="1024x1536",
        estimated_credits=Decimal("8.00000"),
        credits_reserved=Decimal("8.50000"),
        parent=original,
        parent_relation=Derivation.EDIT,
    )
    with_reference = archived(
        alice,
        prompt="ünïcode, “quotes”, and a comma",
        size="16:9",
        resolution="2K",
        estimated_credits=Decimal("1.25000"),
    )
    reference = references.store_bytes(png_bytes(12, 12, "red"), "ref.png")
    GenerationReference.objects.create(
        generation=with_reference, reference=reference, position=0, source=original
    )
    hidden = archived(bob, prompt="bob only", private=True)
    rerun = archived(alice, prompt="again", parent=hidden, parent_relation=Derivation.RERUN)
    chosen = [
        edit.images.get(index=1),
        original.images.get(),
        edit.images.get(index=0),
        with_reference.images.get(),
        rerun.images.get(),
    ]

    export = exported(alice_client, django_capture_on_commit_callbacks, selection(*chosen))

    assert export.state == ExportState.READY and export.error == ""
    assert (export.total, export.done, export.skipped) == (5, 5, 0)
    assert export.description == "Selection of 5 images"
    archive = download(alice_client, export)
    assert archive.testzip() is None
    as_json, as_csv = manifest_of(archive)
    assert as_json["export"]["requested_by"] == "alice"
    assert as_json["export"]["source"] == "selection"
    assert as_json["images_included"] == 5 and as_json["left_out"] == []
    rows = as_json["images"]
    # In the order chosen; each file is the archived image, byte for byte, stored as is.
    assert [row["file"] for row in rows] == [
        f"images/gpt-image-1.5-{edit.number}-2.png",
        f"images/gpt-image-2-{original.number}-1.png",
        f"images/gpt-image-1.5-{edit.number}-1.png",
        f"images/gpt-image-2-{with_reference.number}-1.png",
        f"images/gpt-image-2-{rerun.number}-1.png",
    ]
    for image, row in zip(chosen, rows, strict=True):
        info = archive.getinfo(row["file"])
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(row["file"]) == image.file.open("rb").read()
        job = Generation.objects.get(pk=image.generation_id)
        charge = charge_of(job)
        assert row == row | {
            "job_number": job.number,
            "job_id": str(job.public_id),
            "prompt": job.prompt,
            "model": job.model,
            "size": job.size,
            "resolution": job.resolution,
            "quality": job.quality,
            "n": job.n,
            "image_index": image.index + 1,
            "width": image.width,
            "height": image.height,
            "format": "PNG",
            "bytes": image.bytes,
            "made_by": job.owner.username,
            "only_me": job.private,
            "state": "completed",
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat(),
            "estimated_credits": str(job.estimated_credits),
            "charged_credits": str(charge.credits),
            "charge_basis": charge.kind,
        }
    assert [(r["charged_credits"], r["charge_basis"]) for r in rows[:4]] == [
        ("8.50000", "reserved"),
        ("3.20000", "charged"),
        ("8.50000", "reserved"),
        ("1.25000", "estimated"),
    ]
    # Lineage: the parent and the references' source jobs; a job alice may not see is
    # named by its relation only.
    assert rows[0]["parent"] == {
        "relation": "edit",
        "job_number": original.number,
        "job_id": str(original.public_id),
    }
    assert rows[1]["parent"] is None and rows[1]["references"] == []
    assert rows[3]["references"] == [
        {
            "position": 1,
            "source": {"job_number": original.number, "job_id": str(original.public_id)},
        }
    ]
    assert rows[4]["parent"] == {
        "relation": "rerun",
        "job_number": None,
        "job_id": None,
        "note": "not visible to you",
    }
    assert "bob only" not in archive.read("manifest.json").decode()
    # The CSV says the same, flattened.
    assert [r["file"] for r in as_csv] == [r["file"] for r in rows]
    assert as_csv[3]["prompt"] == "ünïcode, “quotes”, and a comma"
    assert as_csv[0]["parent_relation"] == "edit"
    assert as_csv[0]["parent_job_id"] == str(original.public_id)
    assert as_csv[3]["reference_source_jobs"] == f"#{original.number} {original.public_id}"
    assert as_csv[4]["parent_relation"] == "rerun" and as_csv[4]["parent_job_id"] == ""
    assert as_csv[1]["charged_credits"] == "3.20000" and as_csv[1]["charge_basis"] == "charged"
    assert as_csv[0]["made_by"] == "alice" and as_csv[1]["made_by"] == "bob"
    assert as_csv[0]["only_me"] == "false"


def test_a_collection_exports_what_the_requester_may_see_of_it(
    team_a: Team,
    alice: User,
    bob: User,
    bob_client: Client,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    shared = archived(alice, prompt="sunset over the sea")
    private = archived(alice, prompt="my secret sunset", private=True)
    later = archived(bob, prompt="sunset, later")
    sunsets = Collection.objects.create(team=team_a, name="Sunsets", created_by=alice)
    for job in (later, shared, private):
        CollectionItem.objects.create(collection=sunsets, image=job.images.get(), added_by=alice)
    data = {"source": "collection", "source_id": sunsets.pk}

    # bob sees the collection without alice's "Only me" image: his ZIP does too.
    export = exported(bob_client, django_capture_on_commit_callbacks, data)
    assert export.description == "Collection “Sunsets”"
    rows = manifest_of(download(bob_client, export))[0]["images"]
    assert [r["prompt"] for r in rows] == ["sunset, later", "sunset over the sea"]
    # alice sees all three, in the order they were added.
    export = exported(alice_client, django_capture_on_commit_callbacks, data)
    rows = manifest_of(download(alice_client, export))[0]["images"]
    assert [r["prompt"] for r in rows] == [
        "sunset, later",
        "sunset over the sea",
        "my secret sunset",
    ]
    assert rows[2]["only_me"] is True


def test_the_history_export_takes_every_page_of_the_filtered_history(
    alice: User,
    bob: User,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # 23 matching jobs: more than a page of the history (20).
    foxes = [archived(bob, prompt=f"a red fox {i}") for i in range(22)]
    foxes.append(archived(alice, images=2, prompt="fox and owl"))
    archived(bob, prompt="a fox", model="gpt-image-1")  # another model
    archived(bob, prompt="an owl")  # other words
    make_generation(bob, prompt="a fox still running", state=State.RUNNING)  # no image yet
    archived(bob, prompt="a fox only bob sees", private=True)

    studio = alice_client.get("/t/a/?model_filter=gpt-image-2&q=fox").content.decode()
    # The history bar carries the filters, not the page: the button posts them.
    assert 'name="source" value="history"' in studio
    assert 'name="model_filter" value="gpt-image-2"' in studio
    assert 'name="q" value="fox"' in studio

    export = exported(
        alice_client,
        django_capture_on_commit_callbacks,
        {"source": "history", "model_filter": "gpt-image-2", "q": "fox", "before": "999999"},
    )
    assert export.description == "History: model gpt-image-2, “fox”"
    assert export.total == 24 and export.done == 24
    rows = manifest_of(download(alice_client, export))[0]["images"]
    # Newest job first, as the history shows them.
    assert [r["prompt"] for r in rows[:2]] == ["fox and owl", "fox and owl"]
    assert {r["prompt"] for r in rows} == {j.prompt for j in foxes}

    # A member filter, and "Mine".
    export = exported(
        alice_client,
        django_capture_on_commit_callbacks,
        {"source": "history", "member": "bob", "q": "red fox 1"},
    )
    assert export.description == "History: member bob, “red fox 1”"
    assert export.total == 12  # "red fox 1", "red fox 10" … "19" and "21"
    export = exported(
        alice_client, django_capture_on_commit_callbacks, {"source": "history", "view": "mine"}
    )
    assert export.description == "History: my jobs" and export.total == 2


def test_a_matrix_run_exports_its_cells_row_by_row(
    team_a: Team,
    team_b: Team,
    alice: User,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = MatrixRun.objects.create(
        team=team_a, created_by=alice, text="a lighthouse at dusk", client_token=uuid.uuid4()
    )
    cells = {}
    for row, model in enumerate(("gpt-image-1", "gpt-image-2")):
        for column, quality in enumerate(("low", "high")):
            job = archived(alice, prompt="a lighthouse at dusk", model=model, quality=quality)
            cells[row, column] = job
            MatrixCell.objects.create(
                run=run,
                generation=job,
                row=row,
                column=column,
                row_label=model,
                column_label=quality,
            )
    MatrixCell.objects.create(
        run=run, row=2, column=0, row_label="x", column_label="y", note="not made"
    )

    export = exported(
        alice_client, django_capture_on_commit_callbacks, {"source": "run", "source_id": run.pk}
    )
    assert export.description == "Matrix run “a lighthouse at dusk”"
    rows = manifest_of(download(alice_client, export))[0]["images"]
    assert [(r["model"], r["quality"]) for r in rows] == [
        ("gpt-image-1", "low"),
        ("gpt-image-1", "high"),
        ("gpt-image-2", "low"),
        ("gpt-image-2", "high"),
    ]
    # Another team's run is not found, by its id or by its public id.
    charlie = member("charlie", team_b)
    other = MatrixRun.objects.create(
        team=team_b, created_by=charlie, text="b", client_token=uuid.uuid4()
    )
    for value in (other.pk, other.public_id):
        response = ask(
            alice_client, django_capture_on_commit_callbacks, {"source": "run", "source_id": value}
        )
        assert response.status_code == 404


# --- Access: nothing of another team, nothing hidden, nobody else's export ------------


def test_nothing_of_another_team_can_be_exported(
    team_a: Team,
    team_b: Team,
    alice: User,
    charlie_client: Client,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = archived(alice, prompt="team A only")
    collection = Collection.objects.create(team=team_a, name="A's")
    CollectionItem.objects.create(collection=collection, image=job.images.get())
    charlie_b = archived(User.objects.get(username="charlie"), prompt="team B's")
    attempts = [
        ("b", selection(job.images.get())),
        ("b", selection(charlie_b.images.get(), job.images.get())),
        ("a", selection(job.images.get())),
        ("b", {"source": "collection", "source_id": collection.pk}),
        ("a", {"source": "collection", "source_id": collection.pk}),
        ("a", {"source": "history"}),
    ]
    for team, data in attempts:
        with django_capture_on_commit_callbacks(execute=True):
            response = charlie_client.post(f"/t/{team}/exports/", data)
        assert response.status_code == 404, (team, data)
    # alice, in her own team, may not slip in team B's image either.
    response = ask(
        alice_client,
        django_capture_on_commit_callbacks,
        selection(job.images.get(), charlie_b.images.get()),
    )
    assert response.status_code == 404
    assert not Export.objects.exists() and queued_tasks() == []


def test_a_colleagues_only_me_image_is_not_exported_for_someone_else(
    alice: User, bob_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    shared = archived(alice, prompt="shared")
    private = archived(alice, prompt="only me", private=True)
    response = ask(
        bob_client,
        django_capture_on_commit_callbacks,
        selection(shared.images.get(), private.images.get()),
    )
    assert response.status_code == 404
    assert not Export.objects.exists()
    # The history export leaves it out: it is not in bob's history.
    export = exported(bob_client, django_capture_on_commit_callbacks, {"source": "history"})
    assert export.total == 1
    assert "only me" not in download(bob_client, export).read("manifest.json").decode()


def test_only_the_requester_sees_and_downloads_an_export(
    alice: User,
    ada: User,
    alice_client: Client,
    bob_client: Client,
    charlie_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = archived(alice)
    export = exported(alice_client, django_capture_on_commit_callbacks, selection(job.images.get()))
    for client in (bob_client, logged_in(ada), charlie_client):
        assert client.get(f"/exports/{export.public_id}/").status_code == 404
        assert client.get(f"/exports/{export.public_id}/download").status_code == 404
        assert client.post(f"/exports/{export.public_id}/retry").status_code == 404
    response = alice_client.get(f"/exports/{export.public_id}/download")
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="a-selection-{day}.zip"'
    assert response["Cache-Control"] == "private, no-store"


def test_an_image_deleted_after_the_request_is_left_out_and_said_so(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    kept, gone = archived(alice, prompt="kept"), archived(alice, prompt="gone")
    response = ask(
        alice_client,
        django_capture_on_commit_callbacks,
        selection(kept.images.get(), gone.images.get()),
    )
    assert response.status_code == 302
    gone.delete_with_files()
    drain()
    export = Export.objects.get()
    assert (export.state, export.total, export.done, export.skipped) == ("ready", 2, 1, 1)
    as_json, _as_csv = manifest_of(download(alice_client, export))
    assert [r["prompt"] for r in as_json["images"]] == ["kept"]
    assert as_json["left_out"] == [{"image_id": export.image_ids[1], "reason": "deleted or hidden"}]
    page = alice_client.get(f"/exports/{export.public_id}/").content.decode()
    assert "1 image was deleted or hidden since you asked" in page


# --- Nothing to export, too much, twice ---------------------------------------------------


def test_nothing_to_export_says_so_on_the_page(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    archived(alice, prompt="an owl")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/t/a/exports/",
            {"source": "history", "q": "zebra"},
            HTTP_REFERER="http://testserver/t/a/?q=zebra",
            follow=True,
        )
    assert response.redirect_chain[-1][0] == "http://testserver/t/a/?q=zebra"
    assert "No job of this view has an archived image yet: nothing to download." in (
        response.content.decode()
    )
    response = alice_client.post("/t/a/exports/", {"source": "selection"}, follow=True)
    assert "Tick at least one image to download it as a ZIP." in response.content.decode()
    assert not Export.objects.exists() and queued_tasks() == []
    assert alice_client.post("/t/a/exports/", {"source": "everything"}).status_code == 400


def test_a_double_click_makes_one_export(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = archived(alice)
    first = ask(alice_client, django_capture_on_commit_callbacks, selection(job.images.get()))
    second = ask(alice_client, django_capture_on_commit_callbacks, selection(job.images.get()))
    assert first["Location"] == second["Location"]
    assert Export.objects.count() == 1 and len(queued_tasks()) == 1


def queued_export(owner: User, *jobs: Generation) -> Export:
    ids = [image.pk for job in jobs for image in job.images.all()]
    return Export.objects.create(
        team=jobs[0].team,
        requested_by=owner,
        source="selection",
        description="test",
        image_ids=ids,
        total=len(ids),
    )


# --- The page ---------------------------------------------------------------------------


def test_the_page_shows_progress_while_building_then_the_download_link(
    alice: User, alice_client: Client
) -> None:
    export = queued_export(alice, archived(alice))
    url = f"/exports/{export.public_id}/"
    page = alice_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Waiting for a worker to pack 1 image" in page
    Export.objects.filter(pk=export.pk).update(state="building", total=1000, done=312)
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="export-status"')
    assert '<progress max="1000" value="312"' in fragment
    assert "312 of 1,000 images" in fragment and 'hx-trigger="every 1s"' in fragment
    Export.objects.filter(pk=export.pk).update(state="queued", total=1, done=0)
    tasks.build(export.pk)
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment  # finished: the polling stops by itself
    assert f'href="/exports/{export.public_id}/download"' in fragment
    assert "Ready: 1 image," in fragment
