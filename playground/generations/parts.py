"""The upstream tasks of a job split into several (GPT Image 1.5 takes `n = 1`).

`UpstreamTask` is one row per upstream task of such a job, with its own life
(`PartState`): claimed, sent, read and archived on its own by fanout.py and
fanout_reads.py, while the `Generation` row stays the job a person sees. It lives
apart from models.py because it is the fan-out's bookkeeping, not the job's.

Django finds the model through models.py, which imports it (it belongs to the same
app); import these names from `playground.generations.models`, as for every model.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PartState(models.TextChoices):
    """The life of one upstream task of a job split into several (gpt-image-1.5)."""

    PENDING = "pending", _("Waiting to be sent")
    SUBMITTING = "submitting", _("Sending")
    RUNNING = "running", _("Running")
    ARCHIVING = "archiving", _("Saving image")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    UNCERTAIN = "uncertain", _("Submission uncertain")
    TIMED_OUT = "timed_out", _("Stopped waiting")
    CANCELLED = "cancelled", _("Cancelled")


PART_IN_FLIGHT = (
    PartState.PENDING,
    PartState.SUBMITTING,
    PartState.RUNNING,
    PartState.ARCHIVING,
)


class UpstreamTask(models.Model):
    """One upstream task of a job whose model takes fewer images per request than the
    person asked for (GPT Image 1.5 takes n = 1: a job of 4 images is 4 of these).

    Each is claimed by compare-and-set before its one POST (playground/generations/
    fanout.py); its image is archived at index `index × the model's upstream n`."""

    # By name: models.py imports this module, so this one cannot import it back.
    generation = models.ForeignKey(
        "Generation", on_delete=models.CASCADE, related_name="upstream_tasks"
    )
    index = models.PositiveSmallIntegerField()
    n = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=PartState.choices, default=PartState.PENDING)
    # Sent as the Idempotency-Key header; stored with the row, before the POST.
    idempotency_key = models.CharField(max_length=96, unique=True)
    task_id = models.CharField(max_length=100, blank=True, db_index=True)
    # EvoLink's x-request-id of the create (left blank until the client reports it).
    request_id = models.CharField(max_length=100, blank=True)
    api_key = models.ForeignKey(
        "billing.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set when EvoLink refused `api_key` a read of this task and another key reads it.
    read_api_key = models.ForeignKey(
        "billing.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    upstream_status = models.CharField(max_length=20, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    result_urls = models.JSONField(default=list, blank=True)
    results_expire_at = models.DateTimeField(null=True, blank=True)
    credits_reserved = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    credits_charged = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)

    # When a worker claimed it for its POST, and who holds it (for its POST or its
    # archive) until when (leases.py): a POST's claim that lapses without a task id may
    # have been sent, so it becomes uncertain.
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    poll_deadline = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    download_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["generation", "index"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "index"], name="unique_upstream_part")
        ]

    def __str__(self) -> str:
        return f"{self.generation_id}/{self.index} ({self.state})"
