"""Background jobs (django-q2): submit → poll → archive, plus a reconciler.

The row is the truth and the queue only wakes workers up. Every task takes a generation
id, claims the row by compare-and-set before doing anything that costs money or time,
and so does nothing when django-q2 delivers it twice (its ORM broker runs a task again
when its worker was killed).

- `send(pk)`: QUEUED → SUBMITTING → RUNNING. At most one POST upstream; a POST that
  may have arrived without us learning the task id ends as UNCERTAIN, never re-sent.
  Which key pays, and the next key when EvoLink refuses one, is payers.py. The
  submitter (submitter.py, a thread of each worker process) calls it for every queued
  job, in the fair order (fair_order.py), many at once; the queue's `submit(pk)` task
  leaves the job to it, and sends it itself only when no submitter is running.
- polling: `playground.generations.poller`, a thread of each worker process (one of them
  holds a lease), reads every due RUNNING task and archives what finished in its own
  bounded pool.
- `archive(pk)`: ARCHIVING → COMPLETED. Downloads results into our storage at
  deterministic keys (a second run overwrites) while the 24 h upstream URLs live.
- `reconcile()`: every minute, and when a poller thread starts (a worker process
  started, maybe after a crash). Re-wakes work whose worker vanished, without ever
  re-submitting something that may exist upstream.

Who works on a row is a lease on it (leases.py: the one rule for taking, renewing,
releasing, and what a crash leaves). Recovery after a SIGKILL takes seconds, not
minutes: the poller's lease is short and renewed every second (a dead holder stops
renewing, so a standby takes over within `poller_lease_seconds()`), an archive's lease
is renewed before each image, and the poller wakes archives whose lease has lapsed.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task
from PIL import Image

from playground import catalogue, imageformats, request_rules, stored_messages
from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.generations import callbacks, mask_uploads, pacing, references, signals
from playground.generations.models import (
    FINAL_STATES,
    Generation,
    HistoryClock,
    Lease,
    MaskImage,
    ReferenceImage,
    ResultImage,
    State,
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


def _setting(name: str, default: float) -> float:
    # Tests and benchmarks tune the cadence; production keeps the documented one.
    return float(getattr(settings, name, default))


def first_poll_delay() -> float:
    return _setting("PLAYGROUND_FIRST_POLL_SECONDS", 3.0)


def poll_interval(polls: int) -> float:
    """Every 3 s, however long the job runs: EvoLink asks for a read every 3-5 s, and a
    finished task waits for its next read (half an interval on average) before anyone
    sees its images; at 4 s the long jobs' median alone took 2 s."""
    return _setting("PLAYGROUND_POLL_SECONDS", 3.0)


def poller_lease_seconds() -> float:
    """How long a silent poller keeps the lease: its heartbeat renews it every second."""
    return _setting("PLAYGROUND_POLLER_LEASE_SECONDS", 5.0)


def poll_deadline() -> timedelta:
    return timedelta(seconds=_setting("PLAYGROUND_POLL_DEADLINE_SECONDS", 30 * 60))


MAX_SUBMIT_ATTEMPTS = 5
MAX_RESULT_BYTES = 64 * 1024 * 1024
THUMBNAIL_EDGE = 256
# A submit's lease: a SUBMITTING row whose lease lapsed lost its worker mid-POST (twice
# the HTTP timeout). Never taken over: the reconciler ends it as UNCERTAIN.
SUBMITTING_STALE = timedelta(seconds=90)
# The lease of the one submitter of a deployment (submitter.py).
SUBMITTER_LEASE = "submitter"
# Renewed before each image, so it need only outlast one download; an archive whose
# worker died is picked up by the poller (or recover/reconcile) once it lapses.
ARCHIVE_LEASE = timedelta(seconds=20)

# --- Enqueueing -----------------------------------------------------------------------


def enqueue_submit(pk: int) -> None:
    """Wake a worker to send job `pk`: unneeded while a submitter runs, since it finds
    every queued job itself (a 200-cell matrix run would be 200 tasks doing nothing)."""
    if submitter_is_running():
        return
    async_task(f"{__name__}.submit", pk, task_name=f"submit-{pk}-{uuid.uuid4().hex[:6]}")


def enqueue_archive(pk: int) -> None:
    async_task(f"{__name__}.archive", pk, task_name=f"archive-{pk}-{uuid.uuid4().hex[:6]}")


# --- Submit ---------------------------------------------------------------------------


def submitter_is_running() -> bool:
    """Whether a worker process's submitter (submitter.py) holds its lease now."""
    return not Lease.is_free(SUBMITTER_LEASE)


def submit(pk: int) -> str:
    """The queue's task for a new job: send it, unless a submitter is running.

    A running submitter sends every queued job itself, in the fair order and without
    holding a worker slot per POST (submitter.py), so this task then only leaves the
    job to it. Without one (no cluster yet, `sync` mode, tests) the job is sent here,
    as before the submitter existed: first come first served, and without the team's
    per-member limits, which only the submitter's order applies."""
    if submitter_is_running():
        return "left to the submitter"
    return send(pk)


def send(pk: int, *, paced: bool = False) -> str:
    """Send one generation upstream. Safe to run twice: only one run claims the row.

    `paced`: the caller paces each key itself (the submitter, pacing.py), so a 429 with
    a Retry-After comes back at once instead of being slept on in this thread."""
    from playground.generations import fanout  # it builds on this module

    if fanout.splits(pk):
        # gpt-image-1.5 takes n = 1 per request: one upstream task per image.
        return fanout.submit(pk, paced=paced)
    now = timezone.now()
    # A queued job is nobody's: claimed by its state, taking the submit's lease with it.
    claimed = leases.ROWS.claim(
        Generation.objects.filter(pk=pk, state=State.QUEUED).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        ),
        leases.new_holder(),
        SUBMITTING_STALE,
        state=State.SUBMITTING,
        submit_attempts=F("submit_attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return "not claimed"
    HistoryClock.tick(job_pks=[pk])
    generation = Generation.objects.select_related("team").get(pk=pk)
    if not availability.is_available(generation.team, generation.model):
        # Switched off after the job was queued: nothing is sent.
        return _model_switched_off(generation)
    payers = choose_payers(generation)
    if not payers:
        code, message = no_payer_reason(generation)
        if code == "model_not_found":
            return _model_gone(generation)
        Generation.objects.end(pk, State.SUBMITTING, State.FAILED, code, message)
        return "failed"
    try:
        payer, task = send_with_failover(
            payers,
            noting_requests(pk, lambda payer: _create_with(payer, generation, paced=paced)),
            generation,
        )
    except references.RejectedUpload as rejected:
        # An old reference that fails today's checks: raised before any POST.
        Generation.objects.end(
            pk, State.SUBMITTING, State.FAILED, "reference_rejected", str(rejected)
        )
        return "failed"
    except ModelGone:
        return _model_gone(generation)
    except AllKeysRefused as refused:
        Generation.objects.end(
            pk, State.SUBMITTING, State.FAILED, "keys_refused", _refused_message(refused.reasons)
        )
        return "failed"
    except evolink.EvoLinkError as error:
        return _submit_failed(generation, error)
    except Exception:
        # Anything unexpected after the claim may have happened after the POST left:
        # treat it as uncertain rather than risk paying twice.
        log.exception("submit %s crashed", pk)
        _mark_uncertain(pk)
        return "uncertain"

    now = timezone.now()
    reserved = task.usage.get("credits_reserved")
    Generation.objects.transition(
        pk,
        State.SUBMITTING,
        state=State.RUNNING,
        upstream_task_id=task.id,
        upstream_status=task.status,
        progress=task.progress,
        usage=dict(task.usage),
        credits_reserved=reserved if isinstance(reserved, int | float) else None,
        submitted_at=now,
        api_key_id=payer.key_id,
        next_poll_at=now + timedelta(seconds=first_poll_delay()),
        poll_deadline=now + poll_deadline(),
        # The submit's lease ends with it (a state compare-and-set suffices: a submit's
        # lease is never taken over, only ended by the reconciler, which moves the state).
        **leases.ROWS.cleared(),
    )
    return "submitted"


def idempotency_key(generation: Generation, part: int | None = None) -> str:
    """The Idempotency-Key of a job's upstream task: from ids stored with the row before
    anything is sent, so every attempt at the same task sends the same key."""
    key = f"gen-{generation.public_id.hex}"
    return key if part is None else f"{key}-part-{part}"


def upstream_payload(client: evolink.Client, generation: Generation) -> dict[str, Any]:
    """The request body of a job: its settings, hosted references, callback."""
    payload = dict(generation.request_payload)
    payload.pop("image_urls", None)
    payload.pop("callback_url", None)
    payload.pop("mask_url", None)
    links = list(generation.references.select_related("reference", "mask"))
    if links:
        # In the person's order. Hosting them costs nothing: an error here is safe
        # to retry, since nothing was sent to the paid endpoint yet.
        payload["image_urls"] = [reference_url(client, link.reference) for link in links]
    if masked := mask_uploads.of_job_links(links):
        # gpt-image-2 edits only (request_body drops it for any other model). Checked
        # once more against the reference as EvoLink will get it (an old reference is
        # re-encoded above, which may change its size): a mismatch fails the job here,
        # before anything is paid, rather than upstream.
        reference = next(link.reference for link in links if link.mask_id == masked.mask.pk)
        if not mask_uploads.fits(masked, reference):
            raise references.RejectedUpload(mask_uploads.wrong_size(masked.mask, reference))
        payload["mask_url"] = mask_url(client, masked.mask)
    if callbacks.enabled():
        payload["callback_url"] = callbacks.url_for(generation.public_id)
    # Only what the reference lists for this model: EvoLink refuses anything else.
    return request_rules.request_body(generation.spec, payload)


def _model_gone(generation: Generation) -> str:
    """EvoLink does not offer the model (to this team's keys): fail once, not charged,
    and tell the team's admins once."""
    ended = Generation.objects.end(
        generation.pk,
        State.SUBMITTING,
        State.FAILED,
        "model_not_found",
        availability.gone_message(generation.model),
    )
    if ended:
        availability.tell_admins_once(generation.team, generation.model)
    return "failed"


def _model_switched_off(generation: Generation) -> str:
    spec = catalogue.MODELS.get(generation.model)
    message = stored_messages.MODEL_OFF % {"model": spec.label if spec else generation.model}
    Generation.objects.end(generation.pk, State.SUBMITTING, State.FAILED, "model_off", message)
    return "failed"


def create_client(payer: billing.Payer, *, paced: bool) -> evolink.Client:
    """The client a create is sent with: one that hands every Retry-After back when
    the caller paces its keys (the submitter rests the key instead of a thread)."""
    return upstream.client(payer.secret, max_retry_after=0 if paced else None)


def _create_with(payer: billing.Payer, generation: Generation, *, paced: bool) -> evolink.Task:
    """Host the references and POST the task with one key (at most one POST)."""
    with create_client(payer, paced=paced) as client:
        payload = upstream_payload(client, generation)
        # Record the exact request before sending it (the key is never part of it).
        Generation.objects.filter(pk=generation.pk, state=State.SUBMITTING).update(
            request_payload=payload
        )
        return client.create_task(payload, idempotency_key=idempotency_key(generation))


# Stored in English, shown in each reader's language (playground/stored_messages.py).
def _refused_message(refusals: list[str]) -> str:
    return stored_messages.KEYS_REFUSED % {"reasons": "; ".join(refusals)}


def reference_url(client: evolink.Client, reference: ReferenceImage) -> str:
    """Where EvoLink will download a reference from: our signed public link, or a copy
    on EvoLink's Files API (uploaded once and reused while it has a day left)."""
    # Never the uploaded bytes: an old row is re-encoded first (once).
    reference = references.ensure_ours(reference)
    if not references.hosted_by_files_api():
        return references.public_url(reference)
    fresh_until = timezone.now() + timedelta(days=1)
    if (
        reference.files_api_url
        and reference.files_api_expires_at
        and (reference.files_api_expires_at > fresh_until)
    ):
        return reference.files_api_url
    with reference.file.open("rb") as f:
        uploaded = client.upload_file(
            f,
            filename=f"{reference.sha256[:16]}.{reference.extension}",
            content_type=reference.content_type,
        )
    ReferenceImage.objects.filter(pk=reference.pk).update(
        files_api_url=uploaded.file_url, files_api_expires_at=uploaded.expires_at
    )
    return uploaded.file_url


def mask_url(client: evolink.Client, mask: MaskImage) -> str:
    """Where EvoLink will download a job's mask: hosted as its references are."""
    if not references.hosted_by_files_api():
        return mask_uploads.public_url(mask)
    with mask.file.open("rb") as f:
        uploaded = client.upload_file(f, filename=f"mask-{mask.pk}.png", content_type="image/png")
    return uploaded.file_url


def _mark_uncertain(pk: int) -> bool:
    """The POST may have reached EvoLink: never re-send it on our own."""
    return Generation.objects.end(
        pk, State.SUBMITTING, State.UNCERTAIN, "submission_uncertain", _uncertain_message()
    )


def _uncertain_message() -> str:
    return stored_messages.SUBMISSION_UNCERTAIN


def _submit_failed(generation: Generation, error: evolink.EvoLinkError) -> str:
    now = timezone.now()
    if error.uncertain:
        Generation.objects.end(
            generation.pk, State.SUBMITTING, State.UNCERTAIN, error.code, error.message
        )
        return "uncertain"
    if error.status == 429:
        # Rate limited: EvoLink created nothing. Not an attempt (a busy key must not
        # fail jobs): the job waits for the Retry-After, and its key rests as long
        # (pacing.py), while other keys' jobs go on.
        Generation.objects.transition(
            generation.pk,
            State.SUBMITTING,
            state=State.QUEUED,
            not_before=now + timedelta(seconds=rate_limited_delay(error)),
            submit_attempts=F("submit_attempts") - 1,
            error_message=error.message,
            **leases.ROWS.cleared(),
        )
        return "retry later"
    if error.retryable and generation.submit_attempts < MAX_SUBMIT_ATTEMPTS:
        # The upstream certainly created nothing (refused connection, 429): try again
        # later. The reconciler picks the row up once `not_before` has passed.
        delay = error.retry_after or 10 * 2 ** (generation.submit_attempts - 1)
        Generation.objects.transition(
            generation.pk,
            State.SUBMITTING,
            state=State.QUEUED,
            not_before=now + timedelta(seconds=delay),
            error_message=error.message,
            **leases.ROWS.cleared(),
        )
        return "retry later"
    Generation.objects.end(generation.pk, State.SUBMITTING, State.FAILED, error.code, error.message)
    return "failed"


def rate_limited_delay(error: evolink.EvoLinkError) -> float:
    """How long a job waits after a 429: its Retry-After, else a key's usual rest."""
    if error.retry_after is not None and error.retry_after > 0:
        return error.retry_after
    return pacing.DEFAULT_REST_SECONDS


# --- Poll (the loop itself is playground.generations.poller) ---------------------------


def poll_soon(pk: int, task_id: str = "") -> bool:
    """A callback said the task ended: read it at the poller's next pass."""
    from playground.generations import fanout, fanout_reads  # they build on this module

    if fanout.has_parts(pk):
        return fanout_reads.poll_soon(pk, task_id)
    return Generation.objects.transition(pk, State.RUNNING, next_poll_at=timezone.now())


def check_again(pk: int) -> bool:
    """A person asks us to look at a job we gave up on; resumes polling."""
    from playground.generations import fanout, fanout_reads  # they build on this module

    now = timezone.now()
    split = fanout.has_parts(pk)
    resumed = Generation.objects.transition(
        pk,
        State.TIMED_OUT,
        state=State.RUNNING,
        error_code="",
        error_message="",
        finished_at=None,
        # A split job is read part by part (fanout_reads.check_again), never as a whole.
        next_poll_at=None if split else now,
        poll_deadline=now + poll_deadline(),
    )
    if resumed and split:
        fanout_reads.check_again(pk)
    return resumed


# --- Archive --------------------------------------------------------------------------


def wake_archives(archive_with: Callable[[int], None] = enqueue_archive) -> int:
    """Hand every ARCHIVING job whose lease has lapsed (its worker died, or its retry
    backoff is over) to `archive_with`: the poller's pool, else the queue."""
    now = timezone.now()
    count = 0
    for pk in Generation.objects.filter(leases.ROWS.free(now), state=State.ARCHIVING).values_list(
        "pk", flat=True
    )[:500]:
        archive_with(pk)
        count += 1
    from playground.generations import fanout_reads  # it builds on this module

    return count + fanout_reads.wake_archives(archive_with)


def archive(pk: int) -> str:
    """Download every result into our storage, verify it, make thumbnails."""
    from playground.generations import fanout, fanout_reads  # they build on this module

    if fanout.has_parts(pk):
        return fanout_reads.archive(pk)
    holder = leases.new_holder()
    archiving = Generation.objects.filter(pk=pk, state=State.ARCHIVING)
    if not leases.ROWS.take(
        archiving, holder, ARCHIVE_LEASE, download_attempts=F("download_attempts") + 1
    ):
        return "not claimed"
    generation = Generation.objects.get(pk=pk)
    done = set(generation.images.values_list("index", flat=True))
    failures: list[str] = []
    with upstream.client(billing.secret_for(generation.api_key_id)) as client:
        for index, url in enumerate(generation.result_urls):
            if index in done:
                continue
            # Renew the lease before each image: a dead worker's lease lapses soon. If
            # it is gone, another worker took the job over after ours lapsed: leave it
            # the work (the images saved so far are at the keys it writes too).
            if not leases.ROWS.renew(archiving, holder, ARCHIVE_LEASE):
                return "lost its lease"
            try:
                data = client.download(url, max_bytes=MAX_RESULT_BYTES)
                save_result(generation, index, data)
            except (evolink.EvoLinkError, OSError, ValueError) as error:
                log.warning("archive %s image %s: %s", pk, index, error)
                failures.append(str(error))
    now = timezone.now()
    if not failures:
        _archive_ends(
            pk, holder, state=State.COMPLETED, finished_at=now, error_message="", lease=None
        )
        return "completed"
    expired = generation.results_expire_at is not None and now >= generation.results_expire_at
    if expired:
        saved = generation.images.count()
        _archive_ends(
            pk,
            holder,
            state=State.COMPLETED if saved else State.FAILED,
            error_code="results_expired",
            finished_at=now,
            error_message=stored_messages.RESULTS_EXPIRED
            % {"missing": len(failures), "total": len(generation.result_urls)},
            lease=None,
        )
        return "expired"
    # Retry with backoff: the lease is kept for it, and once it lapses the poller's
    # sweep (or the reconciler) hands the job to an archiver again.
    backoff = min(15 * 2 ** (generation.download_attempts - 1), 600)
    _archive_ends(
        pk,
        holder,
        error_message=f"{stored_messages.SAVING_RETRY} ({failures[0]})",
        lease=timedelta(seconds=backoff),
    )
    return "retry later"


def _archive_ends(pk: int, holder: str, *, lease: timedelta | None, **changes: Any) -> bool:
    """Record how an archive ended, if `holder` still holds the job: releasing the lease
    (`lease=None`) or keeping it for `lease` (a retry's backoff)."""
    archiving = Generation.objects.filter(pk=pk, state=State.ARCHIVING)
    changes["updated_at"] = timezone.now()
    if lease is None:
        moved = leases.ROWS.release(archiving, holder, **changes)
    else:
        moved = leases.ROWS.renew(archiving, holder, lease, **changes)
    if moved:
        HistoryClock.tick(job_pks=[pk])
        if changes.get("state") in FINAL_STATES:
            signals.announce_finished(pk, changes["state"])
    return moved


def save_result(generation: Generation, index: int, data: bytes) -> ResultImage:
    """Verify one downloaded image, store it and its thumbnail at deterministic keys."""
    with Image.open(io.BytesIO(data)) as probe:
        probe.verify()  # raises on a truncated or corrupt file
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        fmt = image.format or "PNG"
        width, height = image.size
        alpha = has_alpha(image)
        image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # shrink before converting
        buffer = io.BytesIO()
        # method=0: the fastest encoder (7 ms instead of 13 for a 256 px thumbnail,
        # measured); at 1,000 jobs in flight archiving competes with polling for CPU.
        # WebP keeps an alpha channel, so a transparent image's thumbnail stays one.
        image.convert("RGBA" if alpha else "RGB").save(buffer, "WEBP", quality=80, method=0)
    ext = imageformats.extension(fmt, default=fmt.lower())
    base = f"results/{generation.public_id}"
    file_name = _overwrite(f"{base}/{index}.{ext}", data)
    thumb_name = _overwrite(f"{base}/{index}.thumb.webp", buffer.getvalue())
    result, _created = ResultImage.objects.update_or_create(
        generation=generation,
        index=index,
        defaults={
            "file": file_name,
            "thumbnail": thumb_name,
            "format": fmt,
            "width": width,
            "height": height,
            "bytes": len(data),
            "has_alpha": alpha,
        },
    )
    return result


def has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is less than opaque (an alpha channel, or a palette or
    grayscale transparency); the file itself is stored as it came, never flattened."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # One band's extrema are a (low, high) pair of numbers (a pair of pairs only
        # for an image of several bands, which the alpha channel is not).
        low = image.convert("RGBA").getchannel("A").getextrema()[0]
        return isinstance(low, int | float) and low < 255
    return False


def _overwrite(name: str, data: bytes) -> str:
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


# --- Reconcile ------------------------------------------------------------------------


def reconcile() -> dict[str, int]:
    """Every minute: pick up work whose worker vanished. Never re-submits uncertain work."""
    now = timezone.now()
    counts = {"submit": 0, "uncertain": 0, "archive": 0}
    due = Generation.objects.filter(state=State.QUEUED).filter(
        Q(not_before__isnull=True, created_at__lt=now - timedelta(seconds=30))
        | Q(not_before__lte=now)
    )
    # A running submitter sends every queued job itself, in the fair order.
    for pk in [] if submitter_is_running() else due.values_list("pk", flat=True)[:500]:
        enqueue_submit(pk)
        counts["submit"] += 1
    # A worker died between claiming and answering: the POST may have gone out.
    # (A split job's POSTs are its parts': fanout.reconcile judges each one.)
    # (`updated_at` too: a row claimed before submits took a lease has no `until`.)
    for pk in (
        Generation.objects.filter(
            leases.ROWS.free(now), state=State.SUBMITTING, updated_at__lt=now - SUBMITTING_STALE
        )
        .exclude(upstream_tasks__isnull=False)
        .values_list("pk", flat=True)
    ):
        counts["uncertain"] += _mark_uncertain(pk)
    from playground.generations import fanout  # it builds on this module

    split = fanout.reconcile()
    counts["submit"] += split["parts_resumed"]
    counts["uncertain"] += split["parts_uncertain"]
    counts["archive"] = wake_archives()
    return counts


# Tasks that versions before the poller thread enqueued may still wait in a broker
# after an upgrade: they find nothing to do.
def poller(*_args: Any, **_kwargs: Any) -> str:
    return "the poller is a thread of each worker process now"


def recover(*_args: Any, **_kwargs: Any) -> str:
    return poller()
