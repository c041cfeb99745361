"""The order in which queued jobs are sent upstream, and the per-member limits.

Fair, not first come first served: when one person starts a 200-cell matrix run, a
colleague's single job must not wait behind all of it. So the jobs waiting to be sent
go round-robin between teams, and within a team round-robin between the people with
jobs waiting; each person's own jobs go oldest first. Concretely, a person's k-th
oldest waiting job is in their team's k-th round, the team's j-th job in the j-th
round between teams, and a round goes in the order its jobs were made.

A team may limit each member (`Team.member_jobs_in_flight_limit`,
`Team.member_images_per_hour_limit`). A member's queued jobs beyond a limit are held
back, oldest last: they stay QUEUED, out of `waiting()`, and `held_back()` says why, so
the studio can show it; they are never refused. They are released as soon as the
member's jobs in flight end, or the hour moves on.

The order is computed from the rows each time (one query of the queued jobs, a few
more for teams with limits; nothing to keep in step): the row stays the truth, and the
submitter (submitter.py) still claims each job by compare-and-set before its one POST
(jobs.send).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import ngettext

from playground.generations.models import Generation, State
from playground.teams.models import Team

# Claimed or sent, and not finished: what counts against "jobs in flight". A QUEUED job
# is not in flight: it is what the limit holds back.
SENT_NOT_FINISHED = (State.SUBMITTING, State.RUNNING, State.ARCHIVING)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HeldBack:
    """Why a queued job is not sent yet: a per-member limit of its team."""

    reason: str  # a sentence in the reader's language: "Waiting: you have 20 jobs in flight, …"
    limit: int
    kind: str  # "in_flight" | "per_hour"


@dataclass(frozen=True)
class _Row:
    pk: int
    team_id: int
    owner_id: int
    n: int
    created_at: datetime


# --- The public API -------------------------------------------------------------------


def waiting(team_or_none: Team | None = None, *, limit: int | None = None) -> list[Generation]:
    """The queued jobs not yet sent, in the order they will be sent (of one team, when
    given: the same order, left to that team's jobs), without those a per-member limit
    holds back or that wait for a retry (`not_before` still ahead). `limit`: only the
    first so many (the submitter takes the next few at a time)."""
    order = _order(team_or_none)
    if limit is not None:
        order = order[:limit]
    found = Generation.objects.select_related("team").in_bulk(order)
    return [found[pk] for pk in order if pk in found]


def ahead_of(job: Generation) -> int:
    """How many jobs will be sent before this one: its place in `waiting()`. A job held
    back by a limit (or waiting for a retry) comes after everything waiting now; one that
    is no longer queued has nothing ahead of it."""
    if job.state != State.QUEUED:
        return 0
    order = _order(None)
    try:
        return order.index(job.pk)
    except ValueError:
        return len(order)


def held_back(job: Generation) -> HeldBack | None:
    """Why a per-member limit of its team holds this queued job back, or None when none
    does (then it is in `waiting()`, or waits for a retry)."""
    if job.state != State.QUEUED:
        return None
    team = Team.objects.filter(pk=job.team_id).first()
    if team is None or not _has_limits(team):
        return None
    now = timezone.now()
    rows = _queued_rows(now, team_id=team.pk, owner_id=job.owner_id)
    _admitted, held = _admit(
        rows,
        team,
        in_flight=_in_flight(team.pk).get(job.owner_id, 0),
        sent=_sent_last_hour(team.pk, now).get(job.owner_id, 0),
    )
    return held.get(job.pk)


# --- How the order is made ------------------------------------------------------------


def _order(team: Team | None) -> list[int]:
    """The pks of the jobs `waiting()` returns, in order."""
    now = timezone.now()
    rows = _queued_rows(now, team_id=team.pk if team is not None else None)
    by_person: dict[tuple[int, int], list[_Row]] = defaultdict(list)
    for row in rows:  # oldest first, so each person's list is too
        by_person[(row.team_id, row.owner_id)].append(row)

    teams = {team_id for team_id, _owner in by_person}
    limited = {t.pk: t for t in Team.objects.filter(pk__in=teams) if _has_limits(t)}
    in_flight = {team_id: _in_flight(team_id) for team_id in limited}
    sent = {team_id: _sent_last_hour(team_id, now) for team_id in limited}

    # Round-robin within each team: a person's k-th job is in the team's k-th round.
    by_team: dict[int, list[tuple[int, datetime, int]]] = defaultdict(list)
    for (team_id, owner_id), own in by_person.items():
        if team_id in limited:
            own, _held = _admit(
                own,
                limited[team_id],
                in_flight=in_flight[team_id].get(owner_id, 0),
                sent=sent[team_id].get(owner_id, 0),
            )
        by_team[team_id].extend((rank, row.created_at, row.pk) for rank, row in enumerate(own))
    # Round-robin between teams: a team's j-th job is in the j-th round.
    ranked: list[tuple[int, datetime, int]] = []
    for jobs in by_team.values():
        jobs.sort()
        ranked.extend((rank, created_at, pk) for rank, (_r, created_at, pk) in enumerate(jobs))
    ranked.sort()
    return [pk for _rank, _created_at, pk in ranked]


def _queued_rows(
    now: datetime, *, team_id: int | None = None, owner_id: int | None = None
) -> list[_Row]:
    """Queued jobs that may be sent now (no retry pending), oldest first."""
    queued = Generation.objects.filter(state=State.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    if team_id is not None:
        queued = queued.filter(team_id=team_id)
    if owner_id is not None:
        queued = queued.filter(owner_id=owner_id)
    values = queued.order_by("created_at", "pk").values_list(
        "pk", "team_id", "owner_id", "n", "created_at"
    )
    return [_Row(*value) for value in values]


def _has_limits(team: Team) -> bool:
    return (
        team.member_jobs_in_flight_limit is not None
        or team.member_images_per_hour_limit is not None
    )


def _in_flight(team_id: int) -> dict[int, int]:
    """Per member of the team: their jobs claimed or sent and not finished."""
    counts = (
        Generation.objects.filter(team_id=team_id, state__in=SENT_NOT_FINISHED)
        .order_by()
        .values_list("owner_id")
        .annotate(count=Count("pk"))
    )
    return {owner_id: int(count) for owner_id, count in counts}


def _sent_last_hour(team_id: int, now: datetime) -> dict[int, int]:
    """Per member of the team: the images (n) of their jobs sent in the last hour, and
    of those being sent now (claimed, not yet answered)."""
    sums = (
        Generation.objects.filter(team_id=team_id)
        .filter(Q(submitted_at__gte=now - HOUR) | Q(state=State.SUBMITTING))
        .order_by()
        .values_list("owner_id")
        .annotate(total=Sum("n"))
    )
    return {owner_id: int(total or 0) for owner_id, total in sums}


def _admit(
    own: list[_Row], team: Team, *, in_flight: int, sent: int
) -> tuple[list[_Row], dict[int, HeldBack]]:
    """Split one member's queued jobs (oldest first) into those their team's limits let
    go now and those held back (with why). Once one job is held, every later one is too:
    a person's jobs go oldest first, so a small later job does not overtake a big one."""
    admitted: list[_Row] = []
    held: dict[int, HeldBack] = {}
    jobs_limit = team.member_jobs_in_flight_limit
    images_limit = team.member_images_per_hour_limit
    reason: HeldBack | None = None
    for row in own:
        if reason is None and jobs_limit is not None and in_flight + len(admitted) >= jobs_limit:
            reason = _too_many_in_flight(jobs_limit)
        # A job of more images than the hourly limit still goes when nothing else was
        # sent in the hour: otherwise it would wait for ever.
        if reason is None and images_limit is not None and sent + row.n > images_limit and sent:
            reason = _too_many_this_hour(images_limit)
        if reason is not None:
            held[row.pk] = reason
            continue
        admitted.append(row)
        sent += row.n
    return admitted, held


def _too_many_in_flight(limit: int) -> HeldBack:
    reason = ngettext(
        "Waiting: you have %(limit)d job in flight, your team's limit",
        "Waiting: you have %(limit)d jobs in flight, your team's limit",
        limit,
    ) % {"limit": limit}
    return HeldBack(reason=reason, limit=limit, kind="in_flight")


def _too_many_this_hour(limit: int) -> HeldBack:
    reason = ngettext(
        "Waiting: you have sent your team's limit of %(limit)d image in the last hour",
        "Waiting: you have sent your team's limit of %(limit)d images in the last hour",
        limit,
    ) % {"limit": limit}
    return HeldBack(reason=reason, limit=limit, kind="per_hour")


# --- Many at once: a page of the studio's history -------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a queued job stands: how many jobs will be sent before it (`ahead_of`),
    and the per-member limit holding it back, if one does (`held_back`)."""

    ahead: int
    held: HeldBack | None = None


def places(jobs: list[Generation]) -> dict[int, Place]:
    """`ahead_of` and `held_back` of every QUEUED job among `jobs`, by pk, with the same
    answers: the order is computed once (two queries, two more per team with limits),
    and the limits' reasons once per team with someone held back (four more), never
    once per job or per person: the history, refreshed every 2 s, costs the same for
    one queued card as for twenty."""
    queued = [job for job in jobs if job.state == State.QUEUED]
    if not queued:
        return {}
    now = timezone.now()
    order = _order(None)
    index = {pk: position for position, pk in enumerate(order)}
    # Only jobs outside the order may be held back (the others wait for a retry).
    people = {(job.team_id, job.owner_id) for job in queued if job.pk not in index}
    held: dict[int, HeldBack] = {}
    if people:
        limited = [
            t
            for t in Team.objects.filter(pk__in={team_id for team_id, _o in people})
            if _has_limits(t)
        ]
        for team in limited:
            in_flight = _in_flight(team.pk)
            sent = _sent_last_hour(team.pk, now)
            # The team's queued rows in one read, split by person (oldest first).
            by_owner: dict[int, list[_Row]] = defaultdict(list)
            for row in _queued_rows(now, team_id=team.pk):
                by_owner[row.owner_id].append(row)
            for owner_id in {owner for team_id, owner in people if team_id == team.pk}:
                _admitted, found = _admit(
                    by_owner[owner_id],
                    team,
                    in_flight=in_flight.get(owner_id, 0),
                    sent=sent.get(owner_id, 0),
                )
                held.update(found)
    return {
        job.pk: Place(ahead=index.get(job.pk, len(order)), held=held.get(job.pk)) for job in queued
    }
