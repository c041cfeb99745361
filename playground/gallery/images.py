"""Images named by id in a form or URL, read through the one scope of images a person
may see (`ResultImage.objects.visible_to`, beside Generation's in generations/models.py):
an id of an image they may not see answers 404, as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.http import Http404

from playground import ids
from playground.generations.models import ResultImage
from playground.teams.models import Team


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
    found = {
        image.pk: image for image in ResultImage.objects.visible_to(user, team).filter(pk__in=ids)
    }
    if len(found) != len(set(ids)):
        raise Http404
    return [found[pk] for pk in ids]
