"""Signals the generations app sends, for apps above it that must react to jobs.

generations sits below the apps that care (alerts, notifications) and may not import
them; they connect to these in their `AppConfig.ready` instead.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# A job's counted spend (generations/spend.py) may have changed: the job was created
# (its estimate counts), EvoLink held credits for it, or it reported the charge.
# Sent after the change committed, with `team_id` and `owner_id` (keyword arguments).
spend_recorded = Signal()


def send_spend_recorded(team_id: int, owner_id: int) -> None:
    """Send `spend_recorded` once the current transaction commits (at once without
    one), so that receivers read the committed figures."""
    transaction.on_commit(
        lambda: spend_recorded.send(sender=None, team_id=team_id, owner_id=owner_id)
    )
