"""notify(): the one way a notification is made (comments, reviews and the job_finished
signal call it).

It stores what happened, not a sentence (see models.py); the bell shows it at once and
the e-mail batcher (emails.py) sends it later, at most one e-mail per person per
EMAIL_INTERVAL.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from playground.generations.models import Generation, ResultImage
from playground.notifications.models import EXCERPT_LENGTH, Kind, Notification
from playground.teams.models import Membership, Team


def notify(
    recipient: User,
    kind: Kind,
    *,
    team: Team,
    actor: User | None = None,
    generation: Generation | None = None,
    image: ResultImage | None = None,
    detail: str = "",
    excerpt: str = "",
) -> Notification | None:
    """Tell `recipient` that `kind` happened; None when there is nobody to tell.

    Nobody is told of their own act, and nobody outside `team` or who may not see the
    job (a colleague's "Only me" job) learns anything of it, not even that it exists.
    """
    if actor is not None and actor.pk == recipient.pk:
        return None
    if not recipient.is_active:
        return None
    if image is not None and generation is None:
        generation = image.generation
    if generation is not None:
        if generation.team_id != team.pk:
            return None
        if not Generation.objects.visible_to(recipient, team).filter(pk=generation.pk).exists():
            return None
    elif not Membership.objects.filter(team=team, user=recipient).exists():
        return None
    return Notification.objects.create(
        recipient=recipient,
        kind=kind,
        team=team,
        actor=actor,
        generation=generation,
        image=image,
        detail=detail[:40],
        excerpt=_shorten(excerpt),
    )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= EXCERPT_LENGTH:
        return text
    return text[: EXCERPT_LENGTH - 1].rstrip() + "…"
