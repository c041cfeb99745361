"""Side by side: 2–4 images a person may see, with what made each of them.

The page is its own link: `/compare/?images=12,40,41` shows the same comparison to any
colleague who may see every one of those images, and nothing (404) to anyone who may
not see one of them, so a link never reveals part of another team's work. Images may
come from several of the person's teams.
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from playground import ids
from playground.gallery import favourites
from playground.gallery import images as gallery_images
from playground.teams import access
from playground.teams.models import Team

FEWEST = 2
MOST = 4


def _requested(request: access.AuthedRequest) -> tuple[list[int], bool]:
    """The image ids asked for, in order, and whether anything else was in the list.

    `images=1,2` is the shareable form; repeated `image=1&image=2` (a form of ticked
    tiles submitted with GET) is read the same way."""
    return ids.parse_list(request.GET.getlist("images") + request.GET.getlist("image"))


def _problem(ids: list[int], junk: bool) -> str | None:
    """Why this list cannot be compared, in words that say what to do instead."""
    if junk:
        return _(
            "This comparison link is damaged: it should list image numbers separated "
            "by commas, like ?images=12,40. Ask for the link again, or pick the images "
            "again in the history."
        )
    if len(ids) < FEWEST:
        return _(
            "A comparison needs at least %(fewest)d different images. Pick two to four "
            "images in the history, a collection or your favourites, then choose Compare."
        ) % {"fewest": FEWEST}
    if len(ids) > MOST:
        return _(
            "A comparison shows at most %(most)d images side by side; this link names "
            "%(count)d. Pick up to four of them."
        ) % {"most": MOST, "count": len(ids)}
    return None


@require_GET
def compare(request: access.AuthedRequest) -> HttpResponse:
    ids, junk = _requested(request)
    problem = _problem(ids, junk)
    if problem:
        return render(request, "gallery/compare.html", {"problem": problem}, status=400)
    # Any image the person may not see: 404 for the whole page, nothing shown.
    shown = gallery_images.get_all_or_404(request.user, ids)
    # Each image's team in one query, not one per image (the scope does not join it).
    teams = Team.objects.in_bulk({image.generation.team_id for image in shown})
    for image in shown:
        image.generation.team = teams[image.generation.team_id]
    # The lightbox's review status of every image in one query (reviews/_lightbox_data.html).
    prefetch_related_objects(shown, "review")
    context: dict[str, Any] = {
        "shown": shown,
        "several_teams": len(teams) > 1,
        "favourite_ids": favourites.starred_among(request.user, ids),
    }
    if len(teams) == 1:
        # One team's images: the header shows that team, as on a job's page.
        context["team"] = access.membership_in(request, next(iter(teams))).team
    return render(request, "gallery/compare.html", context)
