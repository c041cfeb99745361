"""Each person's stars on images: set one, read a page's worth at once, and a mark of
what changed for the history's live check.

A star is a row (user, image). It is found again by the person only: nobody else sees
whom a star belongs to, and the "Favourites" filter of the history is one's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet, Sum

from playground.gallery.models import Favourite
from playground.generations.models import ResultImage


def set_favourite(user: User, image: ResultImage, on: bool) -> bool:
    """Star (`on`) or un-star an image for this person; returns whether it is starred.

    Safe to repeat: starring twice keeps one star (two tabs, a double press)."""
    if not on:
        Favourite.objects.filter(user_id=user.pk, image_id=image.pk).delete()
        return False
    try:
        with transaction.atomic():
            Favourite.objects.get_or_create(user_id=user.pk, image_id=image.pk)
    except IntegrityError:
        pass  # the other request of a double press made the same star first
    return True


def is_favourite(user: User, image: ResultImage) -> bool:
    return Favourite.objects.filter(user_id=user.pk, image_id=image.pk).exists()


def starred_among(user: User, image_ids: Iterable[int]) -> set[int]:
    """Which of these images the person starred: one query for a whole page of tiles."""
    ids = list(image_ids)
    if not ids or not user.is_authenticated:
        return set()
    return set(
        Favourite.objects.filter(user_id=user.pk, image_id__in=ids).values_list(
            "image_id", flat=True
        )
    )


def starred_in_jobs(user: User, job_ids: Iterable[int]) -> set[int]:
    """Which images of these jobs the person starred: one query for a page of the
    history (also for a page whose jobs have no image yet, so its cost is constant)."""
    ids = list(job_ids)
    if not ids or not user.is_authenticated:
        return set()
    return set(
        Favourite.objects.filter(user_id=user.pk, image__generation_id__in=ids).values_list(
            "image_id", flat=True
        )
    )


def starred_jobs(user: User) -> QuerySet[Favourite, int]:
    """The ids of jobs with at least one image this person starred (a subquery)."""
    return Favourite.objects.filter(user_id=user.pk).values_list("image__generation_id", flat=True)


def mark(user: User) -> str:
    """Moves whenever the person stars or un-stars anything: the history's stamp adds it
    while the "Favourites" filter is on, so an un-starred job leaves that view at the
    next live check. One aggregate of the person's rows (indexed by user): how many,
    the newest, and the sum of the images' ids, so a star removed and another added
    between two checks still changes it."""
    found = Favourite.objects.filter(user_id=user.pk).aggregate(
        n=Count("id"), last=Max("id"), images=Sum("image_id")
    )
    return f"{found['n']}.{found['last'] or 0}.{found['images'] or 0}"
