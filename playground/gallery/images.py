"""Which archived images a person may see: the one scope every gallery view reads
through (favourites, collections, the lightbox, comparisons, exports, matrix grids).

An image is visible exactly when its job is (`Generation.objects.visible_to`): the
person's teams' jobs, minus colleagues' "Only me" ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404

from playground.generations.models import Generation, ResultImage


def visible(user: Any, team: Any = None) -> Any:
    """The images this person may see (of `team` only, when given)."""
    return ResultImage.objects.filter(
        generation__in=Generation.objects.visible_to(user, team)
    ).select_related("generation", "generation__owner")


def ids_from(values: Iterable[str]) -> list[int]:
    """Image ids from form or URL values, in order, without repeats; junk is dropped."""
    seen: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.isdigit() and int(part) not in seen:
                seen.append(int(part))
    return seen


def get_all_or_404(user: Any, ids: list[int], team: Any = None) -> list[ResultImage]:
    """These images, in the order given, or 404 if any one is not visible to this
    person: a link that names an image of another team opens nothing at all."""
    found = {image.pk: image for image in visible(user, team).filter(pk__in=ids)}
    if len(found) != len(set(ids)):
        raise Http404
    return [found[pk] for pk in ids]
