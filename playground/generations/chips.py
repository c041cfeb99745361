"""A reference image as a form shows it: its thumbnail, its size and the signed token
the form posts back. The studio's form, the matrix's form and a job's page all show
attached references this one way."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.urls import reverse

from playground.generations import references
from playground.generations.models import Generation, ReferenceImage
from playground.teams.models import Team


@dataclass(frozen=True)
class Chip:
    token: str  # what the form posts back (references.form_token)
    reference: ReferenceImage
    thumbnail_url: str
    # A job's page names the job the image was taken from, when the person may see it.
    source: Generation | None = None
    # "Edit with mask": the studio's mask painter opens on this chip when the page loads
    # (the chip carries data-open-mask; static/js/mask-painter.js).
    open_mask: bool = False


def chip(
    attached: references.Attached,
    user: User,
    team: Team,
    *,
    source: Generation | None = None,
    open_mask: bool = False,
) -> Chip:
    """A reference as the form shows it: thumbnail, size, and its signed token."""
    token = references.form_token(attached.image, user, team, source_id=attached.source_id)
    return Chip(
        token=token,
        reference=attached.image,
        thumbnail_url=reverse("reference_thumbnail", kwargs={"token": token}),
        source=source,
        open_mask=open_mask,
    )
