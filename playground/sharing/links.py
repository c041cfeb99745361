"""Making share links: what a job, a selection, a collection or a matrix run shares,
read in the sharer's scope when they press "Share link", and the link made of it.

Only images the whole team may see are shared: an "Only me" job's images stay out
even when their maker shares them (the page is for people outside the team, and the
link lists them to the team's admins). What a link shows later is filtered again at
view time (`ShareLink.shown_items`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from playground.audit.log import record
from playground.audit.models import Action
from playground.exports import sources
from playground.generations.models import Generation, ResultImage
from playground.reviews.models import ImageReview, ReviewStatus
from playground.sharing.models import ShareLink, ShareLinkImage
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership, Team

JOB = "job"
# The sources a share link is made from; the history's filters are not one of them (a
# link names images, and a filtered history is a moving set).
SOURCES = (JOB, sources.Source.SELECTION, sources.Source.COLLECTION, sources.Source.RUN)
# One page of more would be slow to open and is no longer a choice of images to show.
MAX_IMAGES = 200


class UnknownSource(ValueError):
    """The form named no source we know: a crafted request, not a person's mistake."""


@dataclass(frozen=True)
class Shareable:
    source: str
    # The source's fields as the form posted them, posted again by the options form.
    fields: list[tuple[str, str]]
    description: str
    images: list[ResultImage]
    # The sharer's own "Only me" images that were named but stay out.
    left_out: int
    # Said on the page the button was pressed on when there is nothing to share.
    empty_message: str = ""


def approved_count(images: list[ResultImage]) -> int:
    """How many of these images are approved now: what "Approved images only" would show."""
    return ImageReview.objects.filter(image__in=images, status=ReviewStatus.APPROVED).count()


def resolve(request: AuthedRequest, membership: Membership) -> Shareable:
    """What the POSTed source holds, in the sharer's scope (404 for what they may not see)."""
    source = request.POST.get("source", "")
    user, team = request.user, membership.team
    if source == JOB:
        job = _job(request, user, team)
        named = list(ResultImage.objects.visible_to(user, team).filter(generation=job))
        description = _("Job #%(number)s") % {"number": job.number or job.pk}
        empty = _("This job has no archived image yet: nothing to share.")
    elif source in SOURCES:
        wanted = sources.resolve(request, membership)
        found = {
            i.pk: i
            for i in ResultImage.objects.visible_to(user, team).filter(pk__in=wanted.image_ids)
        }
        named = [found[pk] for pk in wanted.image_ids if pk in found]
        description = wanted.description
        if source == sources.Source.SELECTION:
            empty = _("Tick at least one image to share it.")
        else:
            empty = _("There is no archived image here yet: nothing to share.")
    else:
        raise UnknownSource(source)
    shared = [image for image in named if not image.generation.private]
    fields = [("source", source)]
    if source == sources.Source.SELECTION:
        fields += [("image", str(image.pk)) for image in named]
    else:
        fields.append(("source_id", request.POST.get("source_id", "")))
    if named and not shared:
        empty = _("“Only me” images are not shared: show their jobs to the team first.")
    return Shareable(source, fields, description, shared, len(named) - len(shared), empty)


def _job(request: AuthedRequest, user: User, team: Team) -> Generation:
    try:
        public_id = uuid.UUID(request.POST.get("source_id", ""))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(Generation.objects.visible_to(user, team), public_id=public_id)


def end_of_day(day: date) -> datetime:
    """A link that "expires on" a day works through that whole day (the site's time zone)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@dataclass(frozen=True)
class Options:
    title: str = ""
    note: str = ""
    show_prompts: bool = False
    show_names: bool = False
    approved_only: bool = False
    expires_on: date | None = None
    password: str = ""


def create(
    *,
    by: User,
    team: Team,
    shareable: Shareable,
    options: Options,
    request: HttpRequest | None = None,
) -> ShareLink:
    """The link and its images, all or nothing, and its line in the team's audit log."""
    with transaction.atomic():
        link = ShareLink(
            team=team,
            created_by=by,
            source=shareable.source,
            description=shareable.description[:300],
            title=options.title,
            note=options.note,
            show_prompts=options.show_prompts,
            show_names=options.show_names,
            approved_only=options.approved_only,
            expires_at=end_of_day(options.expires_on) if options.expires_on else None,
        )
        link.set_password(options.password)
        link.save()
        ShareLinkImage.objects.bulk_create(
            ShareLinkImage(link=link, image=image, position=number)
            for number, image in enumerate(shareable.images, start=1)
        )
        record(
            Action.SHARE_LINK_CREATED,
            team=team,
            actor=by,
            request=request,
            target=_target(link),
            # The token is the page's key and stays out of the log; the password shows
            # only as "[hidden]" (audit.log hides fields named so).
            changes={
                "images": [None, len(shareable.images)],
                "expires_at": [None, link.expires_at],
                "password": [None, bool(options.password)],
                "show_prompts": [None, link.show_prompts],
                "show_names": [None, link.show_names],
                "approved_only": [None, link.approved_only],
            },
        )
    return link


def _target(link: ShareLink) -> str:
    """How the audit log names a link: its title (else what it was made from) and id."""
    return f"{link.title or link.description} (share link {link.pk})"


def revoke(link: ShareLink, *, by: User, request: HttpRequest | None = None) -> bool:
    """Revoke the link now; False if it already was (a second press changes nothing,
    and writes nothing to the audit log)."""
    with transaction.atomic():
        if not link.revoke(by):
            return False
        record(
            Action.SHARE_LINK_REVOKED,
            team=link.team,
            actor=by,
            request=request,
            target=_target(link),
        )
    return True
