"""What generations tells the apps above it, without knowing them.

generations sits below the apps that care (notifications, alerts; README,
"Architecture") and may not import them: a job that ends, or whose spend changes, says
so with a signal, and whoever cares connects to it in their AppConfig.ready.
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

# A job's counted spend (generations/spend.py) may have changed: the job was created
# (its estimate counts), EvoLink held credits for it, or it reported the charge.
# Sent after the change committed, with `team_id` and `owner_id` (keyword arguments).
spend_recorded = Signal()


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


def send_spend_recorded(team_id: int, owner_id: int) -> None:
    """Send `spend_recorded` once the current transaction commits (at once without
    one), so that receivers read the committed figures."""
    transaction.on_commit(
        lambda: spend_recorded.send(sender=None, team_id=team_id, owner_id=owner_id)
    )
