"""What a job costs the team: the one rule, used by job pages, budgets and usage.

EvoLink holds `credits_reserved` when it accepts a task and, on a completed task,
may report `usage.credits_used`; it documents that failed tasks are not billed. So:

| job | counts as | shown as |
| --- | --- | --- |
| charge reported by EvoLink (any state) | that charge | "charged" |
| failed, no charge reported | 0 | "not charged" (reserved credits are released) |
| never sent (failed before submitting) | 0 | "not charged" |
| any other, no charge yet | credits reserved, else the estimate | "reserved" / "estimated" |
| submission uncertain | the estimate (it may exist and be billed) | "estimated, may be charged" |

A figure is never made up: a page says which of these it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from playground.generations.models import Generation, State

ZERO = Decimal(0)
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=5)


@dataclass(frozen=True)
class Charge:
    credits: Decimal
    kind: str  # charged | not_charged | reserved | estimated | uncertain

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def is_final(self) -> bool:
        return self.kind in ("charged", "not_charged")


KIND_LABELS = {
    "charged": _("charged"),
    "not_charged": _("not charged"),
    "reserved": _("reserved"),
    "estimated": _("estimated"),
    "uncertain": _("estimated, may be charged"),
}


def charge_of(job: Generation) -> Charge:
    """What `job` counts for, and how sure that figure is."""
    if job.credits_charged is not None:
        return Charge(job.credits_charged, "charged")
    if job.state in (State.FAILED, State.CANCELLED):
        return Charge(ZERO, "not_charged")
    if job.state == State.UNCERTAIN:
        return Charge(job.estimated_credits, "uncertain")
    if job.credits_reserved is not None:
        return Charge(job.credits_reserved, "reserved")
    return Charge(job.estimated_credits, "estimated")


def counted() -> Case:
    """`charge_of(job).credits` as an SQL expression, for sums over many jobs."""
    return Case(
        When(credits_charged__isnull=False, then=F("credits_charged")),
        When(state__in=(State.FAILED, State.CANCELLED), then=Value(ZERO)),
        When(state=State.UNCERTAIN, then=F("estimated_credits")),
        default=Coalesce(F("credits_reserved"), F("estimated_credits")),
        output_field=MONEY,
    )


def charged_from_usage(usage: Mapping[str, Any]) -> Decimal | None:
    """The final charge, where EvoLink reported one: `usage.credits_used`, else
    `usage.cost.credits` (reference, August 2026: either may arrive; `cost.usd` and any
    other field are kept in the job's `usage` as they came)."""
    if not isinstance(usage, Mapping):
        return None
    value = usage.get("credits_used")
    if value is None and isinstance(usage.get("cost"), dict):
        value = usage["cost"].get("credits")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        charged = Decimal(str(value))
    except ArithmeticError:
        return None
    return charged if charged.is_finite() and charged >= 0 else None


IN_FLIGHT = Q(state__in=(State.QUEUED, State.SUBMITTING, State.RUNNING, State.ARCHIVING))
