"""Running the contract check with a stored key (or the environment's) and keeping it.

`start()` records a `ContractCheck` and asks a worker to run it (the keys page's
"Check contract" button); `perform(check_id)` runs it, in a worker or in
`manage.py evolink_check`. Only `perform` decrypts a key.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from playground import imageformats
from playground.billing.models import ApiKey, ContractCheck
from playground.evolink import contract

if TYPE_CHECKING:
    # Only for annotations: billing does not import teams at run time.
    from playground.teams.models import Team

log = logging.getLogger(__name__)

ENV_LABEL = "EVOLINK_API_KEY"
# A worker is stopped after Q_CLUSTER's timeout (120 s): the check gives up waiting for
# its job well before, so the row always ends. From the command line it waits longer.
WORKER_DEADLINE_SECONDS = 90.0
COMMAND_DEADLINE_SECONDS = 600.0
# A check still "running" after this was cut off (a worker killed mid-way).
STALLED_AFTER = timedelta(minutes=5)


def create(
    *,
    key: ApiKey | None,
    spend: bool,
    requested_by: User | None = None,
    team: Team | None = None,
    base_url: str | None = None,
) -> ContractCheck:
    """A queued check of `key` (None: EVOLINK_API_KEY)."""
    return ContractCheck.objects.create(
        key=key,
        key_label=str(key) if key else ENV_LABEL,
        team=team if team is not None else (key.team if key else None),
        requested_by=requested_by,
        spend=spend,
        base_url=base_url or settings.EVOLINK_BASE_URL,
    )


def start(*, key: ApiKey, spend: bool, requested_by: User | None, team: Team) -> ContractCheck:
    """Record a check and hand it to a worker once the row is committed."""
    check = create(key=key, spend=spend, requested_by=requested_by, team=team)
    transaction.on_commit(
        lambda: async_task(
            "playground.billing.tasks.run_contract_check",
            check.pk,
            task_name=f"contract-check-{check.pk}-{uuid.uuid4().hex[:6]}",
        )
    )
    return check


def perform(check_id: int, *, deadline: float = WORKER_DEADLINE_SECONDS) -> str:
    """Run a queued check once; a second delivery finds it claimed and does nothing."""
    now = timezone.now()
    claimed = ContractCheck.objects.filter(pk=check_id, state=ContractCheck.State.QUEUED).update(
        state=ContractCheck.State.RUNNING, started_at=now
    )
    if claimed != 1:
        return "already"
    check = ContractCheck.objects.select_related("key").get(pk=check_id)
    try:
        secret = _secret(check)
        result = contract.run(
            secret,
            check.base_url,
            spend=check.spend,
            first_poll=settings.PLAYGROUND_FIRST_POLL_SECONDS,
            poll=settings.PLAYGROUND_POLL_SECONDS,
            deadline=deadline,
            on_row=lambda partial: _save_rows(check_id, partial),
        )
    except Exception as error:
        # The table so far stays; the page says the check stopped, and why.
        log.exception("contract check %s crashed", check_id)
        ContractCheck.objects.filter(pk=check_id).update(
            state=ContractCheck.State.CRASHED,
            error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now(),
        )
        return "crashed"
    archive = _archive(check_id, result) if result.image else ""
    ContractCheck.objects.filter(pk=check_id).update(
        state=ContractCheck.State.DONE,
        outcome=ContractCheck.Outcome.PASSED if result.passed else ContractCheck.Outcome.DIFFERS,
        rows=result.as_dicts(),
        task_id=result.task_id,
        request_ids=result.request_ids,
        credits_used=result.credits_used,
        archive=archive,
        finished_at=timezone.now(),
    )
    return "passed" if result.passed else "differs"


def _secret(check: ContractCheck) -> str:
    if check.key is not None:
        return check.key.reveal()
    if check.key_label == ENV_LABEL and settings.EVOLINK_API_KEY:
        return settings.EVOLINK_API_KEY
    raise LookupError(f"the key {check.key_label} is gone")


def _save_rows(check_id: int, partial: contract.Result) -> None:
    # The task id as soon as it is known: a worker stopped mid-way still leaves it.
    ContractCheck.objects.filter(pk=check_id).update(
        rows=partial.as_dicts(), task_id=partial.task_id, request_ids=partial.request_ids
    )


def _archive(check_id: int, result: contract.Result) -> str:
    """Keep the paid image, as a job's would be kept (a re-run overwrites it)."""
    ext = imageformats.extension(result.image_format, default="png")
    name = f"contract-checks/{check_id}/result.{ext}"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(result.image or b""))


def stalled(check: ContractCheck) -> bool:
    """Running for longer than any check can: its worker was stopped mid-way."""
    return (
        check.state == ContractCheck.State.RUNNING
        and check.started_at is not None
        and timezone.now() - check.started_at > STALLED_AFTER
    )


def recent(team: Team, limit: int = 5) -> list[ContractCheck]:
    """The keys page's list of the team's last checks (superusers see it)."""
    return list(ContractCheck.objects.filter(team=team).select_related("requested_by")[:limit])
