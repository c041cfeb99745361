"""What an export asked for holds: the images of a selection, a collection, a matrix run
or a filtered history, resolved in the requester's scope when they ask.

Every read goes through `ResultImage.objects.visible_to(user, team)`: a collection
or a run of another team is 404 (its id is not even confirmed), an image named in a
selection that this person may not see makes the whole request 404, and a colleague's
"Only me" image in a shared collection is simply not part of what they see, so not
part of what they export.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground import ids as id_parsing
from playground.comments import threads
from playground.exports.models import Source
from playground.gallery import favourites, images
from playground.gallery.models import Collection, CollectionItem
from playground.generations.history import MENTIONS_ME, STATUS_CHOICES, HistoryFilter
from playground.generations.models import Generation, ResultImage
from playground.reviews import filters as review_filters
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership


class UnknownSource(ValueError):
    """The form named no source we know: a crafted request, not a person's mistake."""


@dataclass(frozen=True)
class Wanted:
    source: str
    source_id: int | None
    description: str
    image_ids: list[int]
    # Said on the page when there is nothing to export.
    empty_message: str


def resolve(request: AuthedRequest, membership: Membership) -> Wanted:
    """What the form asks for, narrowed by its review filter (`review`, the history's or
    the collection's) when it has one: a selection is exactly what was ticked."""
    wanted = _resolve(request, membership)
    review = review_filters.from_query(request.POST)
    if not review or wanted.source == Source.SELECTION:
        return wanted
    # The team's images of that status (no list of ids in the query: a history's can
    # be long), kept in the order the source gave.
    keep = set(
        review_filters.images_with(
            ResultImage.objects.filter(generation__team=membership.team), review
        ).values_list("pk", flat=True)
    )
    label = review_filters.label(review)
    return Wanted(
        wanted.source,
        wanted.source_id,
        _("%(what)s, review: %(status)s") % {"what": wanted.description, "status": label},
        [pk for pk in wanted.image_ids if pk in keep],
        _("No image here has the review status “%(status)s”: nothing to download.")
        % {"status": label},
    )


def _resolve(request: AuthedRequest, membership: Membership) -> Wanted:
    source = request.POST.get("source", "")
    user, team = request.user, membership.team
    if source == Source.SELECTION:
        chosen = images.get_all_or_404(user, images.ids_from(request.POST.getlist("image")), team)
        ids = [image.pk for image in chosen]
        return Wanted(
            source,
            None,
            ngettext("Selection of %(count)d image", "Selection of %(count)d images", len(ids))
            % {"count": len(ids)},
            ids,
            _("Tick at least one image to download it as a ZIP."),
        )
    if source == Source.COLLECTION:
        collection = get_object_or_404(Collection, team=team, pk=_int_or_404(request))
        ids = list(
            CollectionItem.objects.filter(
                collection=collection, image__in=ResultImage.objects.visible_to(user, team)
            )
            .order_by("added_at", "id")
            .values_list("image_id", flat=True)
        )
        return Wanted(
            source,
            collection.pk,
            _("Collection “%(name)s”") % {"name": collection.name},
            ids,
            _("The collection “%(name)s” has no image you can see yet: nothing to download.")
            % {"name": collection.name},
        )
    if source == Source.RUN:
        return _run(request, membership)
    if source == Source.HISTORY:
        # The filters of the history bar, posted as the form's fields (the history's own
        # URL parameters): every image of every job they select, not only the page shown.
        # This is `history.selected()` reading the POST instead of the URL.
        chosen_filter = HistoryFilter.from_query(request.POST)
        jobs = chosen_filter.apply(
            Generation.objects.visible_to(user, team),
            user,
            favourites.starred_jobs(user),
            discussed_jobs=threads.discussed_jobs(chosen_filter.comments, user),
        )
        ids = list(
            ResultImage.objects.visible_to(user, team)
            .filter(generation__in=jobs.values("pk"))
            .order_by("-generation_id", "index")
            .values_list("pk", flat=True)
        )
        return Wanted(
            source,
            None,
            history_description(chosen_filter),
            ids,
            _("No job of this view has an archived image yet: nothing to download."),
        )
    raise UnknownSource(source)


def _int_or_404(request: AuthedRequest) -> int:
    return id_parsing.parse_or_404(request.POST.get("source_id", ""))


def _run(request: AuthedRequest, membership: Membership) -> Wanted:
    # The matrix app is looked up, not imported: exports must not break while it is
    # absent or being migrated, and a run is then simply not found.
    try:
        run_model = apps.get_model("matrix", "MatrixRun")
    except LookupError:
        raise Http404 from None
    value = request.POST.get("source_id", "")
    lookup: dict[str, Any] = {}
    if (pk := id_parsing.parse(value)) is not None:
        lookup["pk"] = pk
    else:
        try:
            lookup["public_id"] = uuid.UUID(value)
        except ValueError:
            raise Http404 from None
    # A colleague's "Only me" run is not found: its prompt would title the export.
    run = get_object_or_404(run_model.objects.visible_to(request.user, membership.team), **lookup)
    # The cells' order (row by row), each cell's images in their own order.
    job_ids = list(
        run.cells.exclude(generation=None)
        .order_by("row", "column")
        .values_list("generation_id", flat=True)
    )
    by_job: dict[int, list[int]] = {}
    for image_id, job_id in (
        ResultImage.objects.visible_to(request.user, membership.team)
        .filter(generation_id__in=job_ids)
        .order_by("index")
        .values_list("pk", "generation_id")
    ):
        by_job.setdefault(job_id, []).append(image_id)
    ids = [image_id for job_id in job_ids for image_id in by_job.get(job_id, [])]
    # Looked up by name, the run is still a MatrixRun to the checker (django-stubs
    # resolves apps.get_model), so its title and kind are read as such.
    title = run.title or str(run)
    kind = run.get_kind_display()
    return Wanted(
        Source.RUN,
        run.pk,
        _("%(kind)s “%(title)s”") % {"kind": kind, "title": title},
        ids,
        _("This run has no archived image yet: wait until its jobs are done."),
    )


def history_description(chosen: HistoryFilter) -> str:
    """ "History: model gpt-image-2, “fox”": the filters, as the history bar shows them."""
    parts = []
    if chosen.view == "mine":
        parts.append(_("my jobs"))
    elif chosen.member:
        parts.append(_("member %(name)s") % {"name": chosen.member})
    if chosen.favourites:
        parts.append(_("my favourites"))
    if chosen.comments == MENTIONS_ME:
        parts.append(_("mentioning me"))
    elif chosen.comments:
        parts.append(_("with comments"))
    if chosen.model:
        parts.append(_("model %(model)s") % {"model": chosen.model})
    if chosen.status:
        parts.append(_("status %(status)s") % {"status": dict(STATUS_CHOICES)[chosen.status]})
    if chosen.date_from:
        parts.append(_("from %(date)s") % {"date": chosen.date_from.isoformat()})
    if chosen.date_to:
        parts.append(_("to %(date)s") % {"date": chosen.date_to.isoformat()})
    if chosen.q:
        words = chosen.q if len(chosen.q) <= 80 else f"{chosen.q[:79]}…"
        parts.append(f"“{words}”")
    if not parts:
        return _("History: every job of the team")
    return _("History: %(filters)s") % {"filters": ", ".join(parts)}
