"""The team's collections: what each person sees of them, and the changes to them.

A collection holds images, never copies: its pages show only the images the viewer may
see (`ResultImage.objects.visible_to`), so a colleague's "Only me" job stays hidden in a
shared collection, and its count is the count that viewer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from playground.gallery.models import Collection, CollectionItem
from playground.generations.models import ResultImage
from playground.teams.models import Membership, Team


def of_team(team: Team) -> QuerySet[Collection]:
    return Collection.objects.filter(team=team)


@dataclass(frozen=True)
class Card:
    """A collection as the list page shows it to one person: how many of its images
    they may see, and its cover among those (None: none they may see)."""

    collection: Collection
    image_count: int
    cover: ResultImage | None


def cards(user: User, team: Team) -> list[Card]:
    """The list page's cards: each collection with its count and cover as this person
    sees them. Three queries whatever the number of collections."""
    visible_ids = ResultImage.objects.visible_to(user, team).values("pk")
    first_visible = (
        CollectionItem.objects.filter(collection=OuterRef("pk"), image__in=visible_ids)
        .order_by("added_at", "id")
        .values("image_id")[:1]
    )
    found = list(
        of_team(team)
        .select_related("created_by")
        .annotate(
            image_count=Count("items", filter=Q(items__image__in=visible_ids)),
            cover_visible=Exists(
                ResultImage.objects.visible_to(user, team).filter(pk=OuterRef("cover_id"))
            ),
            first_image_id=Subquery(first_visible),
        )
    )
    shown = {
        c.pk: c.cover_id if c.cover_id and c.cover_visible else c.first_image_id for c in found
    }
    covers = ResultImage.objects.visible_to(user, team).in_bulk([pk for pk in shown.values() if pk])
    return [Card(c, c.image_count, covers.get(shown[c.pk])) for c in found]


def visible_items(user: User, collection: Collection) -> QuerySet[CollectionItem]:
    """The collection's items this person may see, in the order they were added."""
    return (
        collection.items.filter(
            image__in=ResultImage.objects.visible_to(user, collection.team).values("pk")
        )
        .select_related("image__generation__owner")
        .order_by("added_at", "id")
    )


def create(team: Team, name: str, user: User) -> Collection | None:
    """A new collection, or None if the name was taken meanwhile (the form checked it;
    the unique constraint decides a race)."""
    try:
        with transaction.atomic():
            return Collection.objects.create(team=team, name=name, created_by=user)
    except IntegrityError:
        return None


def add(collection: Collection, found: list[ResultImage], user: User) -> int:
    """Add these images (already checked: visible to `user`, of the collection's team);
    returns how many were new to it. Adding one already there changes nothing."""
    already = set(
        collection.items.filter(image__in=[i.pk for i in found]).values_list("image_id", flat=True)
    )
    now = timezone.now()
    CollectionItem.objects.bulk_create(
        [
            CollectionItem(collection=collection, image=image, added_by=user, added_at=now)
            for image in found
            if image.pk not in already
        ],
        ignore_conflicts=True,  # a colleague adding the same image at the same moment
    )
    touch(collection)
    return len({i.pk for i in found} - already)


def remove(collection: Collection, image: ResultImage) -> None:
    collection.items.filter(image=image).delete()
    if collection.cover_id == image.pk:
        collection.cover = None
        collection.save(update_fields=["cover"])
    touch(collection)


def touch(collection: Collection) -> None:
    collection.updated_at = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(updated_at=collection.updated_at)


def picker_context(membership: Membership) -> dict[str, Any]:
    """What the multi-select bar and the lightbox's "Add to collection" picker need on
    every page showing a team's tiles: the team's collections, for those who may add."""
    if not membership.can_generate:
        return {"team_collections": []}
    return {"team_collections": list(of_team(membership.team).only("pk", "name"))}
