"""What the alerts app does when the apps below it signal (connected in apps.py).

A receiver runs after the sender's transaction committed, inside a worker's job or a
web request: a failure here is logged and must never fail the job or the page that
sent it (the periodic sweep raises a missed spend alert later).
"""

from __future__ import annotations

import logging
from typing import Any

from playground.alerts import crossings

log = logging.getLogger(__name__)


def on_spend_recorded(*, team_id: int, owner_id: int, **_kwargs: Any) -> None:
    try:
        crossings.check_spend(team_id, owner_id)
    except Exception:
        log.exception("spend alert check failed for team %s", team_id)


def on_credits_recorded(*, key_id: int, **_kwargs: Any) -> None:
    try:
        crossings.check_key(key_id)
    except Exception:
        log.exception("low-balance alert check failed for key %s", key_id)


def on_key_disabled(*, key_id: int, **_kwargs: Any) -> None:
    try:
        crossings.key_switched_off(key_id)
    except Exception:
        log.exception("key-disabled alert failed for key %s", key_id)
