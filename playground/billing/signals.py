"""Signals the billing app sends about keys, for apps above it (alerts) that react.

billing may not import those apps; they connect in their `AppConfig.ready`. Both are
sent after the change committed, with `key_id` (a keyword argument).
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# A reading of GET /v1/credits was stored on the key (its balance may be low now).
credits_recorded = Signal()
# EvoLink refused the key (401/402) and it was switched off automatically.
key_disabled = Signal()


def send_on_commit(signal: Signal, key_id: int) -> None:
    transaction.on_commit(lambda: signal.send(sender=None, key_id=key_id))
