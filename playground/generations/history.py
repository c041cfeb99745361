"""Which of a team's jobs a history view selects: its filters, read from a URL (or a
form) and applied to the one scope `Generation.objects.visible_to(user, team)`.

Every filter lives in the URL
(`?view=mine&member=bob&model=…&status=…&from=…&to=…&q=…&favourites=1&comments=me`) so a filtered
view can be linked to a colleague; filters only ever narrow the scope. The studio's
history (studio/history.py) and the history export (exports/sources.py) both read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground import catalogue
from playground.generations.models import IN_FLIGHT_STATES, Generation, State

IN_FLIGHT = "in_flight"
STATUS_CHOICES = [
    (IN_FLIGHT, _("In progress")),
    (State.COMPLETED.value, State.COMPLETED.label),
    (State.FAILED.value, State.FAILED.label),
    (State.UNCERTAIN.value, State.UNCERTAIN.label),
    (State.TIMED_OUT.value, State.TIMED_OUT.label),
    (State.CANCELLED.value, State.CANCELLED.label),
]

# The comments filter: jobs with any comment, or with one that mentions the person.
# Which jobs those are is for the comments app to say (it builds on this one): callers
# pass them to apply() (comments.threads.discussed_jobs).
COMMENTED = "any"
MENTIONS_ME = "me"
COMMENT_CHOICES = [(COMMENTED, _("Has comments")), (MENTIONS_ME, _("Mentions me"))]


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HistoryFilter:
    view: str = "team"
    member: str = ""
    model: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    # Jobs with at least one image this person starred: one's own favourites only.
    favourites: bool = False
    # COMMENTED, MENTIONS_ME, or "" (no comments filter).
    comments: str = ""

    @classmethod
    def from_query(cls, params: QueryDict) -> HistoryFilter:
        """Unknown values are dropped rather than refused: a stale link still opens."""
        status = params.get("status", "")
        model = params.get("model_filter", "")
        comments = params.get("comments", "")
        return cls(
            view="mine" if params.get("view") == "mine" else "team",
            member=params.get("member", "").strip()[:150],
            model=model if model in catalogue.MODELS else "",
            status=status if status in dict(STATUS_CHOICES) else "",
            date_from=_date(params.get("from")),
            date_to=_date(params.get("to")),
            q=params.get("q", "").strip()[:500],
            favourites=params.get("favourites") in ("1", "on", "true"),
            comments=comments if comments in dict(COMMENT_CHOICES) else "",
        )

    def apply(
        self,
        jobs: QuerySet[Generation],
        user: User,
        starred_jobs: Iterable[int],
        *,
        discussed_jobs: Iterable[int] | None = None,
    ) -> QuerySet[Generation]:
        """The jobs of `jobs` this filter keeps. `starred_jobs`: the ids of the jobs the
        person starred an image of (gallery.favourites.starred_jobs, a lazy subquery):
        stars belong to the gallery, which builds on this app. `discussed_jobs`, likewise,
        the ids the comments filter keeps (comments.threads.discussed_jobs), needed
        only when that filter is on."""
        if self.view == "mine":
            jobs = jobs.filter(owner_id=user.pk)
        elif self.member:
            jobs = jobs.filter(owner__username=self.member)
        if self.model:
            jobs = jobs.filter(model=self.model)
        if self.status == IN_FLIGHT:
            jobs = jobs.filter(state__in=IN_FLIGHT_STATES)
        elif self.status:
            jobs = jobs.filter(state=self.status)
        zone = timezone.get_current_timezone()
        if self.date_from:
            jobs = jobs.filter(created_at__gte=datetime.combine(self.date_from, time(), zone))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), zone)
            jobs = jobs.filter(created_at__lt=end)
        # Every word, in any order: "fox watercolor" finds "a fox, watercolor style".
        for word in self.q.split()[:20]:
            jobs = jobs.filter(Q(prompt__icontains=word) | Q(model__icontains=word))
        if self.favourites:
            jobs = jobs.filter(id__in=starred_jobs)
        if self.comments:
            if discussed_jobs is None:
                raise ValueError("the comments filter needs discussed_jobs")
            jobs = jobs.filter(id__in=discussed_jobs)
        return jobs

    def params(self) -> dict[str, str]:
        """The non-default filters as URL parameters."""
        values = {
            "view": "mine" if self.view == "mine" else "",
            "member": self.member if self.view != "mine" else "",
            "model_filter": self.model,
            "status": self.status,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "favourites": "1" if self.favourites else "",
            "comments": self.comments,
        }
        return {k: v for k, v in values.items() if v}

    @property
    def is_filtered(self) -> bool:
        return bool(set(self.params()) - {"view"})

    @property
    def only_favourites(self) -> bool:
        """The "Favourites" filter alone: an empty view then says how to star."""
        return self.favourites and not set(self.params()) - {"view", "favourites"}
