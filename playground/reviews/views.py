"""Asking for a review, deciding one, and the review queue.

An image is found through `ResultImage.objects.visible_to` (a stranger, or a colleague
of an "Only me" job, gets 404); who may ask or decide is checked here (403 for the
rest of the team) and again in playground/reviews/decisions.py. Forms POST and come
back to the page they were sent from; with htmx the answer is the image's panel, and
an HX-Trigger "review-changed" tells the page's tiles and the lightbox.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from playground import ids
from playground.generations.models import ResultImage
from playground.lib.redirects import safe_next
from playground.reviews import decisions, queue
from playground.reviews.models import ReviewStatus
from playground.teams import access
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

QUEUE_SIZE = 100  # the queue page shows this many, oldest first, and says how many more


def _image(request: AuthedRequest, image_id: int) -> tuple[ResultImage, Membership]:
    image = (
        ResultImage.objects.visible_to(request.user)
        .select_related("generation__team", "review")
        .filter(pk=image_id)
        .first()
    )
    if image is None:
        raise Http404
    return image, access.membership_in(request, image.generation.team_id)


def _back(request: AuthedRequest, image: ResultImage) -> str:
    job = image.generation
    fallback = reverse("generation_detail", args=[job.public_id]) + f"#image-{image.index}"
    return safe_next(request, fallback)


def _answer(
    request: AuthedRequest,
    image: ResultImage,
    membership: Membership,
    done: str = "",
    **problem: Any,
) -> HttpResponse:
    """The panel again (htmx), or back to the page (with the message); a problem the
    person can fix is said where they typed, keeping what they typed."""
    image = ResultImage.objects.select_related(
        "generation__team", "review__decided_by", "review__reviewer"
    ).get(pk=image.pk)
    context = {
        "o": decisions.options(image, membership),
        "next": safe_next(request, ""),
        "done": done,
        **problem,
    }
    if problem:
        if request.htmx:
            # 200: htmx swaps only successful answers.
            return render(request, "reviews/_panel.html", context)
        return render(request, "reviews/problem.html", context, status=400)
    if not request.htmx:
        messages.success(request, done)
        return redirect(_back(request, image))
    response = render(request, "reviews/_panel.html", context)
    status = decisions.status_of(image)
    return trigger_client_event(
        response,
        "review-changed",
        {"image": image.pk, "status": status.value, "label": str(status.label)},
    )


@require_POST
def review_request(request: AuthedRequest, image_id: int) -> HttpResponse:
    image, membership = _image(request, image_id)
    job = image.generation
    if not membership.can_generate or job.owner_id != request.user.pk:
        raise PermissionDenied
    chosen = request.POST.get("reviewer", "")
    reviewer: User | None = None
    if chosen:
        reviewer_id = ids.parse(chosen)
        reviewer = next(
            (m.user for m in decisions.reviewers_of(job.team) if m.user_id == reviewer_id), None
        )
        if reviewer is None:
            return _answer(
                request,
                image,
                membership,
                error=_("Choose one of the team's reviewers, or “Any reviewer”."),
                chosen_reviewer=chosen,
            )
    try:
        decisions.request_review(image, request.user, reviewer)
    except decisions.ReviewRefused as refused:
        return _answer(request, image, membership, error=refused.message, chosen_reviewer=chosen)
    if reviewer is None:
        done = _("Review requested from the team's reviewers.")
    else:
        done = _("Review requested from %(name)s.") % {"name": reviewer.get_username()}
    return _answer(request, image, membership, done)


@require_POST
def review_decide(request: AuthedRequest, image_id: int) -> HttpResponse:
    image, membership = _image(request, image_id)
    if not decisions.may_decide(membership, image):
        raise PermissionDenied
    status = request.POST.get("status", "")
    note = request.POST.get("note", "")
    try:
        decisions.decide(image, request.user, status, note)
    except decisions.ReviewRefused as refused:
        return _answer(request, image, membership, error=refused.message, note=note)
    done = _("Approved.") if status == ReviewStatus.APPROVED else _("Changes requested.")
    return _answer(request, image, membership, done)


@require_GET
def review_queue(request: AuthedRequest, team: str) -> HttpResponse:
    """What awaits this person's decision, oldest first; and the reviews they asked for."""
    membership = access.membership(request, team)
    waiting = queue.awaiting(request.user, membership)
    shown = list(waiting.select_related("generation__owner")[:QUEUE_SIZE])
    asked = list(queue.requested_by(request.user, membership)[:QUEUE_SIZE])
    context = {
        "team": membership.team,
        "membership": membership,
        "waiting": shown,
        "more": max(waiting.count() - len(shown), 0) if len(shown) == QUEUE_SIZE else 0,
        "asked": asked,
        "review_next": request.get_full_path(),
        "review_hide_state": True,
    }
    return render(request, "reviews/queue.html", context)
