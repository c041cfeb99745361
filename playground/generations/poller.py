"""The poller: reads every RUNNING task upstream at EvoLink's cadence and archives what
finished. It runs as a thread of each django-q worker process, not as a task.

Why a thread: polling only waits on the network. As a django-q task it held one of the
cluster's worker slots for as long as anything was in flight, so every submit and every
archive queued behind the others on the slots left (with 2 workers: 4–7.5 s from
"seen complete" to "archived", see bench/). As a thread it takes no slot, and it
archives a finished task in its own bounded pool the moment it sees it complete.

One poller per deployment: every worker process starts a `PollerThread` (django-q2's
`post_spawn`); the one holding the "poller" lease (a `Lease` row, under the rule of
every lease: leases.py) polls, the others stand by and try to take the lease every
second (the stand-by, the heartbeat and the hand-back are lease_threads.py's, shared
with the submitter).

Everything the poller changes is a compare-and-set on the row, so a pass interrupted
anywhere is simply done again by the next holder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, connections
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from playground import stored_messages
from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.evolink import upstream
from playground.generations import fanout_reads, jobs, rereads, spend
from playground.generations.lease_threads import STOP_SECONDS, Heartbeat, LeasedThread, OneThread
from playground.generations.models import (
    Generation,
    HistoryClock,
    PartState,
    State,
    UpstreamTask,
)

log = logging.getLogger(__name__)

LEASE = "poller"
# Reads in flight at once (each only waits on EvoLink), and archives at once (each
# downloads up to 10 images and makes thumbnails: CPU, so fewer). 1,000 jobs read every
# 3 s are ~330 reads a second: at a 100 ms round trip to EvoLink that needs ~33 reads in
# flight.
READ_THREADS = 48
ARCHIVE_THREADS = 4
# Rows read per pass: a pass must stay short so the next one sees fresh due rows.
ROWS_PER_PASS = 200
# How often the holder looks for lapsed archive leases (crashed or backed-off archives).
SWEEP_SECONDS = 2.0
# Clients are rebuilt this often, so a key an admin replaced is picked up.
CLIENTS_MAX_AGE = 60.0


def tick_seconds() -> float:
    """The longest pause between passes: how long a callback's "read it now" may wait."""
    return jobs._setting("PLAYGROUND_POLLER_TICK_SECONDS", 0.25)


def pause_before_next_pass() -> float:
    """Until the next read falls due, at most `tick_seconds()`: a read happens when it is
    due, not up to a tick later (a finished task is seen that much sooner)."""
    tick = tick_seconds()
    nearest = Generation.objects.filter(state=State.RUNNING).aggregate(at=Min("next_poll_at"))
    part = UpstreamTask.objects.filter(state=PartState.RUNNING).aggregate(at=Min("next_poll_at"))
    times: list[datetime] = [at for at in (nearest["at"], part["at"]) if at is not None]
    if not times:
        return tick
    return min(tick, max(0.0, (min(times) - timezone.now()).total_seconds()))


# --- The thread -------------------------------------------------------------------------


class PollerThread(LeasedThread):
    """Stands by for the "poller" lease, polls while holding it, until `stop()`."""

    lease = LEASE
    role = "poller"

    def before_standby(self) -> None:
        """A worker that starts may follow a crash: wake work whose worker vanished."""
        try:
            jobs.reconcile()
        except Exception:
            log.exception("poller: start-up reconcile failed")
            connection.close()

    def hold(self) -> None:
        """Poll while the lease is ours; hand it and unfinished archives back on stop."""
        seconds = jobs.poller_lease_seconds()
        with (
            Heartbeat(LEASE, self.holder, seconds) as heartbeat,
            ThreadPoolExecutor(READ_THREADS, thread_name_prefix="poll-read") as reads,
            Archiver() as archiver,
        ):
            clients, clients_made = Clients(), time.monotonic()
            next_sweep = 0.0
            try:
                while not self.stopping.is_set():
                    if time.monotonic() - clients_made > CLIENTS_MAX_AGE:
                        clients.close()
                        clients, clients_made = Clients(), time.monotonic()
                    try:
                        read = poll_due(clients, reads, archive_with=archiver.submit)
                        if time.monotonic() >= next_sweep:
                            jobs.wake_archives(archive_with=archiver.submit)
                            next_sweep = time.monotonic() + SWEEP_SECONDS
                    except (OperationalError, InterfaceError):
                        # The database restarted or dropped us: reconnect on the next
                        # pass instead of dying (nothing was half-done: every change is
                        # a compare-and-set).
                        log.warning("poller: database unavailable; retrying", exc_info=True)
                        connection.close()
                        self.stopping.wait(1)
                        continue
                    # Another poller took over after our lease lapsed: leave it the work.
                    if not heartbeat.beat():
                        return
                    # A full pass means more rows are due: go on at once.
                    if read < ROWS_PER_PASS:
                        self.stopping.wait(pause_before_next_pass())
            finally:
                clients.close()
                archiver.shutdown(STOP_SECONDS)
                heartbeat.stop()
                self.release()


_thread = OneThread(PollerThread)
start_in_this_process = _thread.start


def on_worker_start(**_kwargs: Any) -> None:
    """django-q2's `post_spawn` (a worker process started). Never raises: an exception
    here would kill the worker and django-q would respawn it in a loop."""
    try:
        # The thread must not share the connection the worker process inherited.
        connections.close_all()
        start_in_this_process()
    except Exception:
        log.exception("could not start the poller thread")


class Archiver:
    """The poller's own bounded pool of archives, each job at most once at a time."""

    def __init__(self, threads: int = ARCHIVE_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="poll-archive")
        self._pending: set[int] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> Archiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(STOP_SECONDS)

    def submit(self, pk: int) -> None:
        with self._lock:
            if pk in self._pending:
                return
            self._pending.add(pk)
        try:
            self._pool.submit(self._archive, pk)
        except RuntimeError:  # shutting down: the row stays for the next poller
            with self._lock:
                self._pending.discard(pk)

    def _archive(self, pk: int) -> None:
        try:
            jobs.archive(pk)
        except Exception:
            # The row keeps its lease: the sweep wakes it again once it lapses.
            log.exception("archive %s crashed", pk)
        finally:
            connection.close()
            with self._lock:
                self._pending.discard(pk)

    def shutdown(self, timeout: float) -> None:
        """Drop archives not started (their rows are unclaimed, so the next poller takes
        them at once) and wait for the running ones, each bounded by its downloads."""
        waiter = threading.Thread(
            target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True}
        )
        waiter.start()
        waiter.join(timeout)


# --- One pass -----------------------------------------------------------------------------


class Clients:
    """One client per key that in-flight jobs were submitted with: a task is read with
    the key that created it (it belongs to that key's EvoLink account)."""

    def __init__(self) -> None:
        self._open: dict[int | None, evolink.Client | evolink.EvoLinkError] = {}

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._open.values():
            if isinstance(client, evolink.Client):
                client.close()
        self._open.clear()

    def for_key(self, key_id: int | None) -> evolink.Client | evolink.EvoLinkError:
        if key_id not in self._open:
            try:
                self._open[key_id] = upstream.client(billing.secret_for(key_id))
            except Exception:  # a key that can no longer be decrypted, say
                log.exception("no client for API key %s", key_id)
                # Retryable: the jobs wait (until their deadline) for the key to work.
                self._open[key_id] = evolink.EvoLinkError.from_code("network_error")
        return self._open[key_id]

    def read_tasks(
        self, reads: list[tuple[int | None, str]], pool: ThreadPoolExecutor | None = None
    ) -> list[evolink.Task | evolink.EvoLinkError]:
        """Read each `(key id, task id)` with its key's client, in `pool` when given;
        the answers in the same order, a failed read as its error (never raised)."""
        # Clients are made here, in the caller's thread; only the reads run in the pool.
        work = [(self.for_key(key_id), task_id) for key_id, task_id in reads]
        return list(pool.map(_read_task, work)) if pool else [_read_task(w) for w in work]


def _read_task(
    work: tuple[evolink.Client | evolink.EvoLinkError, str],
) -> evolink.Task | evolink.EvoLinkError:
    client, task_id = work
    if isinstance(client, evolink.EvoLinkError):
        return client
    try:
        return client.get_task(task_id)
    except evolink.EvoLinkError as error:
        return error


def poll_due(
    clients: Clients,
    pool: ThreadPoolExecutor | None = None,
    archive_with: Callable[[int], None] = jobs.enqueue_archive,
) -> int:
    """Read every RUNNING job whose next poll is due; returns how many were read.
    A job seen complete is handed to `archive_with` (the poller's pool; the queue when
    called outside the poller)."""
    # The parts of jobs sent as several upstream tasks (GPT Image 1.5) are read apart.
    parts = fanout_reads.poll_due_parts(clients, pool, archive_with)
    now = timezone.now()
    due = list(
        Generation.objects.filter(state=State.RUNNING, next_poll_at__lte=now)
        .exclude(upstream_task_id="")
        .order_by("next_poll_at")
        # Read with the key that took over the reading, else the one that paid.
        .annotate(reader=Coalesce("read_api_key_id", "api_key_id"))
        .values_list("pk", "upstream_task_id", "polls", "poll_deadline", "reader", "next_poll_at")[
            :ROWS_PER_PASS
        ]
    )
    if not due:
        return parts

    answers = clients.read_tasks([(row[4], row[1]) for row in due], pool)
    # Rows are updated from this one thread: SQLite allows one writer at a time. Most
    # answers say "still running": those are written in one batch; an ending (once per
    # job) goes through apply_poll.
    now = timezone.now()
    still: list[Reading] = []
    late: list[tuple[int, datetime]] = []
    for (pk, _task_id, polls, deadline, _key, due_at), answer in zip(due, answers, strict=True):
        reading = Reading.of(pk, polls, due_at, answer, now)
        if reading is None:
            if apply_poll(pk, polls, deadline, answer, due_at):
                archive_with(pk)
            continue
        if isinstance(answer, evolink.EvoLinkError):
            Generation.objects.note_request(pk, "read", answer.request_id, answer.status)
        still.append(reading)
        if deadline and now > deadline:
            late.append((pk, deadline))
    record_readings(still, now)
    for pk, deadline in late:
        _check_deadline(pk, deadline, now)
    return len(due) + parts


@dataclass(frozen=True)
class Reading:
    """A read that leaves the job RUNNING: what to record of it."""

    pk: int
    due_at: datetime | None
    polls: int
    next_poll_at: datetime
    status: str | None  # None: the read failed (retryable); only the schedule moves
    progress: int

    @classmethod
    def of(
        cls,
        pk: int,
        polls: int,
        due_at: datetime | None,
        answer: evolink.Task | evolink.EvoLinkError,
        now: datetime,
    ) -> Reading | None:
        """The reading, or None if the answer ends the job (apply_poll handles it)."""
        next_poll_at = now + timedelta(seconds=jobs.poll_interval(polls + 1))
        if isinstance(answer, evolink.EvoLinkError):
            if answer.retryable or answer.status is None:
                return cls(pk, due_at, polls + 1, next_poll_at, None, 0)
            return None
        if answer.is_failed or answer.is_completed:
            return None
        progress = max(0, min(answer.progress, 99))
        return cls(pk, due_at, polls + 1, next_poll_at, answer.status, progress)


def record_readings(readings: list[Reading], now: datetime) -> None:
    """One statement for a whole pass of "still running" reads (the ORM's per-row
    update cost ~1 ms of CPU each: at 1,000 jobs in flight it was most of a pass).

    Each row is only touched while still RUNNING, and a `next_poll_at` that moved after
    the row was picked (a callback saying "read it now") is kept, as in apply_poll."""
    if not readings:
        return
    table = Generation._meta.db_table
    sql = (
        f"UPDATE {table} SET "  # noqa: S608 - the table name is ours, values are parameters
        "polls = %s, "
        "next_poll_at = CASE WHEN next_poll_at > %s THEN next_poll_at ELSE %s END, "
        "upstream_status = CASE WHEN %s THEN %s ELSE upstream_status END, "
        "progress = CASE WHEN %s THEN %s ELSE progress END, "
        "processing_at = CASE WHEN %s AND processing_at IS NULL THEN %s "
        "ELSE processing_at END, "
        "updated_at = %s "
        "WHERE id = %s AND state = %s"
    )
    rows = []
    for r in readings:
        read = r.status is not None
        rows.append(
            (
                r.polls,
                r.due_at,
                r.next_poll_at,
                read,
                r.status or "",
                read,
                r.progress,
                r.status == "processing",
                now,
                now,
                r.pk,
                State.RUNNING.value,
            )
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    HistoryClock.tick(job_pks=[r.pk for r in readings])


def apply_poll(
    pk: int,
    polls: int,
    deadline: datetime | None,
    answer: evolink.Task | evolink.EvoLinkError,
    due_at: datetime | None = None,
) -> bool:
    """Record one read of a job. True if the job is now ARCHIVING (archive it).

    A read that leaves the job running is written as a pass's readings are
    (record_readings: a callback's "read it now" that arrived since `due_at`, the
    row's `next_poll_at` when it was picked, is kept)."""
    now = timezone.now()
    reading = Reading.of(pk, polls, due_at, answer, now)
    if reading is not None:
        record_readings([reading], now)
        _check_deadline(pk, deadline, now)
        return False
    if isinstance(answer, evolink.EvoLinkError):
        Generation.objects.note_request(pk, "read", answer.request_id, answer.status)
        if answer.status in billing.REFUSING_STATUSES:
            return _read_refused(pk, polls, deadline, answer, due_at)
        Generation.objects.end(pk, State.RUNNING, State.FAILED, answer.code, answer.message)
        return False
    task = answer
    failure = None
    if task.is_failed:
        failure = task.error or evolink.EvoLinkError.from_code("unknown_error")
    elif not task.results:
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
        return False
    return bool(
        Generation.objects.transition(
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
    )


def _read_refused(
    pk: int,
    polls: int,
    deadline: datetime | None,
    error: evolink.EvoLinkError,
    due_at: datetime | None,
) -> bool:
    """A read answered 401/402/403: read on with another healthy key of the team
    (rereads.py); failing that, the job is uncertain and says what to check upstream,
    never "failed, not charged" (the task may have run and been charged)."""
    job = Generation.objects.select_related("team").get(pk=pk)
    found = rereads.read_elsewhere(
        job.team,
        job.upstream_task_id,
        job.read_api_key_id or job.api_key_id,
        error,
        note=lambda other: Generation.objects.note_request(
            pk, "read", other.request_id, other.status
        ),
    )
    if found is not None:
        key, task = found
        Generation.objects.filter(pk=pk, state=State.RUNNING).update(read_api_key=key)
        log.info("job %s: read with key %s after a %s", pk, key.pk, error.status)
        return apply_poll(pk, polls, deadline, task, due_at)
    message = stored_messages.KEY_REFUSED_READ % {
        "task": job.upstream_task_id,
        "reason": error.message.rstrip("."),
    }
    Generation.objects.end(pk, State.RUNNING, State.UNCERTAIN, "read_refused", message)
    return False


def _check_deadline(pk: int, deadline: datetime | None, now: datetime) -> None:
    if deadline and now > deadline:
        minutes = int(jobs.poll_deadline().total_seconds() // 60)
        message = stored_messages.STOPPED_CHECKING % {"minutes": minutes}
        Generation.objects.end(pk, State.RUNNING, State.TIMED_OUT, "local_deadline", message)
