"""Background jobs (django-q2): submit → poll → archive, plus a reconciler.

The row is the truth and the queue only wakes workers up (see
../shared/reliability-notes.md). Every task takes a generation id, claims the row by
compare-and-set before doing anything that costs money or time, and so does nothing
when django-q2 delivers it twice.

- `submit(pk)`: QUEUED → SUBMITTING → RUNNING. At most one POST upstream; a POST that
  may have arrived without us learning the task id ends as UNCERTAIN, never re-sent.
- `poller()`: one loop for the whole deployment (a database lease makes sure), which
  reads every due RUNNING task with bounded concurrency, so no worker waits on a job.
- `archive(pk)`: ARCHIVING → COMPLETED. Downloads results into our storage at
  deterministic keys (a second run overwrites) while the 24 h upstream URLs live.
- `reconcile()`: every minute. Re-wakes work whose worker vanished, without ever
  re-submitting something that may exist upstream.
- `recover()`: enqueued by every worker process as it starts (the `post_spawn` signal,
  see apps.py), so a cluster restarted after a crash or a deploy resumes at once
  instead of waiting for the schedule.

Recovery after a SIGKILL takes seconds, not minutes: the poller's lease is short and
renewed every second by a heartbeat thread (a dead holder stops renewing, so a new
cluster sees it lapse within `poller_lease_seconds()`), an archive's lease is renewed
before each image, and the poller wakes archives whose lease has lapsed. On a graceful
stop (SIGTERM to qcluster) the poller's loop ends within `POLLER_MAX_LOOP_SECONDS`, hands
its lease back and leaves a fresh poller task in the queue for the next cluster.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task
from PIL import Image

from playground.billing import models as billing
from playground.billing import spend
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.generations import callbacks, references
from playground.generations.models import Generation, Lease, ReferenceImage, ResultImage, State

log = logging.getLogger(__name__)

POLLER_LEASE = "poller"
# A graceful stop waits for the task a worker is running: the poller's loop is kept
# short enough for a stop (or a deploy) to finish within 30 s.
POLLER_MAX_LOOP_SECONDS = 20.0


def _setting(name: str, default: float) -> float:
    # Tests and benchmarks tune the cadence; production keeps the documented one.
    return float(getattr(settings, name, default))


def first_poll_delay() -> float:
    return _setting("PLAYGROUND_FIRST_POLL_SECONDS", 3.0)


def poll_interval(polls: int) -> float:
    """3 s while a job is young, then 5 s: EvoLink asks integrators to poll gently."""
    base = _setting("PLAYGROUND_POLL_SECONDS", 3.0)
    return base if polls < 20 else base * 5 / 3


def poller_lease_seconds() -> float:
    """How long a silent poller keeps the lease: its heartbeat renews it every second."""
    return _setting("PLAYGROUND_POLLER_LEASE_SECONDS", 5.0)


def poll_deadline() -> timedelta:
    return timedelta(seconds=_setting("PLAYGROUND_POLL_DEADLINE_SECONDS", 30 * 60))


MAX_SUBMIT_ATTEMPTS = 5
MAX_RESULT_BYTES = 64 * 1024 * 1024
THUMBNAIL_EDGE = 256
# A SUBMITTING row older than this lost its worker mid-POST (twice the HTTP timeout).
SUBMITTING_STALE = timedelta(seconds=90)
# Renewed before each image, so it need only outlast one download; an archive whose
# worker died is picked up by the poller (or recover/reconcile) once it lapses.
ARCHIVE_LEASE = timedelta(seconds=20)
# Archives the poller woke are not woken again for this long (the queue may be busy).
ARCHIVE_REWAKE_SECONDS = 30.0


# --- Enqueueing -----------------------------------------------------------------------


def enqueue_submit(pk: int) -> None:
    async_task(f"{__name__}.submit", pk, task_name=f"submit-{pk}-{uuid.uuid4().hex[:6]}")


def enqueue_archive(pk: int) -> None:
    async_task(f"{__name__}.archive", pk, task_name=f"archive-{pk}-{uuid.uuid4().hex[:6]}")


def ensure_poller() -> None:
    """Start a poller loop unless one is running (its lease is held)."""
    if Lease.is_free(POLLER_LEASE):
        async_task(f"{__name__}.poller", task_name=f"poller-{uuid.uuid4().hex[:8]}")


def enqueue_recover() -> None:
    async_task(f"{__name__}.recover", task_name=f"recover-{uuid.uuid4().hex[:8]}")


# --- Submit ---------------------------------------------------------------------------


def submit(pk: int) -> str:
    """Send one generation upstream. Safe to run twice: only one run claims the row."""
    now = timezone.now()
    claimed = (
        Generation.objects.filter(pk=pk, state=State.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .update(state=State.SUBMITTING, submit_attempts=F("submit_attempts") + 1, updated_at=now)
    )
    if not claimed:
        return "not claimed"
    generation = Generation.objects.select_related("team").get(pk=pk)
    payers = billing.payers_for(generation.team)
    if not payers:
        Generation.objects.end(pk, State.SUBMITTING, State.FAILED, "no_api_key", _no_key_message())
        return "failed"
    refusals: list[str] = []
    for payer in payers:
        try:
            task = _create_with(payer, generation)
        except references.RejectedUpload as rejected:
            # An old reference that fails today's checks: raised before any POST.
            Generation.objects.end(
                pk, State.SUBMITTING, State.FAILED, "reference_rejected", str(rejected)
            )
            return "failed"
        except evolink.EvoLinkError as error:
            if error.status in billing.REFUSING_STATUSES and not error.uncertain:
                # 401 / 402 / 403: EvoLink created nothing, so another key may safely try.
                if payer.key:
                    payer.key.record_refusal(error.status, error.message)
                refusals.append(f"{payer.label}: {error.message}")
                continue
            return _submit_failed(generation, error)
        except Exception:
            # Anything unexpected after the claim may have happened after the POST left:
            # treat it as uncertain rather than risk paying twice.
            log.exception("submit %s crashed", pk)
            _mark_uncertain(pk)
            return "uncertain"
        break
    else:
        Generation.objects.end(
            pk, State.SUBMITTING, State.FAILED, "keys_refused", _refused_message(refusals)
        )
        return "failed"
    if payer.key:
        payer.key.record_use()

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
    )
    ensure_poller()
    return "submitted"


def _create_with(payer: billing.Payer, generation: Generation) -> evolink.Task:
    """Host the references and POST the task with one key (at most one POST)."""
    with upstream.client(payer.secret) as client:
        payload = dict(generation.request_payload)
        payload.pop("image_urls", None)
        payload.pop("callback_url", None)
        links = list(generation.references.select_related("reference"))
        if links:
            # In the person's order. Hosting them costs nothing: an error here is safe
            # to retry, since nothing was sent to the paid endpoint yet.
            payload["image_urls"] = [reference_url(client, link.reference) for link in links]
        if callbacks.enabled():
            payload["callback_url"] = callbacks.url_for(generation.public_id)
        # Record the exact request before sending it (the key is never part of it).
        Generation.objects.filter(pk=generation.pk, state=State.SUBMITTING).update(
            request_payload=payload
        )
        return client.create_task(payload)


def _no_key_message() -> str:
    return _(
        "No EvoLink API key is set up for this team, so nothing was sent and nothing was "
        "charged. Ask your team admin to add one."
    )


def _refused_message(refusals: list[str]) -> str:
    return _(
        "EvoLink refused every API key this team can use, so nothing was sent and nothing "
        "was charged. Ask your team admin to check the team's keys. (%(reasons)s)"
    ) % {"reasons": "; ".join(refusals)}


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


def _mark_uncertain(pk: int) -> bool:
    """The POST may have reached EvoLink: never re-send it on our own."""
    return Generation.objects.end(
        pk, State.SUBMITTING, State.UNCERTAIN, "submission_uncertain", _uncertain_message()
    )


def _uncertain_message() -> str:
    return _(
        "EvoLink may have received this request, but we never got its answer. It may still "
        "run and be billed, so we did not send it again. Submit it again only if you accept "
        "paying twice."
    )


def _submit_failed(generation: Generation, error: evolink.EvoLinkError) -> str:
    now = timezone.now()
    if error.uncertain:
        Generation.objects.end(
            generation.pk, State.SUBMITTING, State.UNCERTAIN, error.code, error.message
        )
        return "uncertain"
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
        )
        return "retry later"
    Generation.objects.end(generation.pk, State.SUBMITTING, State.FAILED, error.code, error.message)
    return "failed"


# --- Poll -----------------------------------------------------------------------------


def poller(wait: bool = False) -> str:
    """Poll every due RUNNING job until none is left or the loop's time is up.

    Holds a lease so that one loop runs per deployment; a heartbeat thread renews it
    every second, so a loop whose process was killed is replaced within seconds. It
    hands over to a fresh copy of itself before the cluster's task timeout would kill
    it (and soon enough for a graceful stop). `wait`: if another holder has the lease,
    watch it and take over if it lapses instead of renewing (its holder is dead).
    """
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    loop_seconds = min(_setting("PLAYGROUND_POLLER_LOOP_SECONDS", 50), POLLER_MAX_LOOP_SECONDS)
    lease_seconds = poller_lease_seconds()
    if not Lease.acquire(POLLER_LEASE, holder, lease_seconds) and not (
        wait and _take_lapsed(POLLER_LEASE, holder, lease_seconds)
    ):
        return "another poller holds the lease"
    started = time.monotonic()
    tick = _setting("PLAYGROUND_POLLER_TICK_SECONDS", 0.5)
    woken: dict[int, float] = {}
    next_sweep = 0.0
    with (
        Heartbeat(POLLER_LEASE, holder, lease_seconds) as heartbeat,
        Clients() as clients,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        while time.monotonic() - started < loop_seconds:
            try:
                poll_due(clients, pool, woken)
                if time.monotonic() >= next_sweep:
                    wake_archives(woken)
                    next_sweep = time.monotonic() + 2
                has_work = _poller_has_work()
            except (OperationalError, InterfaceError):
                # The database restarted or dropped us: reconnect on the next pass
                # instead of dying (nothing was half-done: every change is a CAS).
                log.warning("poller: database unavailable; retrying", exc_info=True)
                connection.close()
                time.sleep(1)
                continue
            # If another poller took over after our lease lapsed, leave the work to it.
            if not heartbeat.beat():
                return "lease lost"
            if not has_work:
                heartbeat.stop()
                Lease.release(POLLER_LEASE, holder)
                # A job may have started between the check and the release.
                if not _poller_has_work():
                    return "idle"
                if not Lease.acquire(POLLER_LEASE, holder, lease_seconds):
                    return "handed over"
                heartbeat.start()
            time.sleep(tick)
        heartbeat.stop()
    Lease.release(POLLER_LEASE, holder)
    ensure_poller()
    return "continued"


def _poller_has_work() -> bool:
    """RUNNING jobs to poll, or archives whose lease lapses soon (to wake them)."""
    soon = timezone.now() + timedelta(seconds=60)
    return (
        Generation.objects.filter(state=State.RUNNING).exists()
        or Generation.objects.filter(state=State.ARCHIVING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=soon))
        .exists()
    )


def _take_lapsed(name: str, holder: str, seconds: float) -> bool:
    """Watch a lease someone else holds: take it if it lapses, give up as soon as its
    holder shows it is alive (renews it) or someone else takes it."""
    first = Lease.objects.filter(name=name).values_list("holder", "expires_at").first()
    deadline = time.monotonic() + seconds + 1
    while time.monotonic() < deadline:
        if Lease.acquire(name, holder, seconds):
            return True
        now = Lease.objects.filter(name=name).values_list("holder", "expires_at").first()
        if now != first:
            return False  # renewed by a live heartbeat, or taken over
        time.sleep(0.2)
    return Lease.acquire(name, holder, seconds)


class Heartbeat:
    """Renews a lease every second from a thread while the holder works, so the lease
    can be short however long one pass takes. Inside a transaction (tests) a thread
    could not see the row: `beat()` then renews from the caller's thread."""

    def __init__(self, name: str, holder: str, seconds: float) -> None:
        self.name, self.holder, self.seconds = name, holder, seconds
        self.interval = min(1.0, seconds / 3)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.lost.clear()
        if connection.in_atomic_block or self._thread:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def beat(self) -> bool:
        """Whether the lease is still ours (renewing it here if no thread does)."""
        if (
            self._thread is None
            and not self.lost.is_set()
            and not Lease.acquire(self.name, self.holder, self.seconds)
        ):
            self.lost.set()
        return not self.lost.is_set()

    def _run(self) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(self.interval):
                try:
                    if not Lease.acquire(self.name, self.holder, self.seconds):
                        self.lost.set()
                        return
                except Exception:  # a locked or briefly unreachable database
                    log.warning("lease %s: heartbeat failed", self.name, exc_info=True)
                    # A broken connection is not reopened by itself: open a new one.
                    connections["default"].close()
        finally:
            connections.close_all()


class Clients:
    """One client per key that in-flight jobs were submitted with: a task is read with
    the key that created it (it belongs to that key's EvoLink account)."""

    def __init__(self) -> None:
        self._open: dict[int | None, evolink.Client | evolink.EvoLinkError] = {}

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._open.values():
            if isinstance(client, evolink.Client):
                client.close()

    def for_key(self, key_id: int | None) -> evolink.Client | evolink.EvoLinkError:
        if key_id not in self._open:
            try:
                self._open[key_id] = upstream.client(billing.secret_for(key_id))
            except Exception:  # a key that can no longer be decrypted, say
                log.exception("no client for API key %s", key_id)
                # Retryable: the jobs wait (until their deadline) for the key to work.
                self._open[key_id] = evolink.EvoLinkError.from_code("network_error")
        return self._open[key_id]


def poll_due(
    clients: Clients,
    pool: ThreadPoolExecutor | None = None,
    woken: dict[int, float] | None = None,
) -> int:
    """Read every RUNNING job whose next poll is due; returns how many were read."""
    now = timezone.now()
    due = list(
        Generation.objects.filter(state=State.RUNNING, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("pk", "upstream_task_id", "polls", "poll_deadline", "api_key_id")[:200]
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

    # Clients are made here, in one thread; only the reads run in the pool.
    work = [(clients.for_key(row[4]), row[1]) for row in due]
    answers = list(pool.map(read, work)) if pool else [read(w) for w in work]
    # Rows are updated from this one thread: SQLite allows one writer at a time.
    for (pk, _task_id, polls, deadline, _key), answer in zip(due, answers, strict=True):
        apply_poll(pk, polls, deadline, answer, woken)
    return len(due)


def apply_poll(
    pk: int,
    polls: int,
    deadline: Any,
    answer: evolink.Task | evolink.EvoLinkError,
    woken: dict[int, float] | None = None,
) -> None:
    now = timezone.now()
    next_poll = now + timedelta(seconds=poll_interval(polls + 1))
    if isinstance(answer, evolink.EvoLinkError):
        if answer.retryable or answer.status is None:
            Generation.objects.transition(
                pk, State.RUNNING, polls=polls + 1, next_poll_at=next_poll
            )
        else:
            Generation.objects.end(pk, State.RUNNING, State.FAILED, answer.code, answer.message)
        _check_deadline(pk, deadline, now)
        return
    task = answer
    failure = None
    if task.is_failed:
        failure = task.error or evolink.EvoLinkError.from_code("unknown_error")
    elif task.is_completed and not task.results:
        failure = evolink.EvoLinkError.from_code("generation_failed_no_content")
    if failure:
        Generation.objects.end(
            pk,
            State.RUNNING,
            State.FAILED,
            failure.code,
            failure.message,
            usage=dict(task.usage),
            credits_charged=spend.charged_from_usage(task.usage),
            upstream_status=task.status,
        )
        return
    if task.is_completed:
        moved = Generation.objects.transition(
            pk,
            State.RUNNING,
            state=State.ARCHIVING,
            upstream_status=task.status,
            progress=100,
            result_urls=list(task.results),
            images_returned=len(task.results),
            usage=dict(task.usage),
            credits_charged=spend.charged_from_usage(task.usage),
            upstream_completed_at=now,
            results_expire_at=now + timedelta(hours=24),
            polls=polls + 1,
        )
        if moved:
            enqueue_archive(pk)
            if woken is not None:
                woken[pk] = time.monotonic()
        return
    changes: dict[str, Any] = {
        "upstream_status": task.status,
        "progress": max(0, min(task.progress, 99)),
        "polls": polls + 1,
        "next_poll_at": next_poll,
    }
    if task.status == "processing":
        Generation.objects.filter(pk=pk, processing_at__isnull=True).update(processing_at=now)
    Generation.objects.transition(pk, State.RUNNING, **changes)
    _check_deadline(pk, deadline, now)


def _check_deadline(pk: int, deadline: Any, now: Any) -> None:
    if deadline and now > deadline:
        minutes = int(poll_deadline().total_seconds() // 60)
        message = _(
            "We stopped checking after %(minutes)d minutes. The task may still finish at "
            "EvoLink: press “Check again” to look."
        ) % {"minutes": minutes}
        Generation.objects.end(pk, State.RUNNING, State.TIMED_OUT, "local_deadline", message)


def poll_soon(pk: int) -> bool:
    """A callback said the task ended: read it at the next poller pass."""
    moved = Generation.objects.transition(pk, State.RUNNING, next_poll_at=timezone.now())
    if moved:
        ensure_poller()
    return moved


def check_again(pk: int) -> bool:
    """A person asks us to look at a job we gave up on; resumes polling."""
    now = timezone.now()
    resumed = Generation.objects.transition(
        pk,
        State.TIMED_OUT,
        state=State.RUNNING,
        error_code="",
        error_message="",
        finished_at=None,
        next_poll_at=now,
        poll_deadline=now + poll_deadline(),
    )
    if resumed:
        ensure_poller()
    return resumed


# --- Archive --------------------------------------------------------------------------


def wake_archives(woken: dict[int, float] | None = None) -> int:
    """Enqueue every ARCHIVING job whose lease has lapsed (its worker died, or its
    retry backoff is over). `woken` remembers what this loop enqueued recently, so a
    busy queue does not fill up with copies (a copy would only find the row claimed)."""
    now, clock = timezone.now(), time.monotonic()
    count = 0
    for pk in (
        Generation.objects.filter(state=State.ARCHIVING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .values_list("pk", flat=True)[:500]
    ):
        if woken is not None:
            if clock - woken.get(pk, -ARCHIVE_REWAKE_SECONDS) < ARCHIVE_REWAKE_SECONDS:
                continue
            woken[pk] = clock
        enqueue_archive(pk)
        count += 1
    return count


def archive(pk: int) -> str:
    """Download every result into our storage, verify it, make thumbnails."""
    now = timezone.now()
    claimed = (
        Generation.objects.filter(pk=pk, state=State.ARCHIVING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + ARCHIVE_LEASE, download_attempts=F("download_attempts") + 1)
    )
    if not claimed:
        return "not claimed"
    generation = Generation.objects.get(pk=pk)
    done = set(generation.images.values_list("index", flat=True))
    failures: list[str] = []
    with upstream.client(billing.secret_for(generation.api_key_id)) as client:
        for index, url in enumerate(generation.result_urls):
            if index in done:
                continue
            # Renew the lease before each image: a dead worker's lease lapses soon.
            Generation.objects.filter(pk=pk, state=State.ARCHIVING).update(
                lease_until=timezone.now() + ARCHIVE_LEASE
            )
            try:
                data = client.download(url, max_bytes=MAX_RESULT_BYTES)
                save_result(generation, index, data)
            except (evolink.EvoLinkError, OSError, ValueError) as error:
                log.warning("archive %s image %s: %s", pk, index, error)
                failures.append(str(error))
    now = timezone.now()
    if not failures:
        Generation.objects.transition(
            pk,
            State.ARCHIVING,
            state=State.COMPLETED,
            lease_until=None,
            finished_at=now,
            error_message="",
        )
        return "completed"
    expired = generation.results_expire_at is not None and now >= generation.results_expire_at
    if expired:
        saved = generation.images.count()
        Generation.objects.transition(
            pk,
            State.ARCHIVING,
            state=State.COMPLETED if saved else State.FAILED,
            error_code="results_expired",
            finished_at=now,
            lease_until=None,
            error_message=_(
                "%(missing)d of %(total)d images could not be saved before EvoLink's links expired."
            )
            % {"missing": len(failures), "total": len(generation.result_urls)},
        )
        return "expired"
    # Retry with backoff: the reconciler re-enqueues once the lease runs out.
    backoff = min(15 * 2 ** (generation.download_attempts - 1), 600)
    Generation.objects.transition(
        pk,
        State.ARCHIVING,
        lease_until=now + timedelta(seconds=backoff),
        error_message=_("Saving the images failed; retrying.") + f" ({failures[0]})",
    )
    return "retry later"


def save_result(generation: Generation, index: int, data: bytes) -> ResultImage:
    """Verify one downloaded image, store it and its thumbnail at deterministic keys."""
    with Image.open(io.BytesIO(data)) as probe:
        probe.verify()  # raises on a truncated or corrupt file
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        fmt = image.format or "PNG"
        width, height = image.size
        image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # shrink before converting
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=80)
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(fmt, fmt.lower())
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
        },
    )
    return result


def _overwrite(name: str, data: bytes) -> str:
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


# --- Reconcile ------------------------------------------------------------------------


def reconcile() -> dict[str, int]:
    """Every minute: pick up work whose worker vanished. Never re-submits uncertain work."""
    now = timezone.now()
    counts = {"submit": 0, "uncertain": 0, "archive": 0, "poller": 0}
    due = Generation.objects.filter(state=State.QUEUED).filter(
        Q(not_before__isnull=True, created_at__lt=now - timedelta(seconds=30))
        | Q(not_before__lte=now)
    )
    for pk in due.values_list("pk", flat=True)[:500]:
        enqueue_submit(pk)
        counts["submit"] += 1
    # A worker died between claiming and answering: the POST may have gone out.
    for pk in Generation.objects.filter(
        state=State.SUBMITTING, updated_at__lt=now - SUBMITTING_STALE
    ).values_list("pk", flat=True):
        counts["uncertain"] += _mark_uncertain(pk)
    counts["archive"] = wake_archives()
    if _poller_has_work() and Lease.is_free(POLLER_LEASE):
        ensure_poller()
        counts["poller"] = 1
    return counts


def recover() -> dict[str, int]:
    """Run by each worker process as it starts: a reconcile, then, if the poller's lease
    is held, watch it and become the poller if it lapses (its holder died with the last
    cluster). Returns at once when the holder's heartbeat shows it is alive."""
    counts = reconcile()
    if not counts["poller"] and _poller_has_work():
        counts["poller"] = int(poller(wait=True) != "another poller holds the lease")
    return counts


def on_worker_start(**_kwargs: Any) -> None:
    """django-q2's `post_spawn` (a worker process started): enqueue `recover()`.

    Never raises: an exception here would kill the worker and django-q would respawn it
    in a loop."""
    try:
        enqueue_recover()
    except Exception:
        log.exception("could not enqueue the start-up recovery")
    finally:
        # The worker must not inherit this connection into the task it runs next.
        from django.db import connections

        connections.close_all()
