"""The alerts' background work: sending deliveries, retried with backoff, and a sweep.

Tasks take ids and are safe to run twice: `deliver` claims its row with a
compare-and-set (pending, due, not held by another worker) before it sends, and a
second run finds it claimed, delivered or not yet due and does nothing.

A failed attempt is tried again after ALERTS_RETRY_SECONDS × 4^(attempts - 1) (30 s,
2 min, 8 min, 32 min… by default), up to ALERTS_MAX_ATTEMPTS attempts; an answer that
another try cannot change (a 4xx other than 408/425/429, a private address) gives up at
once. The periodic `deliver_due` sends what is due: the retries, and any first attempt
whose task was lost.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from playground.alerts import sending
from playground.alerts.models import Delivery, DeliveryState

log = logging.getLogger(__name__)

# How long a worker holds a delivery while it sends (beyond the HTTP timeout).
CLAIM = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return timedelta(seconds=settings.ALERTS_RETRY_SECONDS * 4 ** max(attempts - 1, 0))


def enqueue_on_commit(delivery_id: int) -> None:
    transaction.on_commit(
        lambda: async_task(
            f"{__name__}.deliver",
            delivery_id,
            task_name=f"alert-delivery-{delivery_id}-{uuid.uuid4().hex[:6]}",
        )
    )


def deliver(delivery_id: int, now: datetime | None = None) -> str:
    """One attempt at one delivery, if it is due and nobody else holds it."""
    now = now or timezone.now()
    claimed = (
        Delivery.objects.due(now)
        .filter(pk=delivery_id)
        .update(claimed_until=now + CLAIM, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return "not due"
    delivery = Delivery.objects.select_related("alert__team", "alert__member").get(pk=delivery_id)
    try:
        sending.send(delivery)
    except sending.SendError as error:
        gives_up = error.permanent or delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS
        Delivery.objects.filter(pk=delivery_id).update(
            state=DeliveryState.FAILED if gives_up else DeliveryState.PENDING,
            next_attempt_at=now + backoff(delivery.attempts),
            claimed_until=None,
            last_error=error.message,
        )
        log.info("alert delivery %s failed (attempt %s): %s", delivery_id, delivery.attempts, error)
        return "gave up" if gives_up else "will retry"
    Delivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.DELIVERED, delivered_at=timezone.now(), claimed_until=None
    )
    return "delivered"


def deliver_due(now: datetime | None = None) -> int:
    """Every delivery that is due (the periodic schedule). How many were tried."""
    ids = list(Delivery.objects.due(now).order_by("next_attempt_at").values_list("pk", flat=True))
    for delivery_id in ids:
        deliver(delivery_id, now)
    return len(ids)
