"""Monthly budgets: refuse a job before anything is sent if it would pass one.

A team may have a monthly budget (`Team.monthly_budget_credits`) and each member a
monthly cap (`Membership.monthly_cap_credits`). A job is refused when this calendar
month's spend (generations/spend.py: charges, holds and estimates of jobs in flight) plus
its own estimate would pass either. The check and the new job's row are written in one
transaction that first locks the team's row, so two people pressing Generate at the
same moment are counted one after the other and cannot together pass the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground import numbers
from playground.generations import spend
from playground.generations.models import Generation
from playground.teams.models import Membership, Team

WARN_AT = Decimal("0.8")


class OverBudget(Exception):
    """The sentence that says which budget and by how much."""


def month_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent(team: Team, owner: User | None = None, since: datetime | None = None) -> Decimal:
    """This month's spend of the team (or of one person in it), by the spend rule."""
    jobs = Generation.objects.filter(team=team, created_at__gte=since or month_start())
    if owner is not None:
        jobs = jobs.filter(owner=owner)
    return jobs.aggregate(total=Sum(spend.counted()))["total"] or Decimal(0)


def _round(value: Decimal) -> str:
    return numbers.credits(value)


def check(membership: Membership, estimate: Decimal, jobs: int = 1) -> None:
    """Raise OverBudget if `estimate` more would pass the team's budget or the person's
    cap this month. Call it inside the transaction that creates the job, after `lock`.
    `jobs`: how many jobs the estimate is for (a matrix run checks its total once)."""
    team = membership.team
    need = (
        _("This job needs ≈ %(need)s credits")
        if jobs == 1
        else ngettext(
            "These %(jobs)d job need ≈ %(need)s credits in all",
            "These %(jobs)d jobs need ≈ %(need)s credits in all",
            jobs,
        )
    ) % {"jobs": jobs, "need": _round(estimate)}
    budget = team.monthly_budget_credits
    if budget is not None:
        left = budget - spent(team)
        if estimate > left:
            raise OverBudget(
                _(
                    "%(need)s; the team has %(left)s left this month "
                    "(budget %(budget)s). Nothing was sent. A team admin can raise the budget."
                )
                % {
                    "need": need,
                    "left": _round(max(left, Decimal(0))),
                    "budget": _round(budget),
                }
            )
    cap = membership.monthly_cap_credits
    if cap is not None:
        left = cap - spent(team, membership.user)
        if estimate > left:
            raise OverBudget(
                _(
                    "%(need)s; you have %(left)s left this month "
                    "in this team (your cap is %(cap)s). Nothing was sent. A team admin can "
                    "raise your cap."
                )
                % {
                    "need": need,
                    "left": _round(max(left, Decimal(0))),
                    "cap": _round(cap),
                }
            )


def lock(team: Team) -> None:
    """Serialize budget checks of one team (PostgreSQL row lock; SQLite transactions
    here already take the write lock when they begin)."""
    Team.objects.select_for_update().filter(pk=team.pk).first()


@dataclass(frozen=True)
class Standing:
    budget: Decimal | None
    spent: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.spent

    @property
    def share(self) -> Decimal | None:
        if self.budget is None:
            return None
        return self.spent / self.budget if self.budget else Decimal(1)


def standing(team: Team, owner: User | None = None, cap: Decimal | None = None) -> Standing:
    if owner is None:
        return Standing(team.monthly_budget_credits, spent(team))
    return Standing(cap, spent(team, owner))


def admin_warnings(team: Team) -> list[str]:
    now = standing(team)
    if now.budget is None or now.share is None or now.share < WARN_AT:
        return []
    return [
        _("The team has used %(share)s%% of its monthly budget: %(spent)s of %(budget)s credits.")
        % {"share": int(now.share * 100), "spent": _round(now.spent), "budget": _round(now.budget)}
    ]
