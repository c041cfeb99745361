"""Asking for a review and deciding one: who may, what is kept, whom it tells.

- Request: the maker of a job, if they may generate in its team (admin or member),
  asks for a review of one of its images, optionally naming one reviewer. An "Only me"
  job cannot be reviewed: no reviewer may see it.
- Decide: team admins, and members of any role holding the reviewer right
  (`Membership.reviewer`), approve or request changes, with an optional note that
  becomes a comment on the image (comments.threads.post), so the discussion stays in
  one thread.
- Every change is kept as a `ReviewEvent`; it moves the team's history clock, so open
  histories redraw the tile's badge at their next live check.
- Notifications: a request tells the named reviewer (or every reviewer of the team
  when none is named); a decision tells the job's maker.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from playground.comments import threads
from playground.comments.models import Comment
from playground.generations.models import HistoryClock, ResultImage
from playground.notifications import events
from playground.notifications.models import Kind
from playground.reviews.models import DECISIONS, ImageReview, ReviewEvent, ReviewStatus
from playground.teams.models import Membership, Role, Team

# The longest note a decision takes: it becomes a comment, so a comment's limit.
NOTE_MAX = Comment.BODY_MAX


class ReviewRefused(Exception):
    """A request or decision that cannot be made, with the sentence to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reviewers_of(team: Team) -> QuerySet[Membership]:
    """Who may decide in this team: its admins and the members with the reviewer right."""
    return (
        Membership.objects.filter(team=team)
        .filter(Q(role=Role.ADMIN) | Q(reviewer=True))
        .select_related("user")
        .order_by("user__username")
    )


def may_request(membership: Membership | None, image: ResultImage) -> bool:
    job = image.generation
    return (
        membership is not None
        and membership.team_id == job.team_id
        and membership.can_generate
        and job.owner_id == membership.user_id
        and not job.private
    )


def may_decide(membership: Membership | None, image: ResultImage) -> bool:
    return (
        membership is not None
        and membership.team_id == image.generation.team_id
        and membership.can_review
    )


def status_of(image: ResultImage) -> ReviewStatus:
    """The image's status; NONE without a review row (reads `image.review`, so a list
    should select_related("review") first)."""
    try:
        return ReviewStatus(image.review.status)
    except ImageReview.DoesNotExist:
        return ReviewStatus.NONE


def _membership(user: User, image: ResultImage) -> Membership | None:
    return Membership.objects.filter(user_id=user.pk, team_id=image.generation.team_id).first()


def request_review(image: ResultImage, by: User, reviewer: User | None = None) -> ImageReview:
    """Ask for a review of `image` (again, after a decision: it goes back to "needs
    review"), of `reviewer` or of any reviewer of the team."""
    job = image.generation
    if job.private:
        raise ReviewRefused(_("An “Only me” job cannot be reviewed: show it to the team first."))
    if not may_request(_membership(by, image), image):
        raise ReviewRefused(_("Only the maker of a job may ask for a review of its images."))
    team = job.team
    if reviewer is not None and (
        reviewer.pk == by.pk or not reviewers_of(team).filter(user_id=reviewer.pk).exists()
    ):
        raise ReviewRefused(_("Choose one of the team's reviewers, or “Any reviewer”."))
    now = timezone.now()
    with transaction.atomic():
        review, _created = ImageReview.objects.update_or_create(
            image=image,
            defaults={
                "status": ReviewStatus.NEEDS_REVIEW,
                "requested_by": by,
                "reviewer": reviewer,
                "requested_at": now,
                "decided_by": None,
                "decided_at": None,
            },
        )
        ReviewEvent.objects.create(
            image=image,
            status=ReviewStatus.NEEDS_REVIEW,
            actor=by,
            reviewer=reviewer,
            created_at=now,
        )
        HistoryClock.tick(team_ids=[job.team_id])
    recipients = (
        [reviewer]
        if reviewer is not None
        else [m.user for m in reviewers_of(team).exclude(user_id=by.pk)]
    )
    for recipient in recipients:
        events.notify(
            recipient, Kind.REVIEW_REQUESTED, team=team, actor=by, generation=job, image=image
        )
    return review


def decide(image: ResultImage, by: User, status: str, note: str = "") -> ImageReview:
    """Approve or request changes on `image` (whatever its status: a reviewer may
    also pick an image nobody asked about); `note`, if any, becomes a comment."""
    if status not in DECISIONS:
        raise ReviewRefused(_("Choose “Approve” or “Request changes”."))
    if not may_decide(_membership(by, image), image):
        raise ReviewRefused(_("Only the team's admins and reviewers decide on reviews."))
    note = note.replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        raise ReviewRefused(
            _("The note is too long: at most %(max)d characters.") % {"max": NOTE_MAX}
        )
    job = image.generation
    now = timezone.now()
    with transaction.atomic():
        review, created = ImageReview.objects.get_or_create(
            image=image,
            defaults={"status": status, "requested_at": now, "decided_by": by, "decided_at": now},
        )
        if not created:
            review.status, review.decided_by, review.decided_at = status, by, now
            review.save(update_fields=["status", "decided_by", "decided_at"])
        ReviewEvent.objects.create(image=image, status=status, actor=by, created_at=now)
        HistoryClock.tick(team_ids=[job.team_id])
        if note:
            # The decision's notification below carries the note: the image's author
            # gets it once, not again as a mention or a reply.
            threads.post(by, job, note, image=image, told=[job.owner])
    events.notify(
        job.owner,
        Kind.REVIEW_DECIDED,
        team=job.team,
        actor=by,
        generation=job,
        image=image,
        detail=status,
        excerpt=note,
    )
    return review


@dataclass(frozen=True)
class Options:
    """What one person sees and may do about one image's review (its panel)."""

    image: ResultImage
    review: ImageReview | None
    status: ReviewStatus
    can_request: bool
    can_decide: bool
    # Whom a request may name: the team's reviewers but the asker.
    reviewers: list[User]


def options(image: ResultImage, membership: Membership | None) -> Options:
    try:
        review: ImageReview | None = image.review
    except ImageReview.DoesNotExist:
        review = None
    can_request = may_request(membership, image)
    reviewers = []
    if can_request and membership is not None:
        reviewers = [
            m.user for m in reviewers_of(membership.team).exclude(user_id=membership.user_id)
        ]
    return Options(
        image=image,
        review=review,
        status=ReviewStatus(review.status) if review else ReviewStatus.NONE,
        can_request=can_request,
        can_decide=may_decide(membership, image),
        reviewers=reviewers,
    )
