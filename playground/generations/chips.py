"""A reference image as a form shows it: its thumbnail, its size and the signed token
the form posts back. The studio's form, the matrix's form and a job's page all show
attached references this one way."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from playground.generations import references
from playground.teams.models import Team


def chip(attached: references.Attached, user: User, team: Team) -> dict[str, Any]:
    """A reference as the form shows it: thumbnail, size, and its signed token."""
    token = references.form_token(attached.image, user, team, source_id=attached.source_id)
    return {
        "token": token,
        "reference": attached.image,
        "thumbnail_url": reverse("reference_thumbnail", kwargs={"token": token}),
    }
