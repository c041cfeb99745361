"""ZIP exports: ask for one, watch it being built, download it.

Anyone in the team may export what they can see (viewers too: they may download
everything the team shares). An export is its requester's alone: its manifest holds
prompts, possibly of their own "Only me" jobs, so everyone else, a team admin too,
gets 404 for its page and its file.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from playground.audit.log import record
from playground.audit.models import Action
from playground.exports import sources, tasks
from playground.exports.models import Export, ExportState, keep_days
from playground.lib.redirects import safe_next
from playground.teams import access
from playground.teams.models import Membership

PAGE = "exports/detail.html"
# One ZIP of more would take long to build and to download: ask for a narrower filter.
MAX_IMAGES = 10_000
# The same request again within this time (a double click) opens the first export.
TWIN_SECONDS = 10


@require_POST
def export_create(request: access.AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    try:
        wanted = sources.resolve(request, membership)
    except sources.UnknownSource:
        return HttpResponseBadRequest(
            _("Say what to export: a selection, a collection, a run or the history.")
        )
    if not wanted.image_ids:
        messages.warning(request, wanted.empty_message)
        return redirect(_back(request, membership))
    if len(wanted.image_ids) > MAX_IMAGES:
        messages.error(
            request,
            _(
                "That is %(count)s images; one ZIP holds at most %(max)s. Narrow the filters "
                "(a model, a member or a date range) and export in parts."
            )
            % {
                "count": number_format(len(wanted.image_ids), force_grouping=True),
                "max": number_format(MAX_IMAGES, force_grouping=True),
            },
        )
        return redirect(_back(request, membership))
    export = _twin(membership, wanted)
    if export is None:
        with transaction.atomic():
            export = Export.objects.create(
                team=membership.team,
                requested_by=request.user,
                source=wanted.source,
                source_id=wanted.source_id,
                description=wanted.description[:300],
                image_ids=wanted.image_ids,
                total=len(wanted.image_ids),
                lease_until=timezone.now() + tasks.QUEUE_GRACE,
            )
            tasks.queue(export)
            # What was exported, by kind and size: its description may quote a prompt
            # of the requester's own "Only me" jobs, which the team's admins may not see.
            record(
                Action.EXPORT_CREATED,
                team=membership.team,
                actor=request.user,
                request=request,
                target=f"{export.source}" + (f" #{export.source_id}" if export.source_id else ""),
                changes={"images": [None, export.total]},
            )
    return redirect("export_detail", public_id=export.public_id)


def _twin(membership: Membership, wanted: sources.Wanted) -> Export | None:
    """The same export asked for a moment ago (a double click), if it is still good."""
    recent = Export.objects.filter(
        requested_by_id=membership.user_id,
        team=membership.team,
        source=wanted.source,
        created_at__gte=timezone.now() - timedelta(seconds=TWIN_SECONDS),
    ).exclude(state__in=(ExportState.FAILED, ExportState.EXPIRED))[:5]
    return next((e for e in recent if e.image_ids == wanted.image_ids), None)


def _back(request: access.AuthedRequest, membership: Membership) -> str:
    """The page the button was pressed on, with its filters (the Referer, else the
    form's `next`), else the studio."""
    studio = reverse("studio", kwargs={"team": membership.team.slug})
    return safe_next(request, studio, referer=True)


def _mine(request: access.AuthedRequest, public_id: uuid.UUID) -> Export:
    export = get_object_or_404(
        Export.objects.select_related("team"), public_id=public_id, requested_by_id=request.user.pk
    )
    # Someone who has left the team has left its exports too.
    access.membership_in(request, export.team_id)
    return export


@require_GET
def export_detail(request: access.AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    export = _mine(request, public_id)
    # While it is built, the status polls itself every second (htmx) and the page is a
    # plain page to reload without JavaScript; once built, the status stops polling.
    template = f"{PAGE}#export-status" if request.htmx else PAGE
    return render(
        request, template, {"export": export, "team": export.team, "keep_days": keep_days()}
    )


@require_GET
def export_download(request: access.AuthedRequest, public_id: uuid.UUID) -> HttpResponseBase:
    export = _mine(request, public_id)
    if export.state != ExportState.READY or not export.file:
        return redirect("export_detail", public_id=export.public_id)
    response = FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export.download_name,
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def export_retry(request: access.AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    export = _mine(request, public_id)
    with transaction.atomic():
        tasks.retry(export)
    return redirect("export_detail", public_id=export.public_id)
