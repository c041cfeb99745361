"""The review-status filter of the history, collections and exports (`?review=approved`).

The history's own filters live below this app (generations/history.py, which may not
know reviews); the pages that compose a history or a collection apply this one on top
(studio/history.py, gallery's collection page, exports/sources.py), and, like every
filter, it lives in the URL.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import QueryDict

from playground.generations.models import Generation, ResultImage
from playground.reviews.models import ReviewStatus

PARAM = "review"
CHOICES = ReviewStatus.choices


def from_query(params: QueryDict) -> str:
    """The status asked for, or "" (no filter); an unknown value is dropped, so a stale
    link still opens."""
    value = params.get(PARAM, "")
    return value if value in ReviewStatus.values else ""


def params(status: str) -> dict[str, str]:
    return {PARAM: status} if status else {}


def matching(status: str, path: str = "") -> Q:
    """The condition on an image (reached through `path`, e.g. "image__" from a
    collection's item) of having this status."""
    if status == ReviewStatus.NONE:
        # No row is "not reviewed" too.
        return Q(**{f"{path}review__isnull": True}) | Q(
            **{f"{path}review__status": ReviewStatus.NONE}
        )
    return Q(**{f"{path}review__status": status})


def images_with(images: QuerySet[ResultImage], status: str) -> QuerySet[ResultImage]:
    """The images of `images` with this status (all of them without a status)."""
    return images.filter(matching(status)) if status else images


def jobs_with(jobs: QuerySet[Generation], status: str) -> QuerySet[Generation]:
    """The jobs of `jobs` with at least one image of this status."""
    if not status:
        return jobs
    return jobs.filter(
        pk__in=images_with(ResultImage.objects.all(), status).values("generation_id")
    )


def label(status: str) -> str:
    return str(ReviewStatus(status).label) if status else ""
