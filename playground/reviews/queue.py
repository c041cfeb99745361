"""What awaits a person's decision, oldest request first, and what they asked for.

The queue of a reviewer (an admin, or a member with the reviewer right): the team's
images that need a review and that they may see, asked of them, of nobody in
particular, or of someone who no longer holds the right (so nothing waits for ever
on a person who cannot decide). A request someone made without naming a reviewer is
not in their own queue.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from playground.generations.models import ResultImage
from playground.reviews.decisions import reviewers_of
from playground.reviews.models import ReviewStatus
from playground.teams.models import Membership


def _with_review(images: QuerySet[ResultImage]) -> QuerySet[ResultImage]:
    return images.select_related("review", "review__requested_by", "review__reviewer")


def awaiting(user: User, membership: Membership) -> QuerySet[ResultImage]:
    """The images waiting for this person's decision, oldest request first."""
    if not membership.can_review:
        return ResultImage.objects.none()
    able = reviewers_of(membership.team).values("user_id")
    mine = Q(review__reviewer_id=user.pk)
    anyone = Q(review__reviewer=None) & ~Q(review__requested_by_id=user.pk)
    orphaned = Q(review__reviewer__isnull=False) & ~Q(review__reviewer_id__in=able)
    return _with_review(
        ResultImage.objects.visible_to(user, membership.team)
        .filter(review__status=ReviewStatus.NEEDS_REVIEW)
        .filter(mine | anyone | orphaned)
        .order_by("review__requested_at", "pk")
    )


def requested_by(user: User, membership: Membership) -> QuerySet[ResultImage]:
    """The images this person asked a review of that still wait, oldest first."""
    return _with_review(
        ResultImage.objects.visible_to(user, membership.team)
        .filter(review__status=ReviewStatus.NEEDS_REVIEW, review__requested_by_id=user.pk)
        .order_by("review__requested_at", "pk")
    )
