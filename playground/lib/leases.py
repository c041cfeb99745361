"""Leases: which worker works on a row now, and until when. One rule, used by the jobs'
submits and archives (jobs.py, fanout.py, fanout_reads.py), the exports' builds
(exports/tasks.py) and the poller (poller.py, through the named `Lease` row).

A lease is two columns of the row it guards: its holder (a token naming one worker,
"" when nobody holds it) and `until` (when it lapses, null when nobody holds it).

- **Taking.** Anyone may take a lease that is free: never taken, released, or lapsed
  (`until` is null or past). Taking is one conditional UPDATE that also checks the
  row's state, so of many workers racing for a row exactly one wins; the others do
  nothing. A live lease is refused, whoever asks.
- **Expiry.** Taking sets `until` to now + the lease's length, which is short (seconds
  to a minute): it need only outlast the longest stretch in which the holder says
  nothing (one download, one POST, one second of the poller's heartbeat).
- **Renewing.** Only the holder (its token matches) pushes `until` on. That also works
  just after the lease lapsed, as long as nobody took it meanwhile: taking changes the
  holder. A renewal that fails means another worker has the row now: stop, and write
  nothing more.
- **Releasing.** Only the holder, clearing both columns, usually in the same UPDATE
  that moves the row to its next state. A holder that wants nobody to take the row for
  a while (a retry's backoff) renews for that long instead of releasing.
- **A crash** (SIGKILL, a lost machine) leaves the lease as it was: the row stays held
  until `until` passes, then anyone may take it. So leased work must be safe to do
  again from wherever it stopped (deterministic storage keys, compare-and-set
  transitions, writes conditional on the holder). The one exception is work that costs
  money: a submit's lease is never taken over, since the POST may have left; once it
  lapses, the reconciler ends the claim as UNCERTAIN instead (jobs.reconcile,
  fanout.reconcile).

Work nobody holds yet is claimed by its state, not by a lease (a QUEUED job, a QUEUED
export, whose `until` only paces re-sends); the claim takes the lease in the same
UPDATE.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone


def new_holder() -> str:
    """A token naming one worker's hold on one row (fits a 32-character column)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Leases:
    """The columns that keep a model's leases, and the rule above written once.

    Every method takes `rows`, a queryset narrowed to the row (or rows) in the state
    the caller expects, and answers whether any row changed.
    """

    holder: str = "lease_holder"
    until: str = "lease_until"

    def free(self, now: datetime) -> Q:
        """Rows whose lease anyone may take at `now`."""
        return Q((f"{self.until}__isnull", True)) | Q((f"{self.until}__lt", now))

    def held_by(self, holder: str) -> Q:
        return Q((self.holder, holder))

    def take(self, rows: QuerySet[Any], holder: str, length: timedelta, **changes: Any) -> bool:
        """Take the lease if it is free (and make `changes` in the same UPDATE)."""
        return self.claim(rows.filter(self.free(timezone.now())), holder, length, **changes)

    def claim(self, rows: QuerySet[Any], holder: str, length: timedelta, **changes: Any) -> bool:
        """Take the lease of rows the caller already knows to be nobody's (claimed by
        their state, such as a QUEUED export), whatever their `until` says."""
        if not holder:
            raise ValueError("a lease needs a holder")
        now = timezone.now()
        held = {self.holder: holder, self.until: now + length}
        return rows.update(**held, **changes) > 0

    def renew(self, rows: QuerySet[Any], holder: str, length: timedelta, **changes: Any) -> bool:
        """Hold on for `length` from now, if `holder` still holds it."""
        until = {self.until: timezone.now() + length}
        return rows.filter(self.held_by(holder)).update(**until, **changes) > 0

    def release(self, rows: QuerySet[Any], holder: str, **changes: Any) -> bool:
        """Let go (making `changes` in the same UPDATE), if `holder` still holds it."""
        return rows.filter(self.held_by(holder)).update(**self.cleared(), **changes) > 0

    def cleared(self) -> dict[str, Any]:
        """The columns of a lease nobody holds: for a compare-and-set on the row's state
        that ends a lapsed holder's work (the reconciler's), or ends work never leased."""
        return {self.holder: "", self.until: None}

    def is_free(self, rows: QuerySet[Any]) -> bool:
        """Whether nobody holds the lease of any of `rows` now."""
        return not rows.filter(Q((f"{self.until}__gte", timezone.now()))).exists()


# The jobs' (Generation) and their parts' (UpstreamTask) columns.
ROWS = Leases()
