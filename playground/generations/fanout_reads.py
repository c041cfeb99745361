"""Reading and archiving the parts of a split job (see fanout.py for the whole story).

fanout.py sends a split job's parts and ends the job; this module is what happens in
between, once parts are RUNNING: the poller reads every due part (`poll_due_parts`,
`apply_part_poll`, with read failover on a refusing key), keeps the job's progress bar
as the mean of its parts', and archives each part's image as soon as it completes
(`wake_archives`, `archive`), at index `part × upstream n`. Every path that ends a part
hands back to `fanout.settle`, which ends the job once no part is in flight.

It is its own module so that fanout.py stays about the POSTs (submit, cancel,
reconcile) and this one about the GETs and downloads. It imports fanout, never the
reverse; poller.py imports both (only the type of its `Clients` is imported back here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from playground import catalogue, stored_messages
from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.generations import jobs, rereads, spend
from playground.generations.fanout import ROWS_PER_PASS, _end_part, settle
from playground.generations.models import (
    PART_IN_FLIGHT,
    Generation,
    HistoryClock,
    PartState,
    State,
    UpstreamTask,
)
from playground.lib import leases

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from playground.generations.poller import Clients

log = logging.getLogger(__name__)

# --- Poll -----------------------------------------------------------------------------


def poll_soon(pk: int, task_id: str = "") -> bool:
    """A callback named one of the job's tasks (any, when it named none we know)."""
    parts = UpstreamTask.objects.filter(generation_id=pk, state=PartState.RUNNING)
    if task_id and parts.filter(task_id=task_id).exists():
        parts = parts.filter(task_id=task_id)
    return bool(parts.update(next_poll_at=timezone.now()))


def poll_due_parts(
    clients: Clients,
    pool: ThreadPoolExecutor | None = None,
    archive_with: Callable[[int], None] = jobs.enqueue_archive,
) -> int:
    """Read every RUNNING part whose next poll is due; returns how many were read."""
    now = timezone.now()
    due = list(
        UpstreamTask.objects.filter(state=PartState.RUNNING, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .annotate(reader=Coalesce("read_api_key_id", "api_key_id"))
        .values_list("pk", "generation_id", "task_id", "polls", "poll_deadline", "reader")[
            :ROWS_PER_PASS
        ]
    )
    if not due:
        return 0

    answers = clients.read_tasks([(row[5], row[2]) for row in due], pool)
    jobs_touched: set[int] = set()
    for (part_pk, pk, _task_id, polls, deadline, _key), answer in zip(due, answers, strict=True):
        jobs_touched.add(pk)
        if apply_part_poll(part_pk, polls, deadline, answer):
            archive_with(pk)
    for pk in jobs_touched:
        _job_progress(pk)
    HistoryClock.tick(job_pks=list(jobs_touched))
    return len(due)


def apply_part_poll(
    part_pk: int, polls: int, deadline: datetime | None, answer: evolink.Task | evolink.EvoLinkError
) -> bool:
    """Record one read of a part. True if its image is now to be archived."""
    now = timezone.now()
    running = UpstreamTask.objects.filter(pk=part_pk, state=PartState.RUNNING)
    pk = UpstreamTask.objects.filter(pk=part_pk).values_list("generation_id", flat=True)[0]
    if isinstance(answer, evolink.EvoLinkError) and (answer.retryable or answer.status is None):
        running.update(polls=polls + 1, next_poll_at=now + _interval(polls))
    elif isinstance(answer, evolink.EvoLinkError):
        Generation.objects.note_request(pk, "read", answer.request_id, answer.status)
        if answer.status in billing.REFUSING_STATUSES:
            return _part_read_refused(part_pk, polls, deadline, answer)
        _end_part(part_pk, PartState.FAILED, answer.code, answer.message)
        settle(pk)
        return False
    elif answer.is_failed or (answer.is_completed and not answer.results):
        failure = answer.error if answer.is_failed else None
        failure = failure or evolink.EvoLinkError.from_code(
            "unknown_error" if answer.is_failed else "generation_failed_no_content"
        )
        _end_part(
            part_pk,
            PartState.FAILED,
            failure.code,
            failure.message,
            usage=dict(answer.usage),
            credits_charged=spend.charged_from_usage(answer.usage),
            upstream_status=answer.status,
        )
        settle(pk)
        return False
    elif answer.is_completed:
        return bool(
            running.update(
                state=PartState.ARCHIVING,
                upstream_status=answer.status,
                progress=100,
                result_urls=list(answer.results),
                usage=dict(answer.usage),
                credits_charged=spend.charged_from_usage(answer.usage),
                results_expire_at=now + timedelta(hours=24),
                polls=polls + 1,
            )
        )
    else:
        running.update(
            polls=polls + 1,
            next_poll_at=now + _interval(polls),
            upstream_status=answer.status,
            progress=max(0, min(answer.progress, 99)),
        )
    if deadline and now > deadline:
        minutes = int(jobs.poll_deadline().total_seconds() // 60)
        message = stored_messages.STOPPED_CHECKING % {"minutes": minutes}
        if UpstreamTask.objects.filter(pk=part_pk, state=PartState.RUNNING).update(
            state=PartState.TIMED_OUT,
            error_code="local_deadline",
            error_message=message,
            finished_at=now,
        ):
            settle(pk)
    return False


def _part_read_refused(
    part_pk: int, polls: int, deadline: datetime | None, error: evolink.EvoLinkError
) -> bool:
    """A part's read answered 401/402/403: as for a whole job (poller._read_refused),
    read on with another key of the team, else the part is uncertain, never "failed,
    not charged"."""
    part = UpstreamTask.objects.select_related("generation__team").get(pk=part_pk)
    pk = part.generation_id
    found = rereads.read_elsewhere(
        part.generation.team,
        part.task_id,
        part.read_api_key_id or part.api_key_id,
        error,
        note=lambda other: Generation.objects.note_request(
            pk, "read", other.request_id, other.status
        ),
    )
    if found is not None:
        key, task = found
        UpstreamTask.objects.filter(pk=part_pk, state=PartState.RUNNING).update(read_api_key=key)
        return apply_part_poll(part_pk, polls, deadline, task)
    message = stored_messages.KEY_REFUSED_READ % {
        "task": part.task_id,
        "reason": error.message.rstrip("."),
    }
    _end_part(part_pk, PartState.UNCERTAIN, "read_refused", message)
    settle(pk)
    return False


def _interval(polls: int) -> timedelta:
    return timedelta(seconds=jobs.poll_interval(polls + 1))


def _job_progress(pk: int) -> None:
    """The job's progress bar: the mean of its parts' (a finished part counts as 100)."""
    parts = list(UpstreamTask.objects.filter(generation_id=pk).values_list("state", "progress"))
    if parts:
        done = sum(100 if state not in PART_IN_FLIGHT else progress for state, progress in parts)
        Generation.objects.filter(pk=pk, state=State.RUNNING).update(
            progress=min(99, done // len(parts)), updated_at=timezone.now()
        )


def check_again(pk: int) -> int:
    """A person asks us to look again: parts we stopped waiting for are read again."""
    now = timezone.now()
    return UpstreamTask.objects.filter(generation_id=pk, state=PartState.TIMED_OUT).update(
        state=PartState.RUNNING,
        error_code="",
        error_message="",
        finished_at=None,
        next_poll_at=now,
        poll_deadline=now + jobs.poll_deadline(),
    )


# --- Archive --------------------------------------------------------------------------


def wake_archives(archive_with: Callable[[int], None]) -> int:
    """Hand every job with a part to archive whose lease lapsed to `archive_with`."""
    now = timezone.now()
    pks = (
        UpstreamTask.objects.filter(leases.ROWS.free(now), state=PartState.ARCHIVING)
        .values_list("generation_id", flat=True)
        .distinct()[:500]
    )
    count = 0
    for pk in pks:
        archive_with(pk)
        count += 1
    return count


def archive(pk: int) -> str:
    """Archive the image of every part that completed, each as soon as it did."""
    generation = Generation.objects.get(pk=pk)
    limit = catalogue.upstream_n_limit(generation.spec)
    done = set(generation.images.values_list("index", flat=True))
    archived = 0
    holder = leases.new_holder()
    for part in UpstreamTask.objects.filter(generation_id=pk, state=PartState.ARCHIVING):
        if leases.ROWS.take(
            UpstreamTask.objects.filter(pk=part.pk, state=PartState.ARCHIVING),
            holder,
            jobs.ARCHIVE_LEASE,
            download_attempts=F("download_attempts") + 1,
        ):
            archived += _archive_part(generation, part, holder, limit, done)
    if archived:
        HistoryClock.tick(job_pks=[pk])
    settle(pk)
    return "archived" if archived else "nothing to archive"


def _archive_part(
    generation: Generation, part: UpstreamTask, holder: str, limit: int, done: set[int]
) -> int:
    """Download a part's images while `holder` holds the part's lease (as jobs.archive)."""
    failures: list[str] = []
    archiving = UpstreamTask.objects.filter(pk=part.pk, state=PartState.ARCHIVING)
    with upstream.client(billing.secret_for(part.api_key_id)) as client:
        for offset, url in enumerate(part.result_urls):
            index = part.index * limit + offset
            if index in done:
                continue
            # Renewed before each image; gone means another worker took the part over.
            if not leases.ROWS.renew(archiving, holder, jobs.ARCHIVE_LEASE):
                return 0
            try:
                data = client.download(url, max_bytes=jobs.MAX_RESULT_BYTES)
                jobs.save_result(generation, index, data)
            except (evolink.EvoLinkError, OSError, ValueError) as error:
                log.warning("archive %s part %s: %s", generation.pk, part.index, error)
                failures.append(str(error))
    now = timezone.now()
    if not failures:
        return int(
            leases.ROWS.release(archiving, holder, state=PartState.COMPLETED, finished_at=now)
        )
    if part.results_expire_at is not None and now >= part.results_expire_at:
        message = stored_messages.RESULTS_EXPIRED % {
            "missing": len(failures),
            "total": len(part.result_urls),
        }
        leases.ROWS.release(
            archiving,
            holder,
            state=PartState.FAILED,
            error_code="results_expired",
            error_message=message,
            finished_at=now,
        )
        return 0
    # Retry with backoff: the lease is kept for it (leases.py), then taken again.
    backoff = min(15 * 2**part.download_attempts, 600)
    leases.ROWS.renew(archiving, holder, timedelta(seconds=backoff))
    return 0
