"""The mask of an edit: the region of a reference image gpt-image-2 may change.

A mask is a PNG the size of the reference it was painted on, transparent where the
image should change (EvoLink's reference, August 2026: `mask_url`). It is uploaded
before the job exists, as references are, and checked and re-encoded by
mask_uploads.py. The job records it on the link to the reference it belongs to
(`GenerationReference.mask`): that reference is sent first, since EvoLink matches the
mask against the first image.

Django finds the model through models.py, which imports it (it belongs to the same
app); import it from `playground.generations.models`, as every model.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


def mask_upload_to(instance: MaskImage, filename: str) -> str:
    return f"masks/{filename}"


class MaskImage(models.Model):
    """One checked mask, stored as the PNG we wrote (alpha channel only, no metadata),
    under a random name. Jobs made from a job ("Re-run", "Reuse settings") share it;
    it is deleted with the last job that uses it, or a day after its upload if no job
    ever did."""

    file = models.FileField(upload_to=mask_upload_to, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"mask {self.pk} ({self.width}×{self.height})"

    @property
    def size_label(self) -> str:
        return f"{self.width}×{self.height}"
