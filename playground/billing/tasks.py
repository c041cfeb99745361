"""Background work with keys: only workers decrypt a secret (the web process never does)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from playground.billing import contract_checks
from playground.billing.models import ApiKey
from playground.evolink import client as evolink
from playground.evolink import upstream

log = logging.getLogger(__name__)


def request_check(key: ApiKey, now: datetime) -> None:
    """Ask a worker to read this key's credits (the "Check" button)."""
    ApiKey.objects.filter(pk=key.pk).update(check_requested_at=now)
    transaction.on_commit(
        lambda: async_task(
            f"{__name__}.check_credits",
            key.pk,
            task_name=f"check-key-{key.pk}-{uuid.uuid4().hex[:6]}",
        )
    )


def check_credits(key_id: int) -> str:
    """GET /v1/credits with one key; stores the reading or the refusal."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        return "gone"
    try:
        with upstream.client(key.reveal()) as client:
            data = client.get_credits()
    except evolink.EvoLinkError as error:
        # A check spends nothing, so a refusal only informs; it does not disable. The
        # reading is unknown from now on, not the stale one.
        now = timezone.now()
        ApiKey.objects.filter(pk=key_id).update(
            last_error=error.message,
            last_error_at=now,
            checked_at=now,
            account_credits=None,
            key_credits=None,
            key_unlimited=None,
        )
        log.info("credits check for key %s refused: %s", key_id, error.code)
        return "refused"
    key.record_credits(data)
    return "checked"


def run_contract_check(check_id: int) -> str:
    """The "Check contract" button's work (safe to deliver twice: the row is claimed)."""
    return contract_checks.perform(check_id)
