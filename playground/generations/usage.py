"""A team's spend in a calendar month: per day, member, model and key, and how good
our estimates are. Every figure follows the one spend rule (generations/spend.py)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from playground import catalogue
from playground.billing.models import mask
from playground.generations import spend
from playground.generations.models import Generation
from playground.teams.models import Team

ZERO = Decimal(0)


@dataclass(frozen=True)
class Month:
    first: date

    @classmethod
    def parse(cls, value: str | None) -> Month:
        """`2026-11`, else the current month (a bad value is not an error)."""
        today = timezone.localdate()
        try:
            year, month = (int(part) for part in (value or "").split("-"))
            return cls(date(year, month, 1))
        except ValueError:
            return cls(today.replace(day=1))

    @property
    def days(self) -> int:
        return calendar.monthrange(self.first.year, self.first.month)[1]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), timezone.get_current_timezone())

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def previous(self) -> Month:
        return Month((self.first - timedelta(days=1)).replace(day=1))

    @property
    def next(self) -> Month:
        return Month(self.first + timedelta(days=self.days))


def jobs_of(team: Team, month: Month, owner: User | None = None) -> QuerySet[Generation]:
    jobs = Generation.objects.filter(
        team=team, created_at__gte=month.start, created_at__lt=month.end
    )
    return jobs.filter(owner=owner) if owner is not None else jobs


def report(team: Team, month: Month) -> dict[str, Any]:
    jobs = jobs_of(team, month)
    counted = spend.counted()
    total = jobs.aggregate(total=Sum(counted), n=Count("id"))
    per_day = {
        row["day"]: row["total"] or ZERO
        for row in jobs.annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())
        )
        .values("day")
        .annotate(total=Sum(counted))
        .order_by("day")
    }
    per_member = list(
        jobs.values("owner__username")
        .annotate(total=Sum(counted), n=Count("id"))
        .order_by("-total", "owner__username")
    )
    per_model = list(
        jobs.values("model")
        .annotate(
            total=Sum(counted),
            n=Count("id"),
            # Estimate versus actual, over the jobs EvoLink reported a charge for.
            settled=Count("id", filter=Q(credits_charged__isnull=False)),
            estimated=Sum("estimated_credits", filter=Q(credits_charged__isnull=False)),
            actual=Sum("credits_charged"),
        )
        .order_by("model")
    )
    for row in per_model:
        spec = catalogue.MODELS.get(row["model"])
        row["label"] = spec.label if spec else row["model"]
        row["ratio"] = (row["actual"] / row["estimated"]) if row["estimated"] else None
    # A job without a key was either never sent (queued, cancelled, refused before
    # sending) or paid by the environment's EVOLINK_API_KEY: two rows, each named.
    per_key = list(
        jobs.annotate(sent=Q(submitted_at__isnull=False))
        .values("api_key_id", "api_key__label", "api_key__secret_last4", "sent")
        .annotate(total=Sum(counted), n=Count("id"))
        .order_by("-total", "api_key_id")
    )
    for row in per_key:
        row["masked"] = mask(row["api_key__secret_last4"]) if row["api_key_id"] else ""
    return {
        "total": total["total"] or ZERO,
        "jobs": total["n"],
        "chart": chart(month, per_day, team.monthly_budget_credits),
        "per_member": per_member,
        "per_model": per_model,
        "per_key": per_key,
    }


# --- The chart: bars per day, and the budget's daily share --------------------------

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 48, 24, 12


def chart(month: Month, per_day: dict[date, Decimal], budget: Decimal | None) -> dict[str, Any]:
    """Geometry of an SVG bar chart (the template draws it): one bar a day."""
    values = [per_day.get(month.first + timedelta(days=i), ZERO) for i in range(month.days)]
    top = max([*values, ZERO]) or Decimal(1)
    inner_w, inner_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = inner_w / month.days
    bars = []
    for i, value in enumerate(values):
        h = float(value / top) * inner_h
        day = month.first + timedelta(days=i)
        bars.append(
            {
                "x": round(PAD_LEFT + i * slot + slot * 0.15, 1),
                "y": round(PAD_TOP + inner_h - h, 1),
                "w": round(slot * 0.7, 1),
                "h": round(h, 1),
                "day": day,
                "value": value,
                "label": day.day
                if day.day in (1, 5, 10, 15, 20, 25) or day.day == month.days
                else None,
                "label_x": round(PAD_LEFT + i * slot + slot / 2, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "top": top,
        "axis_y": PAD_TOP + inner_h,
        "left": PAD_LEFT,
        "right": WIDTH - 8,
        "top_y": PAD_TOP,
        "label_y": HEIGHT - 6,
        "budget": budget,
    }


CSV_COLUMNS = [
    "job",
    "created",
    "made_by",
    "model",
    "size",
    "quality",
    "n",
    "state",
    "estimated_credits",
    "reserved_credits",
    "charged_credits",
    "counted_credits",
    "counted_as",
    "api_key",
    "only_me",
    "prompt",
]


def csv_rows(team: Team, month: Month, viewer: User) -> Iterator[Sequence[object]]:
    """One row per job of the month. A colleague's "Only me" job counts (the money is
    the team's) but its prompt is not shown. The job is named by its number in the
    team, as the pages name it, not by the site-wide row id. (The view writes the rows
    through playground/csvsafe.py, which neutralises formulas in every text cell.)"""
    jobs = jobs_of(team, month).select_related("owner", "api_key").order_by("id")
    for job in jobs.iterator(chunk_size=500):
        charge = spend.charge_of(job)
        hidden = job.private and job.owner_id != viewer.pk
        yield [
            job.number or "",
            timezone.localtime(job.created_at).isoformat(timespec="seconds"),
            job.owner.get_username(),
            job.model,
            job.size_label,
            job.quality,
            job.n,
            job.state,
            job.estimated_credits,
            "" if job.credits_reserved is None else job.credits_reserved,
            "" if job.credits_charged is None else job.credits_charged,
            charge.credits,
            charge.kind,
            _key_of(job),
            "yes" if job.private else "",
            "" if hidden else job.prompt,
        ]


def _key_of(job: Generation) -> str:
    """The key column of the CSV: the stored key that paid, else EVOLINK_API_KEY for a
    job that was sent, else nothing (never sent, or no answer)."""
    if job.api_key:
        return str(job.api_key)
    return "EVOLINK_API_KEY" if job.submitted_at else ""
