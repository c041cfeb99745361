"""Notifications made from what the apps below announce with signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from playground.generations.models import Generation, State
from playground.notifications.events import notify
from playground.notifications.models import Kind, Notification

# A job that took longer than this, from Generate to its end, is worth a notification
# to its maker: they have likely gone on to something else. A shorter one they watched.
LONG_JOB = timedelta(seconds=20)


def on_job_finished(sender: Any, *, generation_id: int, state: str, **_kwargs: Any) -> None:
    """The job's maker learns that their long job ended (a job they cancelled excepted).

    Safe to run twice: a job gets at most one such notification (a unique constraint;
    a job resubmitted after "Submission uncertain" keeps the first)."""
    if state == State.CANCELLED:
        return
    generation = Generation.objects.select_related("owner", "team").filter(pk=generation_id).first()
    if generation is None or generation.finished_at is None:
        return
    if generation.finished_at - generation.created_at < LONG_JOB:
        return
    already = Notification.objects.filter(
        kind=Kind.JOB_FINISHED, generation=generation, recipient=generation.owner
    )
    if already.exists():
        return
    try:
        with transaction.atomic():
            notify(
                generation.owner,
                Kind.JOB_FINISHED,
                team=generation.team,
                generation=generation,
                detail=generation.state,
            )
    except IntegrityError:
        pass  # a concurrent run made it first
