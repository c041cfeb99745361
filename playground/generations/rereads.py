"""Reading a task on with another key when EvoLink refuses the one that read it.

A read answered 401 / 402 / 403 means the key was revoked or ran dry while the task
ran: the task may have run and been charged, so the job must never end as "failed, not
charged". A task belongs to the EvoLink account, which may hold several keys, so the
team's other healthy keys may read it on. Used for whole jobs (poller.py) and for the
upstream tasks of a split job (fanout_reads.py).
"""

from __future__ import annotations

from collections.abc import Callable

from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.teams.models import Team


def read_elsewhere(
    team: Team,
    task_id: str,
    refused_key_id: int | None,
    error: evolink.EvoLinkError,
    note: Callable[[evolink.EvoLinkError], None],
) -> tuple[billing.ApiKey, evolink.Task] | None:
    """Record the refusal on the key that read `task_id`, then read it with the team's
    other stored keys in turn; `note` keeps each further refusal's request id. Returns
    the key that could read it and what it read, or None."""
    refused = billing.ApiKey.objects.filter(pk=refused_key_id).first() if refused_key_id else None
    if refused is not None:
        refused.record_refusal(error.status, error.message, code=error.code)
    for payer in billing.payers_for(team):
        # Only stored keys: the job must name the key that reads it from now on.
        if payer.key is None or payer.key_id == refused_key_id:
            continue
        try:
            with upstream.client(payer.secret) as client:
                task = client.get_task(task_id)
        except evolink.EvoLinkError as other:
            note(other)
            if other.status in billing.REFUSING_STATUSES:
                payer.key.record_refusal(other.status, other.message, code=other.code)
            continue
        return payer.key, task
    return None
