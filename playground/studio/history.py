"""The history of a team as the studio shows it: a page of the jobs a filtered view
selects (its filters: generations/history.py), the counters, the live check and the
person's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from playground import catalogue, ids
from playground.comments import threads
from playground.gallery import favourites
from playground.generations import fair_order, references, waiting
from playground.generations.history import STATUS_CHOICES, HistoryFilter
from playground.generations.models import (
    IN_FLIGHT_STATES,
    Generation,
    GenerationReference,
    HistoryClock,
    ResultImage,
    State,
)
from playground.reviews import filters as review_filters
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership, Profile

PAGE_SIZE = 20
REFERENCE_STRIP = 4  # reference thumbnails a card shows at most


@dataclass(frozen=True)
class HistoryItem:
    """A job as the history lists it, with the thumbnails of the references it was
    made from (the first REFERENCE_STRIP of them)."""

    job: Generation
    reference_strip: list[str]
    # A queued job's place in the fair order, or the limit holding it back.
    place: fair_order.Place | None = None


def selected(
    request: AuthedRequest, membership: Membership
) -> tuple[HistoryFilter, QuerySet[Generation]]:
    """The filters of the URL and the jobs they select (the review filter, which the
    history's own filters below reviews cannot know, applied on top)."""
    chosen = HistoryFilter.from_query(request.GET)
    jobs = chosen.apply(
        Generation.objects.visible_to(request.user, membership.team),
        request.user,
        favourites.starred_jobs(request.user),
        discussed_jobs=threads.discussed_jobs(chosen.comments, request.user),
    )
    return chosen, review_filters.jobs_with(jobs, review_filters.from_query(request.GET))


def view_of(
    request: AuthedRequest, membership: Membership
) -> tuple[HistoryFilter, QuerySet[Generation], dict[str, Any]]:
    """The filters of the URL, the jobs they select, and one aggregate over them
    (the counters and the stamp)."""
    chosen, jobs = selected(request, membership)
    # The clock first: a change after this read moves it, and the next check redraws.
    clock = HistoryClock.read(membership.team_id)
    summary = jobs.aggregate(
        running=Count("id", filter=Q(state__in=IN_FLIGHT_STATES)),
        completed=Count("id", filter=Q(state=State.COMPLETED)),
        total=Count("id"),
    )
    summary["clock"] = clock
    if chosen.favourites:
        summary["favourites"] = favourites.mark(request.user)
    return chosen, jobs, summary


def _my_waiting(request: AuthedRequest, membership: Membership, summary: dict[str, Any]) -> int:
    """How many of the person's own jobs in the team wait to be sent ("Cancel my 37
    waiting jobs"): asked only while the view has jobs in flight, so a quiet history
    costs no query for it."""
    if not summary["running"] or not membership.can_generate:
        return 0
    return waiting.waiting_of(request.user, membership.team).count()


def live_stamp(request: AuthedRequest, membership: Membership) -> str:
    """What the live check compares: the team's history clock (one primary-key read).
    Any change a history can show moves it (generations/models.py, HistoryClock).

    Stars are the person's own and do not move the team's clock: while the
    "Favourites" filter is on, the stamp adds the person's favourites mark (one more
    small aggregate, only then), so a star taken off shows at the next check."""
    summary: dict[str, Any] = {"clock": HistoryClock.read(membership.team_id)}
    if HistoryFilter.from_query(request.GET).favourites:
        summary["favourites"] = favourites.mark(request.user)
    return stamp(summary)


def history_context(
    request: AuthedRequest,
    membership: Membership,
    view: tuple[HistoryFilter, QuerySet[Generation], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the history fragment shows, from the URL's filters, for one person."""
    team = membership.team
    chosen, jobs, summary = view or view_of(request, membership)
    before = request.GET.get("before", "")
    before_id = ids.parse(before)
    page_jobs = jobs.filter(id__lt=before_id) if before_id is not None else jobs
    page = list(
        page_jobs.order_by("-id")
        .select_related("owner", "api_token")
        .prefetch_related(
            # Each tile shows its review badge: joined, not one query per tile.
            Prefetch("images", ResultImage.objects.select_related("review")),
            Prefetch("references", GenerationReference.objects.select_related("reference")),
        )[: PAGE_SIZE + 1]
    )
    has_more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    # Queued cards say their place: computed for the whole page at once, and only
    # when the page has a queued job (a quiet history asks nothing more).
    places = fair_order.places(page)
    # An edit shows a small strip of what it was made from.
    items = [
        HistoryItem(
            job,
            [
                reverse(
                    "reference_thumbnail",
                    kwargs={"token": references.form_token(link.reference, request.user, team)},
                )
                for link in job.references.all()[:REFERENCE_STRIP]
            ],
            places.get(job.pk),
        )
        for job in page
    ]
    # The stars of the page's images: one query per page, not one per tile.
    starred = favourites.starred_in_jobs(request.user, [job.pk for job in page])
    # The tiles' comment counts, likewise.
    comment_counts = threads.counts_for([job.pk for job in page])
    review = review_filters.from_query(request.GET)
    params = {**chosen.params(), **review_filters.params(review)}
    studio_url = reverse("studio", kwargs={"team": team.slug})
    fragment_url = reverse("history", kwargs={"team": team.slug})
    older: dict[str, str | int] | None = {**params, "before": page[-1].pk} if has_more else None
    poll_params: dict[str, str | int] = dict(params)
    if before_id is not None:
        poll_params["before"] = before_id
    return {
        "history": items,
        "my_waiting": _my_waiting(request, membership, summary),
        "history_layout": layout_of(request),
        "history_query": urlencode(poll_params),
        "history_filter": chosen,
        "history_params": params,
        "history_counts": summary,
        "history_in_flight": summary["running"] > 0,
        # Changes whenever a row of this view is added, changed or removed: the live
        # check answers "nothing new" (204, nothing rendered) while it stays the same.
        "history_stamp": stamp(summary),
        "history_live_url": f"{reverse('history', kwargs={'team': team.slug})}?"
        f"{urlencode({**poll_params, 'since': stamp(summary)})}",
        "history_page_url": f"{studio_url}?{urlencode(params)}" if params else studio_url,
        # Paging swaps the history only (the form and its references stay); the page
        # address follows, and is the link without JavaScript.
        "older_url": f"{studio_url}?{urlencode(older)}" if older else "",
        "older_fragment_url": f"{fragment_url}?{urlencode(older)}" if older else "",
        "newest_url": _with_query(studio_url, params) if before_id is not None else "",
        "newest_fragment_url": _with_query(fragment_url, params) if before_id is not None else "",
        "members": list(team.memberships.select_related("user").order_by("user__username")),
        "models": list(catalogue.MODELS.values()),
        "status_choices": STATUS_CHOICES,
        "favourite_ids": starred,
        "comment_counts": comment_counts,
        "review_filter": review,
        "review_choices": review_filters.CHOICES,
        "history_filtered": chosen.is_filtered or bool(review),
    }


LAYOUTS = ("list", "grid")
LAYOUT_SESSION_KEY = "history_layout"


def layout_of(request: AuthedRequest) -> str:
    """The person's history layout: kept in their profile (it follows them to any
    device), read through the session so the fragment costs no extra query."""
    layout = request.session.get(LAYOUT_SESSION_KEY)
    if layout not in LAYOUTS:
        profile = Profile.objects.filter(user_id=request.user.pk).first()
        layout = profile.history_layout if profile else "list"
        request.session[LAYOUT_SESSION_KEY] = layout
    return layout


def set_layout(request: AuthedRequest, layout: str) -> None:
    if layout not in LAYOUTS:
        return
    Profile.objects.update_or_create(user_id=request.user.pk, defaults={"history_layout": layout})
    request.session[LAYOUT_SESSION_KEY] = layout


def _with_query(url: str, params: dict[str, Any]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def stamp(summary: dict[str, Any]) -> str:
    if "favourites" in summary:
        return f"c{summary['clock']}f{summary['favourites']}"
    return f"c{summary['clock']}"
