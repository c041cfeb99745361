"""The studio of a team: the form, the live panel, reference uploads and the history.

Thin function views: fetch (scoped to the person and team) → validate (form) → act →
render. Fragments are partials of the page that owns them (django-template-partials),
named after the element id they replace. Every view checks access itself, through
playground.teams.access: a client can request any fragment directly.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url, trigger_client_event

from playground import catalogue, ids
from playground.billing import models as billing
from playground.billing import paying
from playground.gallery.collections import picker_context
from playground.generations import budgets, mask_uploads, references, upload_limits
from playground.generations.chips import chip
from playground.generations.creation import (
    carried_from,
    create_generation,
    mask_from_post,
    references_from_post,
    settings_of,
)
from playground.generations.forms import CUSTOM_SIZE, GenerationForm, form_for
from playground.generations.models import Derivation, Generation
from playground.studio.history import (
    history_context,
    live_stamp,
    set_layout,
    view_of,
)
from playground.studio.live import live_summary
from playground.teams import access, availability
from playground.teams.access import AuthedRequest
from playground.teams.models import Invitation, Membership

STUDIO = "studio/studio.html"


INVITATIONS_SHOWN = "playground.invitations_shown"


@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """The studio of the team the person last worked in, or a page saying they have none.
    Just signed in with invitations waiting for an answer: those first (once a session)."""
    if not request.session.get(INVITATIONS_SHOWN) and (
        Invitation.objects.pending_for(request.user).exists()
    ):
        request.session[INVITATIONS_SHOWN] = True
        return redirect("my_invitations")
    team = access.current_team(request.user)
    if team is None:
        return render(request, "teams/no_team.html", status=200)
    return redirect("studio", team=team.slug)


@require_http_methods(["GET", "POST"])
def studio(request: AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    if request.method == "POST":
        access.require_generate(membership)
        attached, upload_errors = references_from_post(request, membership)
        mask = mask_from_post(request, membership)
        form = form_for(request.POST.get("model"))(request.POST, references=attached, mask=mask)
        # A rejected upload stops the job too: the person meant to include that file.
        generation = None
        if form.is_valid() and not upload_errors:
            try:
                generation = create_generation(membership, form)
            except (budgets.OverBudget, availability.ModelOff, paying.NoPayer) as refusal:
                form.add_error(None, str(refusal))  # shown above the form; nothing lost
        if generation is not None:
            if request.htmx:
                # Keep every setting and reference for the next variation; a new token
                # makes the next press a new job. The history refreshes on the event.
                fresh = type(form)(initial=_initial_from(form), references=attached, mask=mask)
                context = _form_context(request, membership, fresh)
                # Said in the form, where the keyboard's focus goes (studio.js).
                context["queued"] = generation
                response = render(request, f"{STUDIO}#generation-form", context)
                return trigger_client_event(response, "history-changed")
            messages.success(request, _("Job #%(id)s is queued.") % {"id": generation.number})
            query = urlencode({"model": form.spec.id})
            return redirect(f"{reverse('studio', kwargs={'team': team})}?{query}")
        context = _form_context(request, membership, form, upload_errors)
        if request.htmx:
            return render(request, f"{STUDIO}#generation-form", context)
        return render(request, STUDIO, _page_context(request, membership, context))

    if not membership.can_generate:
        # Viewers see and download the team's work; the form is not for them.
        return render(request, STUDIO, _page_context(request, membership, {}))
    form, paint_on = _form_from_get(request, membership)
    context = _form_context(request, membership, form, open_mask=paint_on)
    if request.htmx:
        return render(request, f"{STUDIO}#generation-form", context)
    return render(request, STUDIO, _page_context(request, membership, context))


def _page_context(
    request: AuthedRequest, membership: Membership, context: dict[str, Any]
) -> dict[str, Any]:
    """The whole studio page: the form's context, the history, the collections the
    multi-select bar and the lightbox's picker add to, and the upstream banner's facts
    (asked here, for this page only: they may cost a query, see describe_upstream)."""
    return {
        "team": membership.team,
        "upstream": paying.describe_upstream(),
        **context,
        **history_context(request, membership),
        **picker_context(membership),
    }


def _form_from_get(
    request: AuthedRequest, membership: Membership
) -> tuple[GenerationForm, int | None]:
    """The studio form for a GET: a model switch, "Reuse settings", "Edit this" or
    "Edit with mask" (`&mask=1`), with the reference the mask painter opens on."""
    source_id = request.GET.get("reuse") or request.GET.get("edit")
    if source_id:
        # Only a job of this team: an image must not move to another team on a GET.
        try:
            source = Generation.objects.visible_to(request.user, membership.team).get(
                public_id=source_id
            )
        except (Generation.DoesNotExist, ValidationError):
            raise Http404 from None
        index = request.GET.get("image", "0")
        relation = Derivation.REUSE
        # A job's mask comes along, with the image it was painted on (creation.carried_from).
        attached, mask = carried_from(source)
        if request.GET.get("edit") and ids.parse(index) is not None:
            relation = Derivation.EDIT
            # Storing the result as a reference is safe on a GET: content-addressed,
            # so repeating it changes nothing.
            result = get_object_or_404(source.images, index=ids.parse(index))
            with result.file.open("rb") as f:
                reference = references.store(f, f"result-{source.pk}-{index}")
            attached = [references.Attached(reference, source.pk)]
            _none, mask = carried_from(source, reference)
        # An old job of a model switched off since: its settings go to an offered model.
        model = availability.model_or_default(membership.team, source.model)
        paint_on = None
        if relation == Derivation.EDIT and request.GET.get("mask") == "1":
            # "Edit with mask": the model that takes masks, and the painter on the image.
            mask_model = availability.mask_model(membership.team)
            if mask_model is None:
                messages.warning(request, availability.no_mask_model_message())
            else:
                model, paint_on = mask_model.id, attached[0].image.pk
        initial = settings_of(source, relation)
        if model != source.model:
            initial.pop("model", None)
        return form_for(model)(initial=initial, references=attached, mask=mask), paint_on
    # Switching model keeps what the person already typed, attached and chose.
    attached = references.from_tokens(
        request.GET.getlist("reference"), request.user, membership.team
    )
    token = request.GET.get("mask", "")
    kept_mask = mask_uploads.from_token(token, request.user, membership.team) if token else None
    kept: dict[str, str | bool | None] = {
        name: request.GET.get(name) for name in ("prompt", "parent", "parent_relation")
    }
    kept["private"] = request.GET.get("private") == "on"
    model = availability.model_or_default(membership.team, request.GET.get("model"))
    return form_for(model)(
        initial={k: v for k, v in kept.items() if v}, references=attached, mask=kept_mask
    ), None


def _initial_from(form: GenerationForm) -> dict[str, Any]:
    return {name: form.data.get(name) for name in form.fields if name != "client_token"}


def _form_context(
    request: AuthedRequest,
    membership: Membership,
    form: GenerationForm,
    upload_errors: list[str] | None = None,
    *,
    open_mask: int | None = None,
) -> dict[str, Any]:
    live = live_summary(
        form.spec,
        form.data if form.is_bound else _initial_data(form),
        references=len(form.references),
    )
    if form.is_bound and {"width", "height", "size"} & set(form.errors):
        live["size_problems"] = []  # already said next to the fields
    return {
        "team": membership.team,
        "key_warnings": (
            billing.admin_warnings(membership.team)
            + budgets.admin_warnings(membership.team)
            + availability.admin_warnings(membership.team)
            if membership.is_admin
            else []
        ),
        "form": form,
        "form_key": _form_key(form),
        # No key could pay for this model: Generate is disabled and says why.
        "payer_gap": paying.gap(membership.team, form.spec.id),
        "membership_is_admin": membership.is_admin,
        "spec": form.spec,
        "offered_models": availability.available_models(membership.team),
        "custom_size": CUSTOM_SIZE,
        "live": live,
        "attached": [
            chip(ref, request.user, membership.team, open_mask=ref.image.pk == open_mask)
            for ref in form.references
        ],
        # Kept on every model (a model without masks says so when the form is sent).
        "mask_token": (
            mask_uploads.form_token(
                form.mask.mask, form.mask.reference_id, request.user, membership.team
            )
            if form.mask is not None
            else ""
        ),
        # The chip the mask was painted on shows it (and its Remove mask button).
        "mask_reference_id": form.mask.reference_id if form.mask is not None else None,
        "upload_errors": upload_errors or [],
        "max_references": catalogue.MAX_REFERENCE_IMAGES,
        "reference_accept": ",".join(catalogue.REFERENCE_MIME_TYPES),  # the file picker's
        "reference_warning": _reference_warning(),
    }


def _reference_warning() -> str:
    """Say so before anyone pays for a job EvoLink cannot fetch the references of."""
    if paying.describe_upstream().simulated or references.hosted_by_files_api():
        return ""
    if not references.public_base_is_private():
        return ""
    return _(
        "EvoLink cannot download reference images from %(url)s: it is a local or private "
        "address. Set PUBLIC_BASE_URL to an address EvoLink can reach, or set "
        "EVOLINK_REFERENCE_HOST=files-api to upload references to EvoLink's file storage."
    ) % {"url": settings.PUBLIC_BASE_URL}


def _initial_data(form: GenerationForm) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None:
            data[name] = str(value)
    return data


def _form_key(form: GenerationForm) -> str:
    """Which rendered form a live answer belongs to: its one-use client token."""
    value = form["client_token"].value()
    return str(value) if value else ""


@require_GET
def live(request: AuthedRequest) -> HttpResponse:
    """Token count, resolved pixel size and cost for the form's current values.

    Reads nothing of anyone's: any signed-in person may ask. The answer names the form
    it was asked for: its out-of-band parts only replace that form's counter and size
    line, so an answer that arrives after the form was swapped (a model switch, a
    Generate) cannot overwrite the newer form.
    """
    spec = form_for(request.GET.get("model")).spec
    try:
        form_key = str(uuid.UUID(request.GET.get("client_token", "")))
    except ValueError:
        form_key = ""
    return render(
        request,
        f"{STUDIO}#live-content",
        {"live": live_summary(spec, request.GET), "live_oob": True, "form_key": form_key},
    )


@require_POST
def reference_upload(request: AuthedRequest, team: str) -> HttpResponse:
    """Files dropped, pasted or picked in the studio, uploaded one request per batch.

    Answers with a chip per accepted file and a message per rejected one; the page's
    script adds them to the form.
    """
    membership = access.membership(request, team)
    access.require_generate(membership)
    # Parsing the body notes oversized files and files past the per-request limit.
    uploads = upload_limits.uploaded_files(request, "file")
    errors = upload_limits.oversized_messages(request)
    stored, rejected = references.store_uploads(uploads, request.user)
    errors.extend(rejected)
    chips = [chip(references.Attached(r), request.user, membership.team) for r in stored]
    return render(request, f"{STUDIO}#upload-result", {"chips": chips, "errors": errors})


@require_POST
def mask_upload(request: AuthedRequest, team: str) -> JsonResponse:
    """A mask painted on one attached reference (`reference`: its token), as a PNG
    `file`. Checked before anything is stored (mask_uploads.alpha_of); answers the
    mask's token for the form, or the sentence that says why it was refused (400)."""
    membership = access.membership(request, team)
    access.require_generate(membership)
    # Parsing the body notes a file past the upload limit (it is not kept).
    upload = request.FILES.get("file")
    attached = references.from_tokens(
        [request.POST.get("reference", "")], request.user, membership.team
    )
    problem = mask_uploads.oversized_message(request)
    if problem is None and not attached:
        problem = _("The image the mask was painted on is not attached; attach it again.")
    if problem is None and upload is None:
        problem = _("No mask was sent; paint the region to change, then use the mask.")
    if problem is not None or upload is None or not attached:
        return JsonResponse({"error": problem}, status=400)
    reference = attached[0].image
    try:
        mask = mask_uploads.store(upload, reference, request.user)
    except mask_uploads.RejectedMask as rejected:
        return JsonResponse({"error": str(rejected)}, status=400)
    return JsonResponse(
        {
            "token": mask_uploads.form_token(mask, reference.pk, request.user, membership.team),
            "width": mask.width,
            "height": mask.height,
        }
    )


@require_GET
def history(request: AuthedRequest, team: str) -> HttpResponse:
    """The history fragment: the live check, the filters and paging swap it whole.

    The live check sends the stamp of what it shows; while nothing in the view has
    changed the answer is an empty 204, decided by one small aggregate query (after
    the session and the membership check) before anything is rendered.
    """
    membership = access.membership(request, team)
    since = request.GET.get("since")
    if since and since == live_stamp(request, membership):
        return HttpResponse(status=204)
    context = history_context(request, membership, view_of(request, membership))
    from_filters = request.htmx.trigger == "history-filters"
    response = render(
        request,
        f"{STUDIO}#history",
        # The Mine / Team tabs and the member list follow a change of the filters.
        {"team": membership.team, "view_oob": from_filters, **context},
    )
    if from_filters:
        push_url(response, context["history_page_url"])
    return response


@require_POST
def history_layout(request: AuthedRequest, team: str) -> HttpResponse:
    """List or grid, remembered for the person; the history swaps in place (the form and
    its references stay), or the studio reloads without JavaScript."""
    membership = access.membership(request, team)
    set_layout(request, request.POST.get("layout", ""))
    if not request.htmx:
        return redirect("studio", team=membership.team.slug)
    context = history_context(request, membership, view_of(request, membership))
    return render(request, f"{STUDIO}#history", {"team": membership.team, **context})
