"""Building exports in the background (django-q2), and keeping them tidy.

`build(pk)` takes an export id and claims the row by compare-and-set with a lease
(playground/lib/leases.py: the one rule of every lease) under a token of its own: a
second delivery of the same task finds the row taken and does nothing, and every later
write (progress, the result, a failure) is conditional on that token, so a builder that
lost its lease (it stalled past it and another took over) can never overwrite the newer
build. The ZIP is written to a temporary file on disk, each image copied from storage in
1 MB chunks into the archive (stored, not deflated: PNG, JPEG and WEBP do not compress
further) and the manifests written row by row alongside, so the worker's memory stays
flat whatever the number of images; then the file is streamed into the default storage
(local disk or S3).

`maintain()` runs every minute (a django-q2 schedule declared in this app's
apps.py): it re-enqueues an export whose queue message was lost (the Redis
broker drops a task when its worker is killed), picks up a build whose worker died
(its lease lapsed; the ORM broker's redelivery does the same sooner or later, and the
claim lets only one through), gives up after MAX_ATTEMPTS builds, and removes ZIPs
older than `keep_days()`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.exceptions import TimeoutException
from django_q.tasks import async_task

from playground import csvsafe
from playground.exports import manifest
from playground.exports.models import Export, ExportState, keep_days
from playground.generations.models import Generation, ResultImage
from playground.lib import leases

log = logging.getLogger(__name__)

# A builder renews its lease with each progress write (at least every
# PROGRESS_SECONDS), so a lease need only outlast one slow image; a dead builder's
# export is picked up by `maintain()` within a minute of its lease running out.
LEASE = timedelta(seconds=60)
# An export's lease is its `lease_token` (the holder) and `lease_until`. A queued export
# is nobody's yet: there `lease_until` only paces maintain()'s re-sends.
BUILD = leases.Leases(holder="lease_token", until="lease_until")
# How long a queued export waits for its queue message before `maintain()` sends another.
QUEUE_GRACE = timedelta(seconds=60)
MAX_ATTEMPTS = 3
# django-q2 kills a task at the cluster's timeout (120 s); a ZIP of thousands of images
# from S3 may take longer, so the build gets its own. Past the cluster's `retry` (300 s)
# the ORM broker delivers a second copy while the first still runs: the copy finds the
# lease held (renewed every few seconds) and returns at once.
TASK_TIMEOUT_SECONDS = 3600
# Progress is written about twenty times per build (and at least every 5 s), not per image.
PROGRESS_STEPS = 20
PROGRESS_SECONDS = 5.0
CHUNK = 1024 * 1024
UPLOAD_BYTES_PER_SECOND = 2 * 1024 * 1024
# Ids read per query: well under SQLite's parameter limit, a few queries per thousand
# images, and few model instances alive at a time.
BATCH = 200
TEMP_PREFIX = "playground-export-"


class LostLease(Exception):
    """Another builder holds this export now: stop quietly and keep nothing."""


# --- Enqueueing -----------------------------------------------------------------------


def enqueue_build(pk: int) -> None:
    async_task(
        f"{__name__}.build",
        pk,
        task_name=f"export-{pk}-{uuid.uuid4().hex[:6]}",
        timeout=TASK_TIMEOUT_SECONDS,
    )


def queue(export: Export) -> None:
    """Hand a queued export to the workers once the row that says so has committed."""
    pk = export.pk
    transaction.on_commit(lambda: enqueue_build(pk))


def retry(export: Export) -> bool:
    """Queue a failed or expired export again (a person pressed "Try again")."""
    moved = Export.objects.filter(
        pk=export.pk, state__in=(ExportState.FAILED, ExportState.EXPIRED)
    ).update(
        state=ExportState.QUEUED,
        attempts=0,
        done=0,
        skipped=0,
        error="",
        file="",
        bytes=None,
        lease_token="",
        lease_until=timezone.now() + QUEUE_GRACE,
        started_at=None,
        finished_at=None,
    )
    if moved:
        queue(export)
    return bool(moved)


# --- Building -------------------------------------------------------------------------


def build(pk: int) -> str:
    """Build export `pk` into a ZIP in storage. Safe to run twice: one claim wins."""
    token = leases.new_holder()
    fresh = {
        "state": ExportState.BUILDING,
        "attempts": F("attempts") + 1,
        "done": 0,
        "skipped": 0,
        "error": "",
        "started_at": timezone.now(),
    }
    # A queued export is claimed by its state; a build whose builder's lease lapsed
    # (it died) is taken over, up to MAX_ATTEMPTS builds.
    claimed = BUILD.claim(
        Export.objects.filter(pk=pk, state=ExportState.QUEUED), token, LEASE, **fresh
    ) or BUILD.take(
        Export.objects.filter(pk=pk, state=ExportState.BUILDING, attempts__lt=MAX_ATTEMPTS),
        token,
        LEASE,
        **fresh,
    )
    if not claimed:
        return "not claimed"
    export = Export.objects.select_related("team", "requested_by").get(pk=pk)
    stored = ""
    try:
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as folder:
            path = Path(folder) / "export.zip"
            written = write_zip(export, token, path)
            size = path.stat().st_size
            # No progress writes during the upload: hold the lease for as long as a slow
            # store (2 MB/s) needs for this size.
            _renew(pk, token, LEASE + timedelta(seconds=size / UPLOAD_BYTES_PER_SECOND))
            with path.open("rb") as handle:
                # Streamed: FileSystemStorage copies in chunks, S3 uploads in parts.
                stored = default_storage.save(
                    f"exports/{export.public_id}/{token}.zip", File(handle)
                )
    except LostLease:
        return "lost its lease"
    except TimeoutException:
        _fail(pk, token, _timeout_message())
        raise  # django-q2 replaces the worker process
    except Exception as error:
        log.exception("export %s failed", pk)
        _fail(pk, token, _failed_message(error))
        return "failed"
    finished = BUILD.release(
        Export.objects.filter(pk=pk, state=ExportState.BUILDING),
        token,
        state=ExportState.READY,
        file=stored,
        bytes=size,
        done=written,
        skipped=export.total - written,
        finished_at=timezone.now(),
    )
    if not finished:
        default_storage.delete(stored)
        return "lost its lease"
    return "ready"


def _renew(pk: int, token: str, lease: timedelta, **changes: Any) -> None:
    building = Export.objects.filter(pk=pk, state=ExportState.BUILDING)
    if not BUILD.renew(building, token, lease, **changes):
        raise LostLease


class Progress:
    """Writes `done` now and then, renewing the lease; raises LostLease if it is gone."""

    def __init__(self, pk: int, token: str, total: int) -> None:
        self.pk, self.token = pk, token
        self.every = max(1, math.ceil(total / PROGRESS_STEPS))
        self.written, self.at = 0, time.monotonic()
        self.updates = 0

    def __call__(self, done: int) -> None:
        if done - self.written < self.every and time.monotonic() - self.at < PROGRESS_SECONDS:
            return
        _renew(self.pk, self.token, LEASE, done=done)
        self.written, self.at = done, time.monotonic()
        self.updates += 1


def write_zip(export: Export, token: str, path: Path) -> int:
    """Write the images and both manifests into the ZIP at `path`; the images written."""
    folder = path.parent
    user, team = export.requested_by, export.team
    scope = manifest.with_lineage(ResultImage.objects.visible_to(user, team))
    progress = Progress(export.pk, token, export.total)
    written, seen = 0, 0
    left_out: list[dict[str, Any]] = []
    masks_written: set[str] = set()  # a job's mask goes in once, whatever its images
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        json_path, csv_path = folder / "manifest.json", folder / "manifest.csv"
        with (
            json_path.open("w", encoding="utf-8") as as_json,
            csv_path.open("w", encoding="utf-8", newline="") as as_csv,
        ):
            table = csvsafe.writer(as_csv)  # no cell a spreadsheet would run
            table.writerow(manifest.COLUMNS)
            as_json.write('{\n"export": ' + json.dumps(_header(export), ensure_ascii=False))
            as_json.write(',\n"images": [')
            for start in range(0, len(export.image_ids), BATCH):
                chunk = export.image_ids[start : start + BATCH]
                found = {image.pk: image for image in scope.filter(pk__in=chunk)}
                visible = manifest.visible_job_ids(user, found.values())
                for image_id in chunk:
                    seen += 1
                    image = found.get(image_id)
                    if image is None:
                        left_out.append({"image_id": image_id, "reason": "deleted or hidden"})
                    else:
                        name = manifest.file_name(image)
                        if _copy(archive, image, name):
                            entry = manifest.row(image, name, visible)
                            as_json.write(
                                ("\n" if not written else ",\n")
                                + json.dumps(entry, ensure_ascii=False)
                            )
                            table.writerow(manifest.csv_row(entry))
                            written += 1
                            mask = entry["mask"]
                            if mask and mask["file"] not in masks_written:
                                masks_written.add(mask["file"])
                                _copy_mask(archive, image.generation, mask["file"])
                        else:
                            left_out.append({"image_id": image_id, "reason": "file missing"})
                    progress(seen)
                # A batch's rows hold reference cycles (a prefetched reference points
                # back at its job), which Python frees only at a full collection, and
                # that comes rarely: without this, memory grew ~5 KB per image.
                del found, visible
                gc.collect()
            as_json.write(f'\n],\n"images_included": {written},\n"left_out": ')
            as_json.write(json.dumps(left_out) + "\n}\n")
        # Text compresses well, unlike the images: the manifests are deflated.
        archive.write(json_path, "manifest.json", compress_type=zipfile.ZIP_DEFLATED)
        archive.write(csv_path, "manifest.csv", compress_type=zipfile.ZIP_DEFLATED)
    return written


def _copy(archive: zipfile.ZipFile, image: ResultImage, name: str) -> bool:
    """Copy one image from storage into the archive in chunks; False if its file is gone."""
    return _copy_file(archive, image.file.name, image.bytes, image.created_at, name)


def _copy_mask(archive: zipfile.ZipFile, job: Generation, name: str) -> bool:
    """The job's mask (the PNG we sent), once per job; False if it is gone."""
    # The links were prefetched with their masks (manifest.with_lineage).
    mask = next((link.mask for link in job.references.all() if link.mask is not None), None)
    if mask is None:
        return False
    return _copy_file(archive, mask.file.name, mask.bytes, mask.uploaded_at, name)


def _copy_file(archive: zipfile.ZipFile, stored: str, size: int, when: datetime, name: str) -> bool:
    try:
        source = default_storage.open(stored, "rb")
    except FileNotFoundError:
        log.warning("export: no file %s for %s", stored, name)
        return False
    stamp = timezone.localtime(when).timetuple()[:6]
    info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16  # readable files once unpacked
    info.file_size = size  # lets zipfile decide on ZIP64 up front
    with source, archive.open(info, "w") as target:
        shutil.copyfileobj(source, target, CHUNK)
    return True


def _header(export: Export) -> dict[str, Any]:
    return {
        "id": str(export.public_id),
        "team": export.team.name,
        "team_slug": export.team.slug,
        "source": export.source,
        "description": export.description,
        "requested_by": export.requested_by.get_username(),
        "requested_at": export.created_at.isoformat(),
        "built_at": timezone.now().isoformat(),
        "images_requested": export.total,
    }


def _fail(pk: int, token: str, message: str) -> bool:
    """End the build as failed if `token` still holds it (maintain() passes a dead
    builder's token: it ends the build only if nobody took it over since)."""
    return BUILD.release(
        Export.objects.filter(pk=pk, state=ExportState.BUILDING),
        token,
        state=ExportState.FAILED,
        error=message,
        finished_at=timezone.now(),
    )


def _failed_message(error: Exception) -> str:
    reason = f"{type(error).__name__}: {error}"[:300]
    return _(
        "The ZIP could not be built (%(reason)s). Nothing was changed: press “Try again”, "
        "and tell your team admin if it fails again."
    ) % {"reason": reason}


def _timeout_message() -> str:
    return _(
        "Building the ZIP took longer than %(minutes)d minutes, so it was stopped. Try "
        "again, or export fewer images at a time (a narrower filter)."
    ) % {"minutes": TASK_TIMEOUT_SECONDS // 60}


def _gave_up_message() -> str:
    return _(
        "The worker building this ZIP stopped %(count)d times before it was done. Try "
        "again, and tell your team admin if it fails again."
    ) % {"count": MAX_ATTEMPTS}


# --- Keeping things tidy ----------------------------------------------------------------


def maintain() -> dict[str, int]:
    """Every minute: lost queue messages, dead builders, and ZIPs past their time."""
    now = timezone.now()
    counts = {"queued": 0, "resumed": 0, "gave_up": 0, "expired": 0}
    for pk in Export.objects.filter(state=ExportState.QUEUED, lease_until__lt=now).values_list(
        "pk", flat=True
    )[:200]:
        # Conditional, so two overlapping passes send one message, not two.
        if Export.objects.filter(pk=pk, state=ExportState.QUEUED, lease_until__lt=now).update(
            lease_until=now + QUEUE_GRACE
        ):
            enqueue_build(pk)
            counts["queued"] += 1
    for pk, attempts, token in Export.objects.filter(
        BUILD.free(now), state=ExportState.BUILDING
    ).values_list("pk", "attempts", "lease_token")[:200]:
        if attempts >= MAX_ATTEMPTS:
            counts["gave_up"] += _fail(pk, token, _gave_up_message())
        else:
            enqueue_build(pk)  # its claim takes the lapsed lease over
            counts["resumed"] += 1
    counts["expired"] = expire(now - timedelta(days=keep_days()))
    _sweep_temporary_files(now)
    return counts


def expire(before: datetime) -> int:
    """Remove the ZIPs of exports finished before `before`; their rows say "expired"."""
    count = 0
    for pk, public_id in Export.objects.filter(
        state__in=(ExportState.READY, ExportState.FAILED), finished_at__lt=before
    ).values_list("pk", "public_id")[:500]:
        moved = Export.objects.filter(
            pk=pk, state__in=(ExportState.READY, ExportState.FAILED), finished_at__lt=before
        ).update(state=ExportState.EXPIRED, file="", bytes=None)
        if moved:
            _delete_files(public_id)
            count += 1
    return count


def _delete_files(public_id: uuid.UUID) -> None:
    """Every file under the export's folder: its ZIP, and any a dead builder stored."""
    folder = f"exports/{public_id}"
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    # On local disk the empty folder goes too (object stores have no folders).
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(folder))


def _sweep_temporary_files(now: datetime) -> None:
    """A builder killed mid-build leaves its temporary folder behind: remove those a day old."""
    cutoff = now.timestamp() - 86400
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
