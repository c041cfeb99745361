"""Building exports: a task that is safe to run twice, that a builder which lost its
lease cannot spoil, that is picked up again after its worker died, that fails with a
message and can be tried again, that writes its progress now and then, that removes old
ZIPs, and that works on object storage as on local disk."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.exports import tasks
from playground.exports.models import Export
from playground.generations.models import ResultImage, State
from tests.factories import make_generation
from tests.queue import drain
from tests.test_exports import archived, download, exported, queued_export, selection
from tests.test_s3 import s3, s3_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def stored_exports() -> list[str]:
    try:
        folders, _files = default_storage.listdir("exports")
    except FileNotFoundError:
        return []
    return [f for d in folders for f in default_storage.listdir(f"exports/{d}")[1]]


def test_the_build_is_safe_to_run_twice(alice: User) -> None:
    export = queued_export(alice, archived(alice, images=2))
    assert tasks.build(export.pk) == "ready"
    assert tasks.build(export.pk) == "not claimed"
    export.refresh_from_db()
    assert export.attempts == 1 and export.state == "ready"
    assert len(stored_exports()) == 1


def test_a_builder_that_lost_its_lease_keeps_nothing(alice: User, monkeypatch: Any) -> None:
    """A builder stalled past its lease while another took over: the first stops at its
    next progress write, and the newer build's row is untouched."""
    export = queued_export(alice, archived(alice, images=3))
    monkeypatch.setattr(tasks, "PROGRESS_STEPS", 3)  # a progress write after each image
    real_copy = tasks._copy

    def copy_then_lose_the_lease(*args: Any) -> bool:
        Export.objects.filter(pk=export.pk).update(lease_token="another-builder")
        return real_copy(*args)

    monkeypatch.setattr(tasks, "_copy", copy_then_lose_the_lease)
    assert tasks.build(export.pk) == "lost its lease"
    export.refresh_from_db()
    assert export.state == "building" and export.lease_token == "another-builder"
    assert stored_exports() == []


def test_a_build_whose_worker_died_is_picked_up_again(alice: User) -> None:
    export = queued_export(alice, archived(alice))
    # As a SIGKILLed builder leaves it: claimed, its lease running.
    Export.objects.filter(pk=export.pk).update(
        state="building",
        attempts=1,
        lease_token="dead",
        lease_until=timezone.now() + timedelta(seconds=30),
    )
    assert tasks.build(export.pk) == "not claimed"  # a copy while the lease runs
    assert tasks.maintain()["resumed"] == 0
    Export.objects.filter(pk=export.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert tasks.maintain()["resumed"] == 1
    assert drain() == ["build"]
    export.refresh_from_db()
    assert export.state == "ready" and export.attempts == 2


def test_a_build_that_keeps_dying_ends_as_failed(alice: User, alice_client: Client) -> None:
    export = queued_export(alice, archived(alice))
    Export.objects.filter(pk=export.pk).update(
        state="building",
        attempts=tasks.MAX_ATTEMPTS,
        lease_token="dead",
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert tasks.build(export.pk) == "not claimed"
    assert tasks.maintain()["gave_up"] == 1
    page = alice_client.get(f"/exports/{export.public_id}/").content.decode()
    assert "The worker building this ZIP stopped 3 times before it was done." in page


def test_a_lost_queue_message_is_sent_again(alice: User) -> None:
    export = queued_export(alice, archived(alice))
    Export.objects.filter(pk=export.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert tasks.maintain()["queued"] == 1
    assert tasks.maintain()["queued"] == 0  # one message per grace period
    assert drain() == ["build"]
    assert Export.objects.get().state == "ready"


def test_a_failed_build_shows_its_error_and_can_be_tried_again(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    job = archived(alice)

    def full(*args: Any, **kwargs: Any) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full)
    export = exported(alice_client, django_capture_on_commit_callbacks, selection(job.images.get()))
    assert export.state == "failed"
    page = alice_client.get(f"/exports/{export.public_id}/").content.decode()
    assert "The ZIP could not be built (OSError: [Errno 28] No space left on device)" in page
    # The status element stops polling (its own tag: the page's comments poller,
    # templates/comments/_live.html, is on every page and asks only when a thread is shown).
    status_tag = page.split('id="export-status"')[1].split(">")[0]
    assert "Try again" in page and "hx-trigger" not in status_tag
    # The download link is not offered, and the file URL leads back to the page.
    response = alice_client.get(f"/exports/{export.public_id}/download")
    assert response.status_code == 302
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/exports/{export.public_id}/retry")
    assert response["Location"] == f"/exports/{export.public_id}/"
    assert drain() == ["build"]
    export.refresh_from_db()
    assert export.state == "ready" and export.error == "" and export.attempts == 1
    assert download(alice_client, export).testzip() is None


def test_progress_is_written_a_few_times_not_once_per_image(alice: User) -> None:
    job = archived(alice)
    image = job.images.get()
    # 120 rows sharing one real file: the build copies it 120 times.
    extra = make_generation(alice, state=State.COMPLETED, n=120)
    ResultImage.objects.bulk_create(
        ResultImage(
            generation=extra,
            index=i,
            file=image.file.name,
            thumbnail=image.thumbnail.name,
            format="PNG",
            width=image.width,
            height=image.height,
            bytes=image.bytes,
        )
        for i in range(120)
    )
    export = queued_export(alice, extra)
    with CaptureQueriesContext(connection) as queries:
        assert tasks.build(export.pk) == "ready"
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "exports_export"')]
    # The claim, about twenty progress writes, the result.
    assert 3 <= len(updates) <= tasks.PROGRESS_STEPS + 3, len(updates)
    assert len(download_names(export)) == 122


def download_names(export: Export) -> list[str]:
    export.refresh_from_db()
    with export.file.open("rb") as f, zipfile.ZipFile(f) as archive:
        return archive.namelist()


def test_old_zips_are_removed_and_can_be_built_again(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    export = queued_export(alice, archived(alice))
    tasks.build(export.pk)
    Export.objects.filter(pk=export.pk).update(finished_at=timezone.now() - timedelta(days=8))
    fresh = queued_export(alice, archived(alice))
    tasks.build(fresh.pk)
    assert tasks.maintain()["expired"] == 1
    export.refresh_from_db()
    assert export.state == "expired" and not export.file
    assert len(stored_exports()) == 1  # the fresh one's
    page = alice_client.get(f"/exports/{export.public_id}/").content.decode()
    assert "This ZIP was removed 7 days after it was built." in page
    assert alice_client.get(f"/exports/{export.public_id}/download").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/exports/{export.public_id}/retry")
    drain()
    assert Export.objects.get(pk=export.pk).state == "ready"


@pytest.mark.usefixtures("s3")
def test_exports_work_on_object_storage(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = archived(alice, images=2, prompt="kept in a bucket")
    assert "S3" in type(default_storage._wrapped).__name__
    export = exported(
        alice_client, django_capture_on_commit_callbacks, selection(*job.images.all())
    )
    assert export.state == "ready", export.error
    assert stored_exports() == [export.file.name.rsplit("/", 1)[-1]]
    archive = download(alice_client, export)
    assert len(archive.namelist()) == 4 and archive.testzip() is None
    Export.objects.filter(pk=export.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert tasks.maintain()["expired"] == 1
    assert stored_exports() == []
