"""The bell's rows and each person's e-mail choices.

A notification stores what happened (its kind and its parameters: who, which job or
image, a short excerpt), never a rendered sentence: the bell and the e-mail render it
at display time in the reader's language (see texts.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EXCERPT_LENGTH = 200


class Kind(models.TextChoices):
    MENTION = "mention", _("Someone mentions you")
    REPLY = "reply", _("A reply in a thread you wrote in")
    REVIEW_REQUESTED = "review_requested", _("A review is requested from you")
    REVIEW_DECIDED = "review_decided", _("A decision on your image")
    JOB_FINISHED = "job_finished", _("Your long job finished")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def mark_read(self) -> int:
        return self.unread().update(read_at=timezone.now())


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The job and image it is about; deleting them deletes the notification (a link to
    # nothing helps nobody).
    generation = models.ForeignKey(
        "playground.Generation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    image = models.ForeignKey(
        "playground.ResultImage", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # A parameter of the sentence (e.g. the review status value), never rendered text.
    detail = models.CharField(max_length=40, blank=True)
    excerpt = models.CharField(max_length=EXCERPT_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it went out in an e-mail (or was decided not to: opted out); null = still due.
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The bell: a person's unread count and latest rows.
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            # The e-mail batcher: what is still due.
            models.Index(fields=["emailed_at", "recipient"], name="notification_due_idx"),
        ]
        constraints = [
            # A job's end is told to its maker once, however often the signal comes.
            models.UniqueConstraint(
                fields=["recipient", "generation"],
                condition=models.Q(kind="job_finished"),
                name="one_job_finished_per_job",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class EmailPreference(models.Model):
    """A person's e-mail choice for one kind. No row: the kind's default (DEFAULT_EMAIL)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_emails"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="unique_email_preference")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.enabled}"


class EmailBatch(models.Model):
    """When a person was last sent an e-mail: at most one per EMAIL_INTERVAL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    last_sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} {self.last_sent_at}"
