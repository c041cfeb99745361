"""The submitter: sends queued jobs upstream in the fair order, many at once, without
holding a worker slot per POST. It runs as a thread of each worker process, as the
poller does (poller.py).

Why: a create waits seconds on EvoLink (two minutes at worst, longer with many
references). As one django-q task per job, each POST held one of the cluster's few
worker slots, so a 200-cell matrix run went out at one create per second per slot,
first come first served, and a colleague's single job waited behind all of it. Here
creates wait on the network in a bounded pool (`creates_in_flight()`), each key is
paced on its own (pacing.py: creates in flight and per second per key, a rest after
a 429), and the next job is always the first of `fair_order.waiting()`: round-robin
between teams and people, held back by a team's per-member limits.

One submitter per deployment: every worker process starts a `SubmitterThread`; the one
holding the "submitter" lease (`jobs.SUBMITTER_LEASE`, renewed every second by a
heartbeat, under the rule of every lease: leases.py) sends, the others stand by. The
queue's `jobs.submit` task then leaves each job to it.

What guarantees one POST per task is unchanged, because every create still goes
through `jobs.send`: the job is claimed by the same compare-and-set (QUEUED →
SUBMITTING, taking the submit's lease) before its one POST, with the same
Idempotency-Key; a lost answer makes it UNCERTAIN; and the reconciler ends a claim
whose worker died as UNCERTAIN, never sending it again. A job handed to the pool but
not yet claimed is still QUEUED, so a submitter killed at any moment leaves nothing
that the next one (or the reconciler) does not pick up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection

from playground.generations import fair_order, jobs, pacing
from playground.generations.lease_threads import STOP_SECONDS, Heartbeat, LeasedThread, OneThread
from playground.generations.models import Generation
from playground.generations.payers import choose_payers

log = logging.getLogger(__name__)

LEASE = jobs.SUBMITTER_LEASE
# Jobs looked at per pass: enough to find other keys' jobs behind a resting key's.
ROWS_PER_PASS = 200
# The least time between two passes (at most 20 a second, however fast creates end).
PASS_GAP_SECONDS = 0.05


def creates_in_flight() -> int:
    """Creates waiting on EvoLink at once in the submitting process."""
    return int(settings.PLAYGROUND_CREATES_IN_FLIGHT)


def tick_seconds() -> float:
    """The longest pause between passes: how long a new job may wait to be seen."""
    return float(settings.PLAYGROUND_SUBMITTER_TICK_SECONDS)


class SubmitterThread(LeasedThread):
    """Stands by for the "submitter" lease, sends while holding it, until `stop()`."""

    lease = LEASE
    role = "submitter"

    def __init__(self) -> None:
        super().__init__()
        self.wake = threading.Event()  # a create ended: a slot is free
        self.passes = 0  # for tests: passes made over the waiting jobs

    def stop(self, timeout: float = STOP_SECONDS + 5) -> None:
        self.wake.set()
        super().stop(timeout)

    def hold(self) -> None:
        """Send while the lease is ours; on stop, wait for the creates under way."""
        # A new holder knows nothing of the keys' state: the next 429 teaches it.
        pacing.KEYS.reset()
        with (
            Heartbeat(LEASE, self.holder, jobs.poller_lease_seconds()) as heartbeat,
            Sender(creates_in_flight(), on_free=self.wake.set) as sender,
        ):
            try:
                while not self.stopping.is_set():
                    self.wake.clear()
                    try:
                        sender.fill()
                    except Exception:
                        # The database restarted, or a job we cannot read: nothing is
                        # half-done (a job is claimed only inside jobs.send), so try
                        # again in a moment rather than leave this process without one.
                        log.exception("submitter: a pass failed; retrying")
                        connection.close()
                        self.stopping.wait(1)
                        continue
                    self.passes += 1
                    # Another submitter took over after our lease lapsed: stop sending.
                    if not heartbeat.beat():
                        return
                    self.wake.wait(tick_seconds())
                    # Creates that end close together are served by one pass: the
                    # order is recomputed from the rows, so passes stay few.
                    self.stopping.wait(PASS_GAP_SECONDS)
            finally:
                sender.shutdown(STOP_SECONDS)
                heartbeat.stop()
                self.release()


class Sender:
    """A bounded pool of creates, each job at most once at a time, each key paced."""

    def __init__(
        self,
        threads: int,
        on_free: Callable[[], None] | None = None,
        pace: pacing.KeyPace = pacing.KEYS,
    ) -> None:
        self._slots = max(1, threads)
        self._pool = ThreadPoolExecutor(self._slots, thread_name_prefix="submit")
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._on_free = on_free
        self._pace = pace

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(STOP_SECONDS)

    def busy(self) -> int:
        with self._lock:
            return len(self._pending)

    def fill(self) -> int:
        """Start the next jobs in the fair order on the free slots; how many started.

        A job whose key may not start a create now (resting after a 429, at its cap of
        creates in flight or per second) keeps its place and is passed over, so jobs
        of other keys go on."""
        free = self._slots - self.busy()
        if free <= 0:
            return 0
        started = 0
        keys: dict[tuple[int, str], int | None] = {}
        for job in fair_order.waiting(limit=ROWS_PER_PASS):
            if started >= free:
                break
            with self._lock:
                if job.pk in self._pending:
                    continue
            if (job.team_id, job.model) not in keys:
                keys[(job.team_id, job.model)] = _first_key(job)
            key = keys[(job.team_id, job.model)]
            if not self._pace.try_start(key):
                continue
            with self._lock:
                self._pending.add(job.pk)
            try:
                self._pool.submit(self._send, job.pk, key)
            except RuntimeError:  # shutting down: the job stays QUEUED for the next one
                self._done(job.pk, key)
                break
            started += 1
        return started

    def _send(self, pk: int, key: int | None) -> None:
        try:
            jobs.send(pk, paced=True)
        except Exception:
            # Whatever happened after the claim is the reconciler's to judge (the claim
            # lapses into UNCERTAIN, never a second POST).
            log.exception("submitter: sending job %s crashed", pk)
        finally:
            connection.close()
            self._done(pk, key)

    def _done(self, pk: int, key: int | None) -> None:
        self._pace.finished(key)
        with self._lock:
            self._pending.discard(pk)
        if self._on_free is not None:
            self._on_free()

    def shutdown(self, timeout: float) -> None:
        """Drop creates not started (their jobs are still QUEUED, unclaimed) and wait
        for those under way, each bounded by its POST's timeout."""
        waiter = threading.Thread(
            target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True}
        )
        waiter.start()
        waiter.join(timeout)


def _first_key(job: Generation) -> int | None:
    """The key a job's create will try first (`None`: the environment's key, or no key
    at all, in which case jobs.send fails the job without a POST)."""
    payers = choose_payers(job)
    return payers[0].key_id if payers else None


_thread = OneThread(SubmitterThread)
start_in_this_process = _thread.start


def on_worker_start(**_kwargs: Any) -> None:
    """django-q2's `post_spawn`. Never raises: an exception here would kill the worker
    and django-q would respawn it in a loop."""
    try:
        start_in_this_process()
    except Exception:
        log.exception("could not start the submitter thread")
