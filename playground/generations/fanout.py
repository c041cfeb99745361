"""Jobs split into several upstream tasks: GPT Image 1.5 takes `n = 1` per request.

A person still asks for 1–10 images (the product page promises it); a job of 4 images
is one `Generation` with four `UpstreamTask` parts, each sent as one task of `n = 1`.
The guarantees of a whole job hold per part:

- exactly one POST per part: a part is claimed (PENDING → SUBMITTING, compare-and-set,
  with a lease) before its POST, and only a claimed part is ever sent;
- after a crash, the reconciler turns a part claimed without a task id once its lease
  lapsed into UNCERTAIN (never re-sent: the POST may have left), and sends the parts
  never claimed (the job goes back to QUEUED);
- the poller reads every RUNNING part (`poll_due_parts`) and each image is archived as
  its part completes, at index `part × upstream n`, so the history shows the job's
  images as they arrive;
- the job ends when every part has (`settle`), saying honestly how many images were
  made and why the others were not ("3 of 4 images were made; 1 failed: …"); its
  charge is the sum of the parts'.

The job row itself stays SUBMITTING while parts are being sent (QUEUED while waiting
to retry one, RUNNING once all are claimed): its `upstream_task_id` stays empty and its
`next_poll_at` unset, so the whole-job poller never reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from playground import catalogue, stored_messages
from playground.billing import models as billing
from playground.billing import spend
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.generations import jobs, references, rereads
from playground.generations.models import (
    PART_IN_FLIGHT,
    Generation,
    HistoryClock,
    PartState,
    State,
    UpstreamTask,
)
from playground.teams import availability

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from playground.generations.poller import Clients

log = logging.getLogger(__name__)

# How long a claim (a part's, or the job's while its parts are sent) holds without its
# worker: as for a whole job, twice the HTTP timeout.
SUBMIT_LEASE = jobs.SUBMITTING_STALE
ROWS_PER_PASS = 200


def splits(pk: int) -> bool:
    """Whether job `pk` is sent as several upstream tasks."""
    row = Generation.objects.filter(pk=pk).values_list("model", "n").first()
    return row is not None and row[0] in catalogue.MODELS and catalogue.fans_out(*row)


def has_parts(pk: int) -> bool:
    return UpstreamTask.objects.filter(generation_id=pk).exists()


# --- Submit ---------------------------------------------------------------------------


def submit(pk: int) -> str:
    """Claim the job, make its parts (once), and send every part not yet claimed."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Generation.objects.filter(pk=pk, state=State.QUEUED)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .update(
                state=State.SUBMITTING,
                submit_attempts=F("submit_attempts") + 1,
                lease_until=now + SUBMIT_LEASE,
                updated_at=now,
            )
        )
        if not claimed:
            return "not claimed"
        generation = Generation.objects.select_related("team").get(pk=pk)
        # In the claim's transaction: a SUBMITTING split job always has its parts.
        UpstreamTask.objects.bulk_create(
            [
                UpstreamTask(
                    generation=generation,
                    index=index,
                    n=n,
                    idempotency_key=jobs.idempotency_key(generation, index),
                )
                for index, n in enumerate(catalogue.upstream_split(generation.spec, generation.n))
            ],
            ignore_conflicts=True,
        )
    HistoryClock.tick(job_pks=[pk])
    if not availability.is_available(generation.team, generation.model):
        # Switched off after the job was queued: nothing more is sent.
        model = generation.spec.label
        _fail_pending(pk, "model_off", stored_messages.MODEL_OFF % {"model": model})
    payers = jobs.choose_payers(generation)
    if not payers:
        code, message = jobs.no_payer_reason(generation)
        if _fail_pending(pk, code, message) and code == "model_not_found":
            availability.tell_admins_once(generation.team, generation.model)
    for part in UpstreamTask.objects.filter(generation_id=pk, state=PartState.PENDING):
        if send_part(generation, part, payers) == "retry later":
            return "retry later"
    return finish_submitting(pk)


def send_part(generation: Generation, part: UpstreamTask, payers: list[billing.Payer]) -> str:
    """Claim one part and POST it (at most once); record what came back."""
    now = timezone.now()
    if not UpstreamTask.objects.filter(pk=part.pk, state=PartState.PENDING).update(
        state=PartState.SUBMITTING, claimed_at=now, lease_until=now + SUBMIT_LEASE
    ):
        return "not claimed"  # cancelled, or another worker's
    Generation.objects.filter(pk=generation.pk, state=State.SUBMITTING).update(
        lease_until=now + SUBMIT_LEASE
    )
    try:
        payer, task = jobs.send_with_failover(
            payers,
            jobs.noting_requests(generation.pk, lambda payer: post_part(payer, generation, part)),
            generation,
        )
    except references.RejectedUpload as rejected:
        # Raised before any POST; the other parts would send the same references.
        _end_part(part.pk, PartState.FAILED, "reference_rejected", str(rejected))
        _fail_pending(generation.pk, "reference_rejected", str(rejected))
        return "failed"
    except jobs.ModelGone:
        # EvoLink does not offer the model: nothing was created, for any part.
        message = availability.gone_message(generation.model)
        _end_part(part.pk, PartState.FAILED, "model_not_found", message)
        _fail_pending(generation.pk, "model_not_found", message)
        availability.tell_admins_once(generation.team, generation.model)
        return "failed"
    except jobs.AllKeysRefused as refused:
        message = stored_messages.KEYS_REFUSED % {"reasons": "; ".join(refused.reasons)}
        _end_part(part.pk, PartState.FAILED, "keys_refused", message)
        _fail_pending(generation.pk, "keys_refused", message)
        return "failed"
    except evolink.EvoLinkError as error:
        return _part_failed(generation, part, error)
    except Exception:
        # As for a whole job: after the claim, anything may have happened after the POST.
        log.exception("submit %s part %s crashed", generation.pk, part.index)
        _end_part(part.pk, PartState.UNCERTAIN, "submission_uncertain", _uncertain())
        return "uncertain"
    now = timezone.now()
    reserved = task.usage.get("credits_reserved")
    UpstreamTask.objects.filter(pk=part.pk, state=PartState.SUBMITTING).update(
        state=PartState.RUNNING,
        task_id=task.id,
        request_id=task.request_id,
        api_key_id=payer.key_id,
        upstream_status=task.status,
        progress=task.progress,
        usage=dict(task.usage),
        credits_reserved=reserved if isinstance(reserved, int | float) else None,
        submitted_at=now,
        lease_until=None,
        next_poll_at=now + timedelta(seconds=jobs.first_poll_delay()),
        poll_deadline=now + jobs.poll_deadline(),
    )
    return "submitted"


def post_part(payer: billing.Payer, generation: Generation, part: UpstreamTask) -> evolink.Task:
    """The job's request with this part's `n`, under this part's Idempotency-Key."""
    with upstream.client(payer.secret) as client:
        payload = {**jobs.upstream_payload(client, generation), "n": part.n}
        return client.create_task(payload, idempotency_key=part.idempotency_key)


def _part_failed(generation: Generation, part: UpstreamTask, error: evolink.EvoLinkError) -> str:
    if error.uncertain:
        # The task may exist and be billed: never re-sent; the other parts go on.
        _end_part(part.pk, PartState.UNCERTAIN, error.code, error.message)
        return "uncertain"
    attempts = Generation.objects.filter(pk=generation.pk).values_list(
        "submit_attempts", flat=True
    )[0]
    if error.retryable and attempts < jobs.MAX_SUBMIT_ATTEMPTS:
        # EvoLink certainly created nothing (429, refused connection): the part waits
        # unclaimed, and the whole job goes back to the queue until `not_before`.
        UpstreamTask.objects.filter(pk=part.pk, state=PartState.SUBMITTING).update(
            state=PartState.PENDING, claimed_at=None, lease_until=None
        )
        delay = error.retry_after or 10 * 2 ** (attempts - 1)
        Generation.objects.transition(
            generation.pk,
            State.SUBMITTING,
            state=State.QUEUED,
            not_before=timezone.now() + timedelta(seconds=delay),
            lease_until=None,
            error_message=error.message,
        )
        return "retry later"
    # A definite refusal of the request (a 400): the other parts would get the same.
    _end_part(part.pk, PartState.FAILED, error.code, error.message)
    _fail_pending(generation.pk, error.code, error.message)
    return "failed"


def finish_submitting(pk: int) -> str:
    """Every part claimed: the job runs (or ends, when no part is left in flight)."""
    parts = list(UpstreamTask.objects.filter(generation_id=pk))
    reserved = [p.credits_reserved for p in parts]
    first_key = next((p.api_key_id for p in parts if p.task_id), None)
    Generation.objects.transition(
        pk,
        State.SUBMITTING,
        state=State.RUNNING,
        submitted_at=timezone.now(),
        lease_until=None,
        error_message="",
        api_key_id=first_key,
        # Until every part holds its reservation the whole job's estimate counts, so
        # a budget never sees less than the job may cost.
        credits_reserved=sum(reserved, Decimal(0))
        if all(r is not None for r in reserved)
        else None,
    )
    return settle(pk) or "submitted"


def _end_part(part_pk: int, state: str, code: str, message: str, **changes: Any) -> bool:
    return bool(
        UpstreamTask.objects.filter(pk=part_pk, state__in=PART_IN_FLIGHT).update(
            state=state,
            error_code=code,
            error_message=message,
            finished_at=timezone.now(),
            lease_until=None,
            **changes,
        )
    )


def _fail_pending(pk: int, code: str, message: str) -> int:
    """Parts never sent end with the reason that stopped the others (nothing charged)."""
    return UpstreamTask.objects.filter(generation_id=pk, state=PartState.PENDING).update(
        state=PartState.FAILED, error_code=code, error_message=message, finished_at=timezone.now()
    )


def _uncertain() -> str:
    return stored_messages.SUBMISSION_UNCERTAIN


# --- Cancel ---------------------------------------------------------------------------


def cancel(generation: Generation, message: str) -> bool:
    """Cancel the parts not yet sent; the parts already sent run on and the job ends
    when they do, saying how many images were made and how many were cancelled."""
    pk = generation.pk
    cancelled = UpstreamTask.objects.filter(generation_id=pk, state=PartState.PENDING).update(
        state=PartState.CANCELLED,
        error_code="cancelled",
        error_message=message,
        finished_at=timezone.now(),
    )
    if not cancelled:
        return False
    # Waiting in the queue to retry a part: there is nothing left to send.
    Generation.objects.transition(pk, State.QUEUED, state=State.RUNNING, not_before=None)
    settle(pk)
    return True


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

    def read(
        work: tuple[evolink.Client | evolink.EvoLinkError, str],
    ) -> evolink.Task | evolink.EvoLinkError:
        client, task_id = work
        if isinstance(client, evolink.EvoLinkError):
            return client
        try:
            return client.get_task(task_id)
        except evolink.EvoLinkError as error:
            return error

    work = [(clients.for_key(row[5]), row[2]) for row in due]
    answers = list(pool.map(read, work)) if pool else [read(w) for w in work]
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
    part_pk: int, polls: int, deadline: Any, answer: evolink.Task | evolink.EvoLinkError
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
    part_pk: int, polls: int, deadline: Any, error: evolink.EvoLinkError
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
        UpstreamTask.objects.filter(state=PartState.ARCHIVING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
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
    for part in UpstreamTask.objects.filter(generation_id=pk, state=PartState.ARCHIVING):
        now = timezone.now()
        claimed = (
            UpstreamTask.objects.filter(pk=part.pk, state=PartState.ARCHIVING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(
                lease_until=now + jobs.ARCHIVE_LEASE,
                download_attempts=F("download_attempts") + 1,
            )
        )
        if claimed:
            archived += _archive_part(generation, part, limit, done)
    if archived:
        HistoryClock.tick(job_pks=[pk])
    settle(pk)
    return "archived" if archived else "nothing to archive"


def _archive_part(generation: Generation, part: UpstreamTask, limit: int, done: set[int]) -> int:
    failures: list[str] = []
    with upstream.client(billing.secret_for(part.api_key_id)) as client:
        for offset, url in enumerate(part.result_urls):
            index = part.index * limit + offset
            if index in done:
                continue
            try:
                data = client.download(url, max_bytes=jobs.MAX_RESULT_BYTES)
                jobs.save_result(generation, index, data)
            except (evolink.EvoLinkError, OSError, ValueError) as error:
                log.warning("archive %s part %s: %s", generation.pk, part.index, error)
                failures.append(str(error))
    now = timezone.now()
    archiving = UpstreamTask.objects.filter(pk=part.pk, state=PartState.ARCHIVING)
    if not failures:
        return archiving.update(state=PartState.COMPLETED, lease_until=None, finished_at=now)
    if part.results_expire_at is not None and now >= part.results_expire_at:
        message = stored_messages.RESULTS_EXPIRED % {
            "missing": len(failures),
            "total": len(part.result_urls),
        }
        archiving.update(
            state=PartState.FAILED,
            error_code="results_expired",
            error_message=message,
            lease_until=None,
            finished_at=now,
        )
        return 0
    backoff = min(15 * 2**part.download_attempts, 600)
    archiving.update(lease_until=now + timedelta(seconds=backoff))
    return 0


# --- The end of a job -----------------------------------------------------------------


def settle(pk: int) -> str | None:
    """End a RUNNING job once none of its parts is in flight; None while some are."""
    parts = list(UpstreamTask.objects.filter(generation_id=pk))
    if not parts or any(p.state in PART_IN_FLIGHT for p in parts):
        return None
    generation = Generation.objects.get(pk=pk)
    if generation.state != State.RUNNING:
        return None
    made = generation.images.count()
    by_state: dict[str, list[UpstreamTask]] = {}
    for part in parts:
        by_state.setdefault(part.state, []).append(part)
    charges = [p.credits_charged for p in parts if p.credits_charged is not None]
    if made >= generation.n:
        state, code, message = State.COMPLETED, "", ""
    else:
        message = summary(made, generation.n, by_state)
        if made:
            state, code = State.COMPLETED, "partial"
        elif PartState.UNCERTAIN in by_state:
            state, code = State.UNCERTAIN, "submission_uncertain"
        elif set(by_state) == {PartState.CANCELLED}:
            state, code = State.CANCELLED, "cancelled"
            message = by_state[PartState.CANCELLED][0].error_message
        elif PartState.TIMED_OUT in by_state:
            state, code = State.TIMED_OUT, "local_deadline"
        else:
            state, code = State.FAILED, by_state[PartState.FAILED][0].error_code
    Generation.objects.end(
        pk,
        State.RUNNING,
        state,
        code,
        message,
        progress=100 if made else generation.progress,
        images_returned=made,
        credits_charged=sum(charges, Decimal(0)) if charges else None,
        usage={"parts": [dict(p.usage, index=p.index, task_id=p.task_id) for p in parts]},
        upstream_completed_at=timezone.now(),
    )
    return str(state)


def summary(made: int, total: int, by_state: dict[str, list[UpstreamTask]]) -> str:
    """ "3 of 4 images were made; 1 failed: …" (stored in English, see stored_messages)."""
    reasons: list[str] = []
    if failed := by_state.get(PartState.FAILED):
        reason = failed[0].error_message.strip()
        if not reason.endswith((".", "!", "?", ")")):
            reason += "."
        reasons.append(stored_messages.PARTS_FAILED % {"count": len(failed), "reason": reason})
    if cancelled := by_state.get(PartState.CANCELLED):
        reasons.append(stored_messages.PARTS_CANCELLED % {"count": len(cancelled)})
    if uncertain := by_state.get(PartState.UNCERTAIN):
        reasons.append(stored_messages.PARTS_UNCERTAIN % {"count": len(uncertain)})
    if timed_out := by_state.get(PartState.TIMED_OUT):
        reasons.append(stored_messages.PARTS_TIMED_OUT % {"count": len(timed_out)})
    return stored_messages.PARTS_MADE % {
        "made": made,
        "total": total,
        "rest": " ".join(reasons) or "?",
    }


# --- Reconcile ------------------------------------------------------------------------


def reconcile() -> dict[str, int]:
    """After a crash: a part claimed without a task id once its lease lapsed may have
    been sent, so it is uncertain (never re-sent); a job whose sender died goes back to
    the queue, and only its parts never claimed are sent."""
    now = timezone.now()
    counts = {"parts_uncertain": 0, "parts_resumed": 0, "parts_settled": 0}
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    for part_pk in UpstreamTask.objects.filter(
        lapsed, state=PartState.SUBMITTING, task_id=""
    ).values_list("pk", flat=True):
        counts["parts_uncertain"] += _end_part(
            part_pk, PartState.UNCERTAIN, "submission_uncertain", _uncertain()
        )
    for pk in (
        Generation.objects.filter(lapsed, state=State.SUBMITTING, upstream_tasks__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
    ):
        if Generation.objects.transition(
            pk, State.SUBMITTING, state=State.QUEUED, not_before=now, lease_until=None
        ):
            jobs.enqueue_submit(pk)
            counts["parts_resumed"] += 1
    # A worker that died between a part's end and the job's.
    for pk in (
        Generation.objects.filter(state=State.RUNNING, upstream_tasks__isnull=False)
        .exclude(upstream_tasks__state__in=PART_IN_FLIGHT)
        .values_list("pk", flat=True)
        .distinct()[:500]
    ):
        counts["parts_settled"] += settle(pk) is not None
    return counts
