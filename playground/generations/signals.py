"""What generations tells the apps above it, without knowing them.

generations is below notifications (README, "Architecture"): it may not import it, so a
job that ends says so with a signal, and whoever cares connects to it in their
AppConfig.ready.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# Sent once per job when it reaches a final state (models.FINAL_STATES), after the
# transaction that moved it commits, with `generation_id` and `state`. "Once" holds
# because only the caller that wins the compare-and-set into the final state sends it;
# a job resubmitted after "Submission uncertain" ends again and sends it again, so
# receivers must be safe to run twice.
job_finished = Signal()


def announce_finished(generation_id: int, state: str) -> None:
    """Send `job_finished` when the current transaction commits (at once outside one).

    Robustly: a receiver that fails is logged and never fails the worker that moved the
    job (the job's end is already written)."""

    def send() -> None:
        for receiver, result in job_finished.send_robust(
            sender=None, generation_id=generation_id, state=state
        ):
            if isinstance(result, Exception):
                log.error(
                    "job_finished receiver %r failed for job %s",
                    receiver,
                    generation_id,
                    exc_info=result,
                )

    transaction.on_commit(send)
