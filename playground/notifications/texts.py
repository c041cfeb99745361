"""A notification as a sentence and a link, rendered when it is read, in the reader's
language (the active one: the page's, or the e-mail's `translation.override`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from playground.generations.models import State
from playground.notifications.models import Kind, Notification


def job_label(notification: Notification) -> str:
    generation = notification.generation
    if generation is None:
        return ""
    if generation.number:
        return f"#{generation.number}"
    return generation.spec.label


def sentence(notification: Notification) -> str:
    actor = notification.actor.get_username() if notification.actor else _("Someone")
    values = {"actor": actor, "job": job_label(notification)}
    kind = notification.kind
    if kind == Kind.MENTION:
        return _("%(actor)s mentioned you on job %(job)s") % values
    if kind == Kind.REPLY:
        return _("%(actor)s replied in a thread you wrote in, on job %(job)s") % values
    if kind == Kind.REVIEW_REQUESTED:
        return _("%(actor)s asks for your review of an image of job %(job)s") % values
    if kind == Kind.REVIEW_DECIDED:
        # `detail` is the review status the image moved to (reviews.models.ReviewStatus).
        if notification.detail == "approved":
            return _("%(actor)s approved your image of job %(job)s") % values
        if notification.detail == "changes_requested":
            return _("%(actor)s requested changes on your image of job %(job)s") % values
        return _("%(actor)s changed the review of your image of job %(job)s") % values
    if kind == Kind.JOB_FINISHED:
        if notification.detail == State.COMPLETED:
            return _("Your job %(job)s is done") % values
        if notification.detail == State.FAILED:
            return _("Your job %(job)s failed") % values
        return _("Your job %(job)s ended: %(state)s") % {
            **values,
            "state": dict(State.choices).get(notification.detail, notification.detail),
        }
    return _("Something happened on job %(job)s") % values


def target(notification: Notification) -> str:
    """Where the notification leads: the job's page, at the image when there is one."""
    if notification.generation is None:
        return reverse("notifications")
    url = reverse("generation_detail", args=[notification.generation.public_id])
    if notification.image is not None:
        url += f"#image-{notification.image.index}"
    return url
