"""Which archived images a person may see: the one scope every gallery view reads
through (favourites, collections, the lightbox, comparisons, exports, matrix grids).

An image is visible exactly when its job is (`Generation.objects.visible_to`): the
person's teams' jobs, minus colleagues' "Only me" ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404

from playground import ids
from playground.generations.models import Generation, ResultImage
from playground.teams.models import Team


def visible(user: User, team: Team | None = None) -> QuerySet[ResultImage]:
    """The images this person may see (of `team` only, when given)."""
    return ResultImage.objects.filter(
        generation__in=Generation.objects.visible_to(user, team)
    ).select_related("generation", "generation__owner")


def ids_from(values: Iterable[str]) -> list[int]:
    """Image ids from form or URL values, in order, without repeats (playground/ids.py
    reads them). Anything that is not an id — a number past the database's range
    too — names no image anyone may see: 404, as an id of another team's image is."""
    found, junk = ids.parse_list(values)
    if junk:
        raise Http404
    return found


def get_all_or_404(user: User, ids: list[int], team: Team | None = None) -> list[ResultImage]:
    """These images, in the order given, or 404 if any one is not visible to this
    person: a link that names an image of another team opens nothing at all."""
    found = {image.pk: image for image in visible(user, team).filter(pk__in=ids)}
    if len(found) != len(set(ids)):
        raise Http404
    return [found[pk] for pk in ids]
