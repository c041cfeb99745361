"""Review statuses of a team's images: none → needs review → approved / changes requested.

An image without an `ImageReview` row has the status NONE: most images are never
reviewed, so the table holds only those that are. Who may request and who may decide
is written in playground/reviews/decisions.py; every change is also kept as a
`ReviewEvent`, so "who set it and when" survives the next change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    NONE = "none", _("Not reviewed")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


# The statuses a decision may set (a reviewer never sets "needs review" or "none").
DECISIONS = (ReviewStatus.APPROVED, ReviewStatus.CHANGES_REQUESTED)


class ImageReview(models.Model):
    """The current review status of one image, and who asked and who decided."""

    image = models.OneToOneField(
        "playground.ResultImage", on_delete=models.CASCADE, related_name="review"
    )
    status = models.CharField(
        max_length=20,
        choices=ReviewStatus.choices,
        default=ReviewStatus.NEEDS_REVIEW,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The reviewer it was asked of; empty: any reviewer of the team.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="review_requests",
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.image_id}: {self.status}"


class ReviewEvent(models.Model):
    """One change of an image's review status: the history the current row overwrites."""

    image = models.ForeignKey(
        "playground.ResultImage", on_delete=models.CASCADE, related_name="review_events"
    )
    status = models.CharField(max_length=20, choices=ReviewStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # For a request: whom it was asked of (empty: any reviewer).
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.image_id} → {self.status}"
