"""Favourites and the team's collections.

Every image is found through `ResultImage.objects.visible_to` (the one scope: the
images of the jobs a person may see), every collection through the team of the URL:
a stranger gets 404 for all of it, a viewer may look and star but not change the
team's collections (403).
Forms POST and redirect without JavaScript; htmx swaps the small parts on top.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from playground import ids as id_parsing
from playground.audit.log import record
from playground.audit.models import Action
from playground.comments import threads
from playground.gallery import collections, favourites, images
from playground.gallery.forms import CollectionNameForm, name_problem
from playground.gallery.models import Collection
from playground.generations.models import ResultImage
from playground.lib.redirects import safe_next
from playground.reviews import filters as review_filters
from playground.teams import access
from playground.teams.models import Membership

COLLECTION_PAGE_SIZE = 60
NEW = "new"  # the picker's "New collection…" choice


@require_POST
def favourite_toggle(request: access.AuthedRequest, image_id: int) -> HttpResponse:
    """Star or un-star an image, for this person only. Anyone who may see the image may
    (viewers too); anyone else gets 404, as if it did not exist.

    `favourited=on|off` says which state is wanted, so a repeated press (two tabs, a
    slow network) leaves the star as the person last saw it; without it, it toggles.
    """
    image = ResultImage.objects.visible_to(request.user).filter(pk=image_id).first()
    if image is None:
        raise Http404
    wanted = request.POST.get("favourited")
    on = (
        wanted == "on"
        if wanted in ("on", "off")
        else not favourites.is_favourite(request.user, image)
    )
    on = favourites.set_favourite(request.user, image, on)
    if request.htmx:
        response = render(
            request,
            "gallery/_favourite.html",
            {"img": image, "favourite_ids": {image.pk} if on else set()},
        )
        # static/js/gallery.js brings every other tile and the lightbox of this image
        # up to date.
        return trigger_client_event(
            response, "favourite-changed", {"image": image.pk, "favourited": on}
        )
    detail = reverse("generation_detail", kwargs={"public_id": image.generation.public_id})
    return redirect(safe_next(request, detail))


@require_http_methods(["GET", "POST"])
def collection_list(request: access.AuthedRequest, team: str) -> HttpResponse:
    """The team's collections as cards; members and admins create one here."""
    membership = access.membership(request, team)
    form = CollectionNameForm(team=membership.team)
    if request.method == "POST":
        access.require_generate(membership)
        form = CollectionNameForm(request.POST, team=membership.team)
        if form.is_valid():
            created = collections.create(membership.team, form.cleaned_data["name"], request.user)
            if created is not None:
                messages.success(
                    request, _("Collection “%(name)s” created.") % {"name": created.name}
                )
                return redirect("collection", team=team, collection_id=created.pk)
            form.add_error("name", name_problem(membership.team, form.cleaned_data["name"]))
    context = {
        "team": membership.team,
        "collections": collections.cards(request.user, membership.team),
        "form": form,
    }
    return render(request, "gallery/collections.html", context, status=400 if form.errors else 200)


def _collection(
    request: access.AuthedRequest, team: str, collection_id: int
) -> tuple[Membership, Collection]:
    membership = access.membership(request, team)
    found = get_object_or_404(
        collections.of_team(membership.team).select_related("created_by"), pk=collection_id
    )
    return membership, found


def _detail(
    request: access.AuthedRequest,
    membership: Membership,
    collection: Collection,
    rename_form: CollectionNameForm | None = None,
) -> HttpResponse:
    items = collections.visible_items(request.user, collection).select_related("image__review")
    review = review_filters.from_query(request.GET)
    if review:
        items = items.filter(review_filters.matching(review, "image__"))
    page = Paginator(items, COLLECTION_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    total = collection.items.count()
    context = {
        "team": membership.team,
        "collection": collection,
        "items": shown,
        "page": page,
        # Said on the page, so nobody wonders why a colleague sees more (a review
        # filter hides images on purpose: nothing to explain then).
        "hidden_count": 0 if review else total - page.paginator.count,
        "review_filter": review,
        "review_choices": review_filters.CHOICES,
        "favourite_ids": favourites.starred_among(request.user, [i.image_id for i in shown]),
        "comment_counts": threads.counts_for({i.image.generation_id for i in shown}),
        "rename_form": rename_form
        or CollectionNameForm(initial={"name": collection.name}, team=membership.team),
        **collections.picker_context(membership),
    }
    status = 400 if rename_form is not None and rename_form.errors else 200
    return render(request, "gallery/collection.html", context, status=status)


@require_GET
def collection_detail(request: access.AuthedRequest, team: str, collection_id: int) -> HttpResponse:
    """A collection as a grid: the link a colleague opens."""
    membership, collection = _collection(request, team, collection_id)
    return _detail(request, membership, collection)


@require_POST
def collection_rename(request: access.AuthedRequest, team: str, collection_id: int) -> HttpResponse:
    membership, collection = _collection(request, team, collection_id)
    access.require_generate(membership)
    form = CollectionNameForm(request.POST, team=membership.team, instance=collection)
    if not form.is_valid():
        return _detail(request, membership, collection, rename_form=form)
    collection.name = form.cleaned_data["name"]
    collection.updated_at = timezone.now()
    collection.save(update_fields=["name", "updated_at"])
    messages.success(request, _("Renamed to “%(name)s”.") % {"name": collection.name})
    return redirect("collection", team=team, collection_id=collection.pk)


@require_http_methods(["GET", "POST"])
def collection_delete(request: access.AuthedRequest, team: str, collection_id: int) -> HttpResponse:
    """Asks first (GET); deleting a collection never deletes an image."""
    membership, collection = _collection(request, team, collection_id)
    access.require_generate(membership)
    if request.method == "GET":
        context = {
            "team": membership.team,
            "collection": collection,
            "image_count": collection.items.count(),
        }
        return render(request, "gallery/collection_delete.html", context)
    name = collection.name
    with transaction.atomic():
        count = collection.items.count()
        collection.delete()
        record(
            Action.COLLECTION_DELETED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=name,
            changes={"images": [count, None]},
        )
    messages.success(
        request, _("Collection “%(name)s” deleted. Its images are kept.") % {"name": name}
    )
    return redirect("collections", team=team)


def _one_image(request: access.AuthedRequest, membership: Membership) -> ResultImage:
    ids = images.ids_from(request.POST.getlist("image"))
    if len(ids) != 1:
        raise Http404
    return images.get_all_or_404(request.user, ids, membership.team)[0]


@require_POST
def collection_remove(request: access.AuthedRequest, team: str, collection_id: int) -> HttpResponse:
    """Take an image out of the collection (the image itself stays)."""
    membership, collection = _collection(request, team, collection_id)
    access.require_generate(membership)
    image = _one_image(request, membership)
    collections.remove(collection, image)
    if request.htmx:
        return HttpResponse("")  # the tile's item is replaced by nothing
    messages.success(request, _("Removed from “%(name)s”.") % {"name": collection.name})
    back = reverse("collection", kwargs={"team": team, "collection_id": collection.pk})
    return redirect(safe_next(request, back))


@require_POST
def collection_cover(request: access.AuthedRequest, team: str, collection_id: int) -> HttpResponse:
    """Make one of the collection's images the one its card shows."""
    membership, collection = _collection(request, team, collection_id)
    access.require_generate(membership)
    image = _one_image(request, membership)
    if not collection.items.filter(image=image).exists():
        raise Http404
    collection.cover = image
    collection.save(update_fields=["cover"])
    collections.touch(collection)
    messages.success(request, _("The cover of “%(name)s” is set.") % {"name": collection.name})
    back = reverse("collection", kwargs={"team": team, "collection_id": collection.pk})
    return redirect(f"{safe_next(request, back)}#image-tile-{image.pk}")


@require_POST
def collection_add(request: access.AuthedRequest, team: str) -> HttpResponse:
    """Add ticked images to a collection, or to a new one named here.

    Used by the multi-select bar, the lightbox's picker and plain forms. Every image
    must be of this team and visible to the person, or nothing is added (404). A
    problem the person can fix (no image ticked, a bad new name) is said where they
    typed, and nothing they typed is lost.
    """
    membership = access.membership(request, team)
    access.require_generate(membership)
    ids = images.ids_from(request.POST.getlist("image"))
    found = images.get_all_or_404(request.user, ids, membership.team) if ids else []
    chosen = request.POST.get("collection", NEW) or NEW
    new_name = request.POST.get("new_name", "").strip()
    collection = None
    if chosen != NEW:
        collection = get_object_or_404(
            collections.of_team(membership.team), pk=id_parsing.parse_or_404(chosen)
        )
    problem = ""
    if not found:
        problem = _("Tick at least one image to add.")
    elif collection is None:
        problem = name_problem(membership.team, new_name)
        if not problem:
            collection = collections.create(membership.team, new_name, request.user)
            if collection is None:  # taken between the check and the insert
                problem = name_problem(membership.team, new_name)
    if problem or collection is None:
        return _add_refused(request, membership, found, problem, chosen, new_name)

    added = collections.add(collection, found, request.user)
    message = _added_message(collection, added, len(found))
    if request.htmx:
        context = {
            "team": membership.team,
            "added_to": collection,
            "status_message": message,
            "picker_oob": True,
            **collections.picker_context(membership),
        }
        response = render(request, "gallery/_selection.html#selection-status", context)
        return trigger_client_event(
            response,
            "collection-added",
            {"collection": collection.pk, "images": [i.pk for i in found]},
        )
    messages.success(request, message)
    target = reverse("collection", kwargs={"team": team, "collection_id": collection.pk})
    return redirect(safe_next(request, target))


def _added_message(collection: Collection, added: int, asked: int) -> str:
    values = {"n": added, "name": collection.name, "already": asked - added}
    if added == asked:
        return (
            ngettext("%(n)d image added to “%(name)s”.", "%(n)d images added to “%(name)s”.", added)
            % values
        )
    return (
        ngettext(
            "%(n)d image added to “%(name)s” (%(already)d already in it).",
            "%(n)d images added to “%(name)s” (%(already)d already in it).",
            added,
        )
        % values
    )


def _add_refused(
    request: access.AuthedRequest,
    membership: Membership,
    found: list[ResultImage],
    problem: str,
    chosen: str,
    new_name: str,
) -> HttpResponse:
    context = {
        "team": membership.team,
        "problem": problem,
        "chosen": chosen,
        "new_name": new_name,
        "images": found,
        "next": safe_next(request, ""),
        **collections.picker_context(membership),
    }
    if request.htmx:
        # 200: htmx swaps only successful answers; the inputs, outside the swapped
        # status, keep what was typed.
        return render(request, "gallery/_selection.html#selection-status", context)
    return render(request, "gallery/collection_add.html", context, status=400)
