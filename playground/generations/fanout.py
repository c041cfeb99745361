"""Jobs split into several upstream tasks: GPT Image 1.5 takes `n = 1` per request.

A person still asks for 1–10 images (the product page promises it); a job of 4 images
is one `Generation` with four `UpstreamTask` parts, each sent as one task of `n = 1`.
The guarantees of a whole job hold per part:

- exactly one POST per part: a part is claimed (PENDING → SUBMITTING, compare-and-set,
  taking a lease: leases.py) before its POST, and only a claimed part is ever sent;
- after a crash, the reconciler turns a part claimed without a task id once its lease
  lapsed into UNCERTAIN (never re-sent: the POST may have left), and sends the parts
  never claimed (the job goes back to QUEUED);
- the poller reads every RUNNING part and each image is archived as its part
  completes, at index `part × upstream n`, so the history shows the job's images as
  they arrive (fanout_reads.py: the reads and downloads live there, the POSTs here);
- the job ends when every part has (`settle`), saying honestly how many images were
  made and why the others were not ("3 of 4 images were made; 1 failed: …"); its
  charge is the sum of the parts'.

The job row itself stays SUBMITTING while parts are being sent (QUEUED while waiting
to retry one, RUNNING once all are claimed): its `upstream_task_id` stays empty and its
`next_poll_at` unset, so the whole-job poller never reads it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from playground import catalogue, stored_messages
from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.generations import jobs, references
from playground.generations.models import (
    PART_IN_FLIGHT,
    Generation,
    HistoryClock,
    PartState,
    State,
    UpstreamTask,
)
from playground.generations.payers import (
    AllKeysRefused,
    ModelGone,
    choose_payers,
    no_payer_reason,
    noting_requests,
    send_with_failover,
)
from playground.lib import leases
from playground.teams import availability

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


def submit(pk: int, *, paced: bool = False) -> str:
    """Claim the job, make its parts (once), and send every part not yet claimed
    (`paced`: as jobs.send)."""
    now = timezone.now()
    with transaction.atomic():
        # Claimed by its state (a queued job is nobody's), taking the submit's lease.
        claimed = leases.ROWS.claim(
            Generation.objects.filter(pk=pk, state=State.QUEUED).filter(
                Q(not_before__isnull=True) | Q(not_before__lte=now)
            ),
            leases.new_holder(),
            SUBMIT_LEASE,
            state=State.SUBMITTING,
            submit_attempts=F("submit_attempts") + 1,
            updated_at=now,
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
    for part in UpstreamTask.objects.filter(generation_id=pk, state=PartState.PENDING):
        # Chosen again for each part: a key EvoLink refused for an earlier part (this
        # model denied, a daily quota used up) is not tried again.
        payers = choose_payers(generation)
        if not payers:
            code, message = no_payer_reason(generation)
            if _fail_pending(pk, code, message) and code == "model_not_found":
                availability.tell_admins_once(generation.team, generation.model)
            break
        if send_part(generation, part, payers, paced=paced) == "retry later":
            return "retry later"
    return finish_submitting(pk)


def send_part(
    generation: Generation, part: UpstreamTask, payers: list[billing.Payer], *, paced: bool = False
) -> str:
    """Claim one part and POST it (at most once); record what came back."""
    # The job as `submit` read it right after claiming it: its holder is this worker,
    # which holds the parts it sends under the same token.
    holder = generation.lease_holder
    if not leases.ROWS.claim(
        UpstreamTask.objects.filter(pk=part.pk, state=PartState.PENDING),
        holder,
        SUBMIT_LEASE,
        state=PartState.SUBMITTING,
        claimed_at=timezone.now(),
    ):
        return "not claimed"  # cancelled, or another worker's
    leases.ROWS.renew(
        Generation.objects.filter(pk=generation.pk, state=State.SUBMITTING), holder, SUBMIT_LEASE
    )
    try:
        payer, task = send_with_failover(
            payers,
            noting_requests(
                generation.pk, lambda payer: post_part(payer, generation, part, paced=paced)
            ),
            generation,
        )
    except references.RejectedUpload as rejected:
        # Raised before any POST; the other parts would send the same references.
        _end_part(part.pk, PartState.FAILED, "reference_rejected", str(rejected))
        _fail_pending(generation.pk, "reference_rejected", str(rejected))
        return "failed"
    except ModelGone:
        # EvoLink does not offer the model: nothing was created, for any part.
        message = availability.gone_message(generation.model)
        _end_part(part.pk, PartState.FAILED, "model_not_found", message)
        _fail_pending(generation.pk, "model_not_found", message)
        availability.tell_admins_once(generation.team, generation.model)
        return "failed"
    except AllKeysRefused as refused:
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
    leases.ROWS.release(
        UpstreamTask.objects.filter(pk=part.pk, state=PartState.SUBMITTING),
        holder,
        state=PartState.RUNNING,
        task_id=task.id,
        request_id=task.request_id,
        api_key_id=payer.key_id,
        upstream_status=task.status,
        progress=task.progress,
        usage=dict(task.usage),
        credits_reserved=reserved if isinstance(reserved, int | float) else None,
        submitted_at=now,
        next_poll_at=now + timedelta(seconds=jobs.first_poll_delay()),
        poll_deadline=now + jobs.poll_deadline(),
    )
    return "submitted"


def post_part(
    payer: billing.Payer, generation: Generation, part: UpstreamTask, *, paced: bool = False
) -> evolink.Task:
    """The job's request with this part's `n`, under this part's Idempotency-Key."""
    with jobs.create_client(payer, paced=paced) as client:
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
    rate_limited = error.status == 429
    if rate_limited or (error.retryable and attempts < jobs.MAX_SUBMIT_ATTEMPTS):
        # EvoLink certainly created nothing (429, refused connection): the part waits
        # unclaimed, and the whole job goes back to the queue until `not_before`.
        UpstreamTask.objects.filter(pk=part.pk, state=PartState.SUBMITTING).update(
            state=PartState.PENDING, claimed_at=None, **leases.ROWS.cleared()
        )
        # A 429 is not an attempt (as for a whole job: jobs._submit_failed).
        delay = (
            jobs.rate_limited_delay(error)
            if rate_limited
            else error.retry_after or 10 * 2 ** (attempts - 1)
        )
        Generation.objects.transition(
            generation.pk,
            State.SUBMITTING,
            state=State.QUEUED,
            not_before=timezone.now() + timedelta(seconds=delay),
            **leases.ROWS.cleared(),
            **({"submit_attempts": F("submit_attempts") - 1} if rate_limited else {}),
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
    held = [r for r in reserved if r is not None]
    first_key = next((p.api_key_id for p in parts if p.task_id), None)
    Generation.objects.transition(
        pk,
        State.SUBMITTING,
        state=State.RUNNING,
        submitted_at=timezone.now(),
        **leases.ROWS.cleared(),
        error_message="",
        api_key_id=first_key,
        # Until every part holds its reservation the whole job's estimate counts, so
        # a budget never sees less than the job may cost.
        credits_reserved=sum(held, Decimal(0)) if len(held) == len(reserved) else None,
    )
    return settle(pk) or "submitted"


def _end_part(part_pk: int, state: str, code: str, message: str, **changes: Any) -> bool:
    return bool(
        UpstreamTask.objects.filter(pk=part_pk, state__in=PART_IN_FLIGHT).update(
            state=state,
            error_code=code,
            error_message=message,
            finished_at=timezone.now(),
            **leases.ROWS.cleared(),
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
    lapsed = leases.ROWS.free(now)
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
            pk, State.SUBMITTING, state=State.QUEUED, not_before=now, **leases.ROWS.cleared()
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
