"""One job's page, its images, and what people do with a job.

A job is reached by its public id from anywhere (a link from a colleague, a lineage
link); every view starts from the one scope `Generation.objects.visible_to(user)`, so
a person outside the job's team, or a colleague of an "Only me" job, gets 404. Actions
that generate, delete or change need the admin or member role (a viewer gets 403), and
what they create is made in the acting person's name, never changing the original.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import zipfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from playground import catalogue, imageformats
from playground.audit.log import record
from playground.audit.models import Action
from playground.billing import paying
from playground.gallery import favourites
from playground.generations import budgets, jobs, mask_uploads, references, spend, waiting
from playground.generations.chips import chip
from playground.generations.creation import create_generation, estimate_of, rerun_form
from playground.generations.models import Generation, ReferenceImage, ResultImage
from playground.teams import access, availability
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

# The studio's page: a reference taken from a result answers with its partials.
STUDIO = "studio/studio.html"
# Asks before cancelling many waiting jobs (the studio's and a matrix run's).
WAITING_CANCEL = "studio/waiting_cancel.html"


def _job(request: AuthedRequest, public_id: uuid.UUID) -> tuple[Generation, Membership]:
    generation = get_object_or_404(
        Generation.objects.visible_to(request.user).select_related(
            "owner", "team", "api_key", "read_api_key", "api_token"
        ),
        public_id=public_id,
    )
    return generation, access.membership_in(request, generation.team_id)


@require_GET
def generation_detail(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    generation, membership = _job(request, public_id)
    links = list(generation.references.select_related("reference", "mask"))
    visible_sources = set(
        Generation.objects.visible_to(request.user)
        .filter(pk__in=[link.source_id for link in links if link.source_id])
        .values_list("pk", flat=True)
    )
    reference_chips = [
        chip(
            references.Attached(link.reference),
            request.user,
            generation.team,
            source=link.source if link.source_id in visible_sources else None,
        )
        for link in links
    ]
    # The reference the job's mask was painted on, shown with the mask over it.
    masked_chip = next(
        (c for c, link in zip(reference_chips, links, strict=True) if link.mask is not None),
        None,
    )
    return render(
        request,
        "studio/generation_detail.html",
        {
            "masked_chip": masked_chip,
            "generation": generation,
            "team": generation.team,
            "membership": membership,
            "lineage": generation.lineage(request.user),
            "charge": spend.charge_of(generation),
            "can_delete": _may_delete(membership, generation),
            "poll_deadline_minutes": int(jobs.poll_deadline().total_seconds() // 60),
            "reference_chips": reference_chips,
            # The lightbox's star shows whether the person starred each image.
            "favourite_ids": favourites.starred_among(
                request.user, generation.images.values_list("pk", flat=True)
            ),
        },
    )


def _may_delete(membership: Membership, generation: Generation) -> bool:
    return membership.can_generate and (
        membership.is_admin or generation.owner_id == membership.user_id
    )


@require_POST
def generation_cancel(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Its maker (or a team admin) cancels a job that is still waiting to be sent.

    From the history (htmx) the answer is an empty 204 that refreshes the history,
    where the card now says "Cancelled"; without JavaScript, the job's page."""
    generation, membership = _job(request, public_id)
    if not _may_delete(membership, generation):
        raise PermissionDenied
    cancelled = generation.cancel(by=request.user)
    if request.htmx:
        return trigger_client_event(HttpResponse(status=204), "history-changed")
    if cancelled:
        messages.success(request, _("Job #%(id)s was cancelled.") % {"id": generation.number})
    else:
        messages.error(
            request,
            _("Job #%(id)s was already on its way to EvoLink: it can no longer be cancelled.")
            % {"id": generation.number},
        )
    return redirect("generation_detail", public_id=generation.public_id)


@require_http_methods(["GET", "POST"])
def waiting_cancel(request: AuthedRequest, team: str) -> HttpResponse:
    """ "Cancel my waiting jobs": all of the person's own jobs in this team that nothing
    has sent yet, a matrix run's cells included. Never a colleague's, even for an admin
    (they cancel one job at a time, or a run from its page).

    GET asks to confirm, with the count (works without JavaScript); POST cancels and
    returns to the studio."""
    membership = access.membership(request, team)
    access.require_generate(membership)
    mine = waiting.waiting_of(request.user, membership.team)
    if request.method == "GET":
        return render(
            request,
            WAITING_CANCEL,
            {
                "team": membership.team,
                "count": mine.count(),
                "action": request.path,
                "back": reverse("studio", kwargs={"team": membership.team.slug}),
            },
        )
    cancelled = waiting.cancel_all(mine, by=request.user)
    messages.success(request, waiting.cancelled_sentence(cancelled))
    return redirect("studio", team=membership.team.slug)


@require_POST
def generation_check_again(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Resume polling a job we stopped waiting for (the upstream may have finished)."""
    generation, membership = _job(request, public_id)
    access.require_generate(membership)
    if not jobs.check_again(generation.pk):
        raise Http404
    return redirect("generation_detail", public_id=generation.public_id)


@require_http_methods(["GET", "POST"])
def generation_resubmit(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    """A person sends a job again ("Re-run", or "Submit again" after an uncertain
    submission): a new job in their name, in the job's team; the old row stays.

    GET asks first, with the estimate (every submission costs money); POST sends it
    and returns to the studio, where the new job runs in the history."""
    original, membership = _job(request, public_id)
    access.require_generate(membership)
    links = list(original.references.select_related("reference", "mask"))
    attached = [references.Attached(link.reference, link.source_id) for link in links]
    form = rerun_form(original, attached, mask_uploads.of_job_links(links))
    if not form.is_valid():
        messages.error(
            request, _("This job's settings are no longer valid; adjust them in the studio.")
        )
        return redirect("generation_detail", public_id=original.public_id)
    if request.method == "GET":
        return render(
            request,
            "studio/generation_rerun.html",
            {
                "generation": original,
                "team": original.team,
                "estimate": estimate_of(form),
                # No key could pay: said before the button, which is disabled.
                "payer_gap": paying.gap(original.team, original.model),
                "membership_is_admin": membership.is_admin,
            },
        )
    try:
        generation = create_generation(membership, form)
    except (budgets.OverBudget, availability.ModelOff, paying.NoPayer) as refusal:
        messages.error(request, str(refusal))
        return redirect("generation_detail", public_id=original.public_id)
    messages.success(
        request,
        _("Job #%(old)s was sent again as job #%(id)s: it runs in the history below.")
        % {"old": original.number, "id": generation.number},
    )
    return redirect("studio", team=original.team.slug)


@require_http_methods(["GET", "POST"])
def generation_delete(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Its maker or a team admin deletes a finished job, with its archived files.

    GET asks to confirm (works without JavaScript); jobs made from it keep their own
    images and show "from a deleted job" in their lineage.
    """
    generation, membership = _job(request, public_id)
    if not _may_delete(membership, generation):
        raise PermissionDenied
    if generation.is_in_flight:
        messages.error(request, _("This job is still running; delete it once it has finished."))
        return redirect("generation_detail", public_id=generation.public_id)
    if request.method == "GET":
        return render(
            request,
            "studio/generation_delete.html",
            {"generation": generation, "team": generation.team},
        )
    # The job's number, maker, model and size only: its prompt may be an "Only me" one.
    gone = {
        "owner": [generation.owner.get_username(), None],
        "model": [generation.model, None],
        "images": [generation.images.count(), None],
    }
    with transaction.atomic():
        deleted = generation.delete_with_files()
        if deleted:
            record(
                Action.JOB_DELETED,
                team=generation.team,
                actor=request.user,
                request=request,
                target=f"#{generation.number}",
                changes=gone,
            )
    if deleted:
        messages.success(request, _("Job #%(id)s was deleted.") % {"id": generation.number})
    return redirect("studio", team=generation.team.slug)


@require_POST
def generation_visibility(request: AuthedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Its maker switches "Only me" on or off."""
    generation, membership = _job(request, public_id)
    access.require_generate(membership)
    if generation.owner_id != request.user.pk:
        raise PermissionDenied
    generation.set_private(request.POST.get("private") == "on")
    return redirect("generation_detail", public_id=generation.public_id)


def _result(request: AuthedRequest, public_id: uuid.UUID, index: int) -> ResultImage:
    return get_object_or_404(
        ResultImage.objects.visible_to(request.user), generation__public_id=public_id, index=index
    )


@require_GET
def result_image(request: AuthedRequest, public_id: uuid.UUID, index: int) -> FileResponse:
    """A full-size result from our storage; the browser never sees upstream URLs."""
    image = _result(request, public_id, index)
    download = request.GET.get("download") == "1"
    response = FileResponse(
        image.file.open("rb"),
        as_attachment=download,
        filename=f"{_file_stem(image.generation)}-{index + 1}.{image.extension}",
        content_type=image.content_type,
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _file_stem(generation: Generation) -> str:
    """gpt-image-2-12: the model and the job's number in its team."""
    return f"{generation.model}-{generation.number or generation.pk}"


@require_GET
def generation_download_all(request: AuthedRequest, public_id: uuid.UUID) -> FileResponse:
    """Every image of a job in one ZIP. The images are stored as they are (PNG, JPEG and
    WEBP do not compress further), through a temporary file that spills to disk past
    16 MB, so ten 4K images do not sit in the web process's memory."""
    generation, _membership = _job(request, public_id)
    images = list(generation.images.order_by("index"))
    if not images:
        raise Http404
    stem = _file_stem(generation)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        for image in images:
            with (
                image.file.open("rb") as source,
                archive.open(
                    f"{stem}-{image.index + 1}.{image.extension}", "w", force_zip64=True
                ) as target,
            ):
                shutil.copyfileobj(source, target, 1024 * 1024)
    spool.seek(0)
    response = FileResponse(
        spool, as_attachment=True, filename=f"{stem}.zip", content_type="application/zip"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def generation_mask(request: AuthedRequest, public_id: uuid.UUID) -> FileResponse:
    """A job's mask (the PNG we wrote and sent), for whoever may see the job."""
    generation, _membership = _job(request, public_id)
    link = generation.references.filter(mask__isnull=False).select_related("mask").first()
    if link is None or link.mask is None:
        raise Http404
    response = FileResponse(link.mask.file.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def result_thumbnail(request: AuthedRequest, public_id: uuid.UUID, index: int) -> FileResponse:
    image = _result(request, public_id, index)
    response = FileResponse(image.thumbnail.open("rb"), content_type=imageformats.WEBP.mime_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
def reference_from_result(request: AuthedRequest, public_id: uuid.UUID, index: int) -> HttpResponse:
    """ "Use as reference" on a result: no re-upload, the archived file is reused, and
    the new job will record where the image came from."""
    result = _result(request, public_id, index)
    membership = access.membership_in(request, result.generation.team_id)
    access.require_generate(membership)
    attached = references.from_tokens(
        request.POST.getlist("reference"), request.user, membership.team
    )
    if len(attached) >= catalogue.MAX_REFERENCE_IMAGES:
        response = render(
            request,
            f"{STUDIO}#upload-errors",
            {
                "errors": [
                    _("Not added: at most %(max)d reference images per job.")
                    % {"max": catalogue.MAX_REFERENCE_IMAGES}
                ]
            },
        )
        # The message belongs under the drop zone, not in the list of images.
        return reswap(retarget(response, "#reference-errors"), "innerHTML")
    with result.file.open("rb") as f:
        reference = references.store(f, f"result-{result.generation_id}-{index}")
    taken = references.Attached(reference, result.generation_id)
    response = render(
        request, f"{STUDIO}#chips", {"chips": [chip(taken, request.user, membership.team)]}
    )
    return trigger_client_event(response, "references-changed")


@require_GET
def reference_thumbnail(request: AuthedRequest, token: str) -> FileResponse:
    """A reference's thumbnail, for whoever its token was signed for, while they are
    still in the team it was signed in."""
    reference = _token_reference(request, token)
    response = FileResponse(
        reference.thumbnail.open("rb"), content_type=imageformats.WEBP.mime_type
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def reference_image(request: AuthedRequest, token: str) -> FileResponse:
    """A reference at full size (our copy, the one EvoLink gets), for the same people
    as its thumbnail: the mask painter paints over it at its real pixel size."""
    reference = _token_reference(request, token)
    response = FileResponse(reference.file.open("rb"), content_type=reference.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _token_reference(request: AuthedRequest, token: str) -> ReferenceImage:
    """The reference a form token names, if it was signed for this person in a team
    they are still in; else 404."""
    value = references.unsign(token)
    if not value or value.get("u") != request.user.pk:
        raise Http404
    team_id = value.get("t")
    if not isinstance(team_id, int):
        raise Http404
    membership = access.membership_in(request, team_id)
    found = references.from_tokens([token], request.user, membership.team)
    if not found:
        raise Http404
    return found[0].image
