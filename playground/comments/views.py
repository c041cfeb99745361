"""The comment threads' pages and fragments.

Every view reaches a thread through the one scope of jobs, `Generation.objects
.visible_to` (or `ResultImage.objects.visible_to` for an image's): a person outside the
team, or a colleague of an "Only me" job, gets 404 as for everything else of the job.
Everyone who may see a job may write in its threads (viewers too: a comment changes no
image). With htmx a thread answers with itself; without JavaScript the forms POST and
redirect back to the job's page.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import ids
from playground.comments import threads
from playground.comments.models import Comment
from playground.generations.models import Generation, ResultImage
from playground.lib.redirects import safe_next
from playground.teams import access
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

THREAD = "comments/_thread.html"
# At most this many threads in one live check (a job of 10 images has 11).
LIVE_THREADS_MAX = 40
# How many people the @-autocomplete offers at once.
CANDIDATES_MAX = 8
# Where a thread is shown, as the prefix of its element ids: the page, or the lightbox
# (which may show an image's thread that the page shows too).
PLACES = ("", "lightbox-")


def _place(request: AuthedRequest) -> str:
    place = request.POST.get("place") if request.method == "POST" else request.GET.get("place")
    return place if place in PLACES else ""


@require_http_methods(["GET", "POST"])
def job_comments(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    generation = get_object_or_404(
        Generation.objects.visible_to(request.user).select_related("team", "owner"),
        public_id=public_id,
    )
    membership = access.membership_in(request, generation.team_id)
    return _thread_view(request, membership, generation, None)


@require_http_methods(["GET", "POST"])
def image_comments(request: AuthedRequest, image_id: int) -> HttpResponse:
    image = get_object_or_404(
        ResultImage.objects.visible_to(request.user).select_related("generation__team"),
        pk=image_id,
    )
    membership = access.membership_in(request, image.generation.team_id)
    return _thread_view(request, membership, image.generation, image)


def _thread_view(
    request: AuthedRequest,
    membership: Membership,
    generation: Generation,
    image: ResultImage | None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "generation": generation,
        "image": image,
        "membership": membership,
        "place": _place(request),
        # The thread comes back as its page drew it (the job's page: with the thumbnail).
        "with_thumb": request.POST.get("with_thumb") == "1",
    }
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            threads.post(request.user, generation, body, image=image)
        except ValidationError as refused:
            # The text stays in the box, with the reason beside it.
            context |= {"comment_error": " ".join(refused.messages), "comment_draft": body}
            if request.htmx:
                return render(request, THREAD, context)
            return render(request, "comments/thread.html", context, status=400)
        if not request.htmx:
            # Back where the form was, scrolled to the thread.
            back = safe_next(request, _thread_address(generation, image))
            if "#" not in back:
                key = threads.key_of(generation.pk, image.pk if image else None)
                back += f"#{_place(request)}thread-{key}"
            return redirect(back)
        context["comment_posted"] = True
    template = THREAD if request.htmx else "comments/thread.html"
    return render(request, template, context)


def _thread_address(generation: Generation, image: ResultImage | None) -> str:
    anchor = threads.key_of(generation.pk, image.pk if image else None)
    return f"{reverse('generation_detail', args=[generation.public_id])}#thread-{anchor}"


def _comment(request: AuthedRequest, comment_id: int) -> tuple[Comment, Membership]:
    comment = get_object_or_404(
        Comment.objects.filter(
            generation__in=Generation.objects.visible_to(request.user)
        ).select_related("author", "generation__team", "image"),
        pk=comment_id,
    )
    return comment, access.membership_in(request, comment.team_id)


@require_http_methods(["GET", "POST"])
def comment_edit(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """One's own comment: the form (GET), the change (POST). Others get 403."""
    comment, membership = _comment(request, comment_id)
    if not threads.may_edit(comment, request.user):
        raise PermissionDenied
    context: dict[str, Any] = {
        "comment": comment,
        "membership": membership,
        "editing": True,
        "place": _place(request),
        # The thread comes back as its page drew it (the job's page: with the thumbnail).
        "with_thumb": request.POST.get("with_thumb") == "1",
    }
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            threads.edit(comment, request.user, body)
        except ValidationError as refused:
            context |= {"comment_error": " ".join(refused.messages), "comment_draft": body}
            if request.htmx:
                return render(request, f"{THREAD}#comment", context)
            return render(request, "comments/edit.html", context, status=400)
        if not request.htmx:
            return redirect(_thread_address(comment.generation, comment.image))
        context["editing"] = False
        comment.refresh_from_db()
    template = f"{THREAD}#comment" if request.htmx else "comments/edit.html"
    return render(request, template, context)


@require_POST
def comment_delete(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """Its author, or an admin of its team; others get 403."""
    comment, membership = _comment(request, comment_id)
    address = _thread_address(comment.generation, comment.image)
    if not threads.delete(comment, membership, request=request):
        raise PermissionDenied
    if request.htmx:
        return HttpResponse("")  # the comment's element goes
    return redirect(address)


@require_GET
def comments_live(request: AuthedRequest) -> HttpResponse:
    """The live check of every thread a page shows (#comments-live, every few
    seconds; static/js/comments.js names the threads): `t=[<place>~]<key>:<stamp>` per
    thread. Nothing changed: 204. Otherwise the
    lists of the threads that changed, each with its new stamp. A thread the person
    may not see (any more) is left out, never named."""
    asked: dict[tuple[str, str], str] = {}  # (place, key) → stamp
    for value in request.GET.getlist("t")[:LIVE_THREADS_MAX]:
        named, _, stamp = value.partition(":")
        place, _, key = named.rpartition("~")
        if place in PLACES and len(key) > 1 and key[0] in "ji" and ids.parse(key[1:]) is not None:
            asked[(place, key)] = stamp
    job_ids = [int(key[1:]) for _, key in asked if key[0] == "j"]
    image_ids = [int(key[1:]) for _, key in asked if key[0] == "i"]
    jobs = Generation.objects.visible_to(request.user).select_related("team", "owner")
    seen_jobs = {job.pk: job for job in jobs.filter(pk__in=job_ids)}
    seen_images = {
        image.pk: image
        for image in ResultImage.objects.visible_to(request.user)
        .select_related("generation__team")
        .filter(pk__in=image_ids)
    }
    now = threads.stamps_for(seen_jobs, seen_images)
    changed = [
        (place, key) for (place, key), stamp in asked.items() if now.get(key, stamp) != stamp
    ]
    if not changed:
        return HttpResponse(status=204)
    memberships = {
        m.team_id: m
        for m in Membership.objects.filter(user_id=request.user.pk).select_related("team")
    }
    lists = []
    for place, key in changed:
        if key[0] == "j":
            generation, image = seen_jobs[int(key[1:])], None
        else:
            image = seen_images[int(key[1:])]
            generation = image.generation
        membership = memberships.get(generation.team_id)
        if membership is None:
            raise Http404  # visible_to and the memberships were read a moment apart
        thread = threads.thread_of(generation, image)
        lists.append({"thread": thread, "membership": membership, "place": place})
    return render(request, "comments/live.html", {"lists": lists})


@require_GET
def mention_candidates(request: AuthedRequest, team: str) -> JsonResponse:
    """The team's members whose username starts with `q`, for the @-autocomplete.

    Only a member of the team gets an answer (404 for anyone else, as for every page of
    the team), and only with the team's own members: no other username is ever
    confirmed. With `job`, only the people who may see that job (an "Only me" job's
    owner alone)."""
    membership = access.membership(request, team)
    prefix = request.GET.get("q", "").strip().lstrip("@")[:150]
    people = threads.members_who_see_team(membership.team)
    job_id = request.GET.get("job", "")
    if job_id:
        try:
            job = Generation.objects.visible_to(request.user, membership.team).get(
                public_id=uuid.UUID(job_id)
            )
        except (ValueError, Generation.DoesNotExist) as missing:
            raise Http404 from missing
        people = threads.members_who_see(job)
    found = (
        people.filter(username__istartswith=prefix, is_active=True)
        .exclude(pk=request.user.pk)
        .order_by("username")
        .values_list("username", flat=True)[:CANDIDATES_MAX]
    )
    return JsonResponse({"people": [{"username": name} for name in found]})


@require_GET
def comment_show(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """One comment as its thread shows it (an edit's Cancel)."""
    comment, membership = _comment(request, comment_id)
    if not request.htmx:
        return redirect(_thread_address(comment.generation, comment.image))
    context = {"comment": comment, "membership": membership, "place": _place(request)}
    return render(request, f"{THREAD}#comment", context)
