"""The worker threads that one lease elects: the poller (poller.py) and the submitter
(submitter.py). Every worker process runs one of each; the one holding the thread's
named `Lease` row works, the others stand by and try to take the lease every second.

What they share is written once here: the stand-by loop, the heartbeat that renews
the lease every second while the holder works (so the lease can be short however long
one pass is), and starting the thread once per process with a stop at exit. A
SIGKILLed holder stops renewing, so a standby takes over within
`jobs.poller_lease_seconds()`; a worker that exits normally hands the lease back at
once. The rule every lease follows is in playground/lib/leases.py.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import InterfaceError, OperationalError, connection, connections

from playground.generations import jobs
from playground.generations.models import Lease

log = logging.getLogger(__name__)

# A standby tries to take the lease this often.
STANDBY_SECONDS = 1.0
# How long a stopping worker waits for the work in progress before handing it back.
STOP_SECONDS = 20.0


class LeasedThread(threading.Thread):
    """Stands by for the lease `lease`, calls `hold()` while holding it, until `stop()`.

    `hold()` works while the lease is ours, returns when it is lost or on stop, and
    hands the lease back itself (it knows what to finish first)."""

    lease: str
    role: str  # for the thread's and the log's names

    def __init__(self) -> None:
        super().__init__(name=f"playground-{self.role}", daemon=True)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.holding = threading.Event()  # for tests: this thread holds the lease now

    def before_standby(self) -> None:
        """Once, when the thread starts, before it first asks for the lease."""

    def hold(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        try:
            self.before_standby()
            while not self.stopping.is_set():
                try:
                    if Lease.acquire(self.lease, self.holder, jobs.poller_lease_seconds()):
                        self.holding.set()
                        self.hold()
                        self.holding.clear()
                        continue
                except (OperationalError, InterfaceError):
                    log.warning("%s: database unavailable; retrying", self.role, exc_info=True)
                    connection.close()
                self.stopping.wait(STANDBY_SECONDS)
        finally:
            connections.close_all()

    def stop(self, timeout: float = STOP_SECONDS + 5) -> None:
        self.stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def release(self) -> None:
        """Hand the lease back (the end of `hold()`)."""
        try:
            Lease.release(self.lease, self.holder)
        except Exception:  # it lapses by itself within seconds
            log.warning("%s: could not hand the lease back", self.role, exc_info=True)


T = TypeVar("T", bound=LeasedThread)


class OneThread(Generic[T]):
    """This process's one thread of a kind: started on demand, stopped at exit."""

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make
        self.thread: T | None = None

    def start(self) -> T:
        if self.thread is None or not self.thread.is_alive():
            self.thread = self.make()
            self.thread.start()
            # A django-q worker leaves through multiprocessing's exit path, which runs
            # these finalizers (atexit handlers are not run in its child processes): a
            # graceful stop or a recycled worker hands the lease back instead of
            # letting it lapse.
            multiprocessing.util.Finalize(self.thread, self.thread.stop, exitpriority=10)
        return self.thread


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
            and not Lease.renew(self.name, self.holder, self.seconds)
        ):
            self.lost.set()
        return not self.lost.is_set()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    # Only the holder renews: a lease another poller took is lost.
                    if not Lease.renew(self.name, self.holder, self.seconds):
                        self.lost.set()
                        return
                except Exception:  # a locked or briefly unreachable database
                    log.warning("lease %s: heartbeat failed", self.name, exc_info=True)
                    # A broken connection is not reopened by itself: open a new one.
                    connections["default"].close()
        finally:
            connections.close_all()
