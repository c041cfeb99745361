"""ZIP exports of many archived images with their manifest, built in the background.

An export is asked for by one person and belongs to them alone: its manifest carries
prompts, and may carry their own "Only me" jobs, so nobody else (not even a team
admin) sees or downloads it. Which images it holds is decided when it is asked for,
in that person's scope (`ResultImage.objects.visible_to`), and kept as a list of ids; the
build reads them again through the same scope, so an image deleted or hidden in the
meantime is left out rather than leaked.

The row is the truth, as for jobs: a worker claims it by compare-and-set with a lease
and a token of its own (playground/exports/tasks.py), so a task delivered twice builds
once, and a build whose worker died is picked up again once its lease runs out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    SELECTION = "selection", _("selection")
    COLLECTION = "collection", _("collection")
    RUN = "run", _("matrix run")
    HISTORY = "history", _("history")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    # The file was removed after `keep_days()`; the row stays so an old link still
    # says what happened, and the same images can be packed again.
    EXPIRED = "expired", _("Expired")


def keep_days() -> int:
    """How long a built ZIP is kept before the clean-up removes its file."""
    return int(getattr(settings, "PLAYGROUND_EXPORT_KEEP_DAYS", 7))


class Export(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exports"
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    # The collection's or matrix run's id, for the record (the images are in image_ids).
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    # What people read: "Collection “Sunsets”", "History: model gpt-image-2, “fox”".
    description = models.CharField(max_length=300)
    # ResultImage ids, in the order they go into the ZIP, resolved when asked for.
    image_ids = models.JSONField(default=list)

    state = models.CharField(max_length=10, choices=ExportState.choices, default=ExportState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # Images that were in the request but not in the ZIP: deleted or hidden since, or
    # their file missing from storage. The manifest lists them.
    skipped = models.PositiveIntegerField(default=0)
    file = models.FileField(max_length=255, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    # Bookkeeping for the workers (tasks.py): the claim's token, its lease, and how
    # many builds were started (a build whose worker keeps dying ends as failed).
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "lease_until"], name="export_work_idx")]

    def __str__(self) -> str:
        return f"{self.description} ({self.state})"

    @property
    def is_working(self) -> bool:
        return self.state in (ExportState.QUEUED, ExportState.BUILDING)

    @property
    def expires_at(self) -> datetime | None:
        return self.finished_at + timedelta(days=keep_days()) if self.finished_at else None

    @property
    def download_name(self) -> str:
        """a-history-2026-11-22.zip: the team, what it holds, the day it was asked for."""
        day = timezone.localtime(self.created_at).date().isoformat()
        return f"{self.team.slug}-{self.source}-{day}.zip"
