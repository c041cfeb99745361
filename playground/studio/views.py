"""Thin function views: fetch (scoped to the user) → validate (form) → act → render.

Fragments are partials of the page that owns them (django-template-partials), named
after the element id they replace. Every view checks permissions itself: a client
can request any fragment directly.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import catalogue, pricing
from playground.evolink import upstream
from playground.generations import callbacks, jobs, references
from playground.generations.models import (
    IN_FLIGHT_STATES,
    Generation,
    GenerationReference,
    ReferenceImage,
    ResultImage,
    State,
)
from playground.studio.forms import CUSTOM_SIZE, GenerationForm, form_for

HISTORY_PAGE_SIZE = 20


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_not_required
@csrf_exempt  # EvoLink cannot send our CSRF token; the URL's HMAC authenticates it
@require_POST
def evolink_callback(request: HttpRequest, public_id: uuid.UUID, token: str) -> HttpResponse:
    """EvoLink says a task ended. Only a hint: the poller confirms with its own key."""
    if not callbacks.is_valid(public_id, token):
        raise Http404
    generation = Generation.objects.filter(public_id=public_id).only("pk").first()
    if generation is None:
        raise Http404
    jobs.poll_soon(generation.pk)
    return HttpResponse(status=204)


@login_not_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_http_methods(["GET", "POST"])
def studio(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        attached, upload_errors = _references_from_post(request)
        form = form_for(request.POST.get("model"))(request.POST, references=attached)
        # A rejected upload stops the job too: the person meant to include that file.
        if form.is_valid() and not upload_errors:
            generation = create_generation(request.user, form)
            if is_htmx(request):
                # Keep every setting and reference for the next variation; a new token
                # makes the next press a new job. The history refreshes on the event.
                fresh = type(form)(initial=_initial_from(form), references=attached)
                response = render(
                    request,
                    "studio/studio.html#generation-form",
                    _form_context(request, fresh),
                )
                response["HX-Trigger"] = "history-changed"
                return response
            messages.success(request, _("Job #%(id)s is queued.") % {"id": generation.pk})
            return redirect(f"{reverse('studio')}?{urlencode({'model': form.spec.id})}")
        context = _form_context(request, form, upload_errors)
        if is_htmx(request):
            return render(request, "studio/studio.html#generation-form", context)
        return render(request, "studio/studio.html", {**context, **_history_context(request)})

    form = _form_from_get(request)
    if is_htmx(request):
        return render(
            request, "studio/studio.html#generation-form", _form_context(request, form)
        )
    return render(
        request,
        "studio/studio.html",
        {**_form_context(request, form), **_history_context(request)},
    )


def _form_from_get(request: HttpRequest) -> GenerationForm:
    """The studio form for a GET: a model switch, "Reuse settings" or "Edit this"."""
    source_id = request.GET.get("reuse") or request.GET.get("edit")
    if source_id:
        try:
            source = Generation.objects.visible_to(request.user).get(public_id=source_id)
        except (Generation.DoesNotExist, ValidationError):
            raise Http404 from None
        attached = []
        index = request.GET.get("image", "0")
        if request.GET.get("edit") and index.isdigit():
            # Storing the result as a reference is safe on a GET: content-addressed,
            # so repeating it changes nothing.
            result = get_object_or_404(source.images, index=int(index))
            with result.file.open("rb") as f:
                attached = [references.store(f, f"result-{source.pk}-{index}")]
        return form_for(source.model)(initial=_settings_of(source), references=attached)
    # Switching model keeps what the user already typed and attached.
    attached = references.from_tokens(request.GET.getlist("reference"), request.user)
    return form_for(request.GET.get("model"))(
        initial={"prompt": request.GET.get("prompt", "")}, references=attached
    )


def _settings_of(generation: Generation) -> dict[str, Any]:
    """A job's settings as form values (a custom size comes back as Custom W×H)."""
    initial: dict[str, Any] = {
        "prompt": generation.prompt,
        "quality": generation.quality,
        "n": generation.n,
        "size": generation.size,
    }
    if generation.resolution:
        initial["resolution"] = generation.resolution
    if generation.spec.is_flexible and (wxh := catalogue.parse_wxh(generation.size)):
        initial.update({"size": CUSTOM_SIZE, "width": wxh[0], "height": wxh[1]})
    return initial


def _references_from_post(request: HttpRequest) -> tuple[list[ReferenceImage], list[str]]:
    """References already attached (signed tokens) plus files sent with the form."""
    attached = references.from_tokens(request.POST.getlist("reference"), request.user)
    uploads = request.FILES.getlist("reference_files")
    # Oversized files were noted while the body was parsed (by .POST / .FILES above).
    errors = references.oversized_messages(request)
    for upload in uploads:
        try:
            attached.append(references.store(upload, upload.name))
        except references.RejectedUpload as rejected:
            errors.append(str(rejected))
    return attached, errors


def create_generation(user: Any, form: GenerationForm) -> Generation:
    """Store the job and wake a worker once the row is committed.

    The form's token makes a repeated POST (double click, browser resubmit) return
    the job it already created: every submission costs money.
    """
    data = form.cleaned_data
    token = data.get("client_token") or uuid.uuid4()
    existing = Generation.objects.filter(owner=user, client_token=token).first()
    if existing:
        return existing
    payload = form.payload()
    spec = form.spec
    estimate = pricing.estimate(
        spec,
        quality=payload["quality"],
        size=payload["size"],
        resolution=payload.get("resolution"),
        n=payload["n"],
        reference_images=len(form.references),
    )
    try:
        with transaction.atomic():
            generation = Generation.objects.create(
                owner=user,
                client_token=token,
                model=spec.id,
                prompt=payload["prompt"],
                size=payload["size"],
                resolution=payload.get("resolution", ""),
                quality=payload["quality"],
                n=payload["n"],
                request_payload=payload,
                estimated_credits=estimate.total_credits,
                output_width=None if estimate.auto else estimate.width,
                output_height=None if estimate.auto else estimate.height,
            )
            GenerationReference.objects.bulk_create(
                GenerationReference(generation=generation, reference=ref, position=i)
                for i, ref in enumerate(form.references)
            )
            transaction.on_commit(lambda: jobs.enqueue_submit(generation.pk))
    except IntegrityError:
        # Two identical POSTs raced; the other one created the job.
        return Generation.objects.get(owner=user, client_token=token)
    return generation


def _initial_from(form: GenerationForm) -> dict[str, Any]:
    initial = {name: form.data.get(name) for name in form.fields if name != "client_token"}
    return initial


def _form_context(
    request: HttpRequest, form: GenerationForm, upload_errors: list[str] | None = None
) -> dict[str, Any]:
    live = live_summary(
        form.spec,
        form.data if form.is_bound else _initial_data(form),
        references=len(form.references),
    )
    if form.is_bound and {"width", "height", "size"} & set(form.errors):
        live["size_problems"] = []  # already said next to the fields
    return {
        "form": form,
        "form_key": _form_key(form),
        "spec": form.spec,
        "models": catalogue.MODELS.values(),
        "custom_size": CUSTOM_SIZE,
        "live": live,
        "attached": [_chip(ref, request.user) for ref in form.references],
        "upload_errors": upload_errors or [],
        "max_references": catalogue.MAX_REFERENCE_IMAGES,
        "reference_warning": _reference_warning(),
    }


def _chip(reference: ReferenceImage, user: Any) -> dict[str, Any]:
    token = references.form_token(reference, user)
    return {
        "token": token,
        "reference": reference,
        "thumbnail_url": reverse("reference_thumbnail", kwargs={"token": token}),
    }


def _reference_warning() -> str:
    """Say so before anyone pays for a job EvoLink cannot fetch the references of."""
    if upstream.describe().simulated or references.hosted_by_files_api():
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
def live(request: HttpRequest) -> HttpResponse:
    """Token count, resolved pixel size and cost for the form's current values.

    The answer names the form it was asked for: its out-of-band parts only replace
    that form's counter and size line, so an answer that arrives after the form was
    swapped (a model switch, a Generate) cannot overwrite the newer form.
    """
    spec = form_for(request.GET.get("model")).spec
    try:
        form_key = str(uuid.UUID(request.GET.get("client_token", "")))
    except ValueError:
        form_key = ""
    return render(
        request,
        "studio/studio.html#live-content",
        {"live": live_summary(spec, request.GET), "live_oob": True, "form_key": form_key},
    )


# --- Reference images -------------------------------------------------------------


@require_POST
def reference_upload(request: HttpRequest) -> HttpResponse:
    """Files dropped, pasted or picked in the studio, uploaded one request per batch.

    Answers with a chip per accepted file and a message per rejected one; the page's
    script adds them to the form.
    """
    uploads = request.FILES.getlist("file")  # parsing the body notes oversized files
    chips, errors = [], references.oversized_messages(request)
    for upload in uploads:
        try:
            chips.append(_chip(references.store(upload, upload.name), request.user))
        except references.RejectedUpload as rejected:
            errors.append(str(rejected))
    return render(
        request, "studio/studio.html#upload-result", {"chips": chips, "errors": errors}
    )


@require_POST
def reference_from_result(request: HttpRequest, public_id: uuid.UUID, index: int) -> HttpResponse:
    """ "Use as reference" on a result: no re-upload, the archived file is reused."""
    result = _result(request, public_id, index)
    attached = references.from_tokens(request.POST.getlist("reference"), request.user)
    if len(attached) >= catalogue.MAX_REFERENCE_IMAGES:
        response = render(
            request,
            "studio/studio.html#upload-errors",
            {
                "errors": [
                    _("Not added: at most %(max)d reference images per job.")
                    % {"max": catalogue.MAX_REFERENCE_IMAGES}
                ]
            },
        )
        # The message belongs under the drop zone, not in the list of images.
        response["HX-Retarget"] = "#reference-errors"
        response["HX-Reswap"] = "innerHTML"
        return response
    with result.file.open("rb") as f:
        reference = references.store(f, f"result-{result.generation_id}-{index}")
    response = render(
        request, "studio/studio.html#chips", {"chips": [_chip(reference, request.user)]}
    )
    response["HX-Trigger"] = "references-changed"
    return response


@require_GET
def reference_thumbnail(request: HttpRequest, token: str) -> FileResponse:
    found = references.from_tokens([token], request.user)
    if not found:
        raise Http404
    response = FileResponse(found[0].thumbnail.open("rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_not_required
@require_GET
def reference_public(request: HttpRequest, token: str, ext: str) -> FileResponse:
    """A reference image for EvoLink to download: no login, nothing to list or guess."""
    reference = references.from_public_token(token)
    if reference is None or ext != reference.extension:
        raise Http404
    response = FileResponse(reference.file.open("rb"), content_type=reference.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def live_summary(
    spec: catalogue.ModelSpec, data: QueryDict | dict[str, Any], references: int | None = None
) -> dict[str, Any]:
    """What the form's live panel shows, from raw (maybe invalid) form values.

    Invalid values are reported, never raised: the panel is a hint, the server's
    validation on Generate is the judge.
    """
    prompt = data.get("prompt") or ""
    length = catalogue.prompt_length(spec, prompt)
    quality = data.get("quality") if data.get("quality") in spec.qualities else spec.default_quality
    try:
        n = int(data.get("n") or spec.default_n)
    except ValueError:
        n = spec.default_n
    n = min(max(n, spec.n_min), spec.n_max)
    if references is None:
        references = len(data.getlist("reference")) if isinstance(data, QueryDict) else 0

    size = data.get("size") or spec.default_size
    resolution = data.get("resolution") or spec.default_resolution or None
    size_problems: list[str] = []
    if spec.is_flexible and size == CUSTOM_SIZE:
        try:
            width, height = int(data.get("width") or 0), int(data.get("height") or 0)
        except ValueError:
            width, height = 0, 0
        if not width or not height:
            size_problems = [_("Enter a width and a height for the custom size.")]
        else:
            found = catalogue.custom_size_errors(spec, width, height)
            size_problems = [m for messages_ in found.values() for m in messages_]
        size = f"{width}x{height}"
    elif catalogue.size_errors(spec, size, resolution if spec.is_flexible else None):
        size, resolution = spec.default_size, spec.default_resolution or None

    context: dict[str, Any] = {
        "spec": spec,
        "prompt_length": length,
        "prompt_over": length > spec.prompt_limit,
        "size_problems": size_problems,
        "n": n,
        "references": references,
    }
    if size_problems:
        return context
    estimate = pricing.estimate(
        spec, quality=quality, size=size, resolution=resolution, n=n, reference_images=references
    )
    context["estimate"] = estimate
    if estimate.auto:
        context["size_text"] = _("Auto: the model picks the size (priced as %(w)d×%(h)d)") % {
            "w": estimate.width,
            "h": estimate.height,
        }
    elif spec.is_flexible and size in spec.ratios:
        context["size_text"] = _("%(ratio)s at %(tier)s → %(w)d×%(h)d") % {
            "ratio": size,
            "tier": resolution,
            "w": estimate.width,
            "h": estimate.height,
        }
    elif catalogue.parse_wxh(size):
        context["size_text"] = f"{estimate.width}×{estimate.height}"
    else:
        context["size_text"] = f"{size} → {estimate.width}×{estimate.height}"
    return context


# --- History ----------------------------------------------------------------------


def _history_context(request: HttpRequest) -> dict[str, Any]:
    query = request.GET.get("q", "")
    before = request.GET.get("before")
    generations = Generation.objects.visible_to(request.user).search(query)
    if before and before.isdigit():
        # Keyset pagination: constant cost however deep the history goes.
        generations = generations.filter(id__lt=int(before))
    page = list(generations.order_by("-id").prefetch_related("images")[: HISTORY_PAGE_SIZE + 1])
    has_more = len(page) > HISTORY_PAGE_SIZE
    page = page[:HISTORY_PAGE_SIZE]
    counts = Generation.objects.visible_to(request.user).aggregate(
        running=Count("id", filter=Q(state__in=IN_FLIGHT_STATES)),
        completed=Count("id", filter=Q(state=State.COMPLETED)),
    )
    params = {"q": query} if query else {}
    poll_params = {**params, "before": before} if before else params
    return {
        "history": page,
        "history_query": query,
        "history_before": before or "",
        "history_counts": counts,
        "history_in_flight": counts["running"] > 0,
        "history_url": f"{reverse('history')}?{urlencode(poll_params)}",
        "older_url": (
            f"{reverse('studio')}?{urlencode({**params, 'before': page[-1].pk})}"
            if has_more
            else ""
        ),
    }


@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The history fragment: the live poll and the search box swap it whole."""
    return render(request, "studio/studio.html#history", _history_context(request))


@require_GET
def generation_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    generation = get_object_or_404(
        Generation.objects.visible_to(request.user).prefetch_related("images"),
        public_id=public_id,
    )
    return render(
        request,
        "studio/generation_detail.html",
        {
            "generation": generation,
            "poll_deadline_minutes": int(jobs.poll_deadline().total_seconds() // 60),
            "reference_chips": [
                _chip(link.reference, request.user)
                for link in generation.references.select_related("reference")
            ],
        },
    )


@require_POST
def generation_check_again(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Resume polling a job we stopped waiting for (the upstream may have finished)."""
    generation = get_object_or_404(Generation.objects.visible_to(request.user), public_id=public_id)
    if not jobs.check_again(generation.pk):
        raise Http404
    return redirect("generation_detail", public_id=generation.public_id)


@require_POST
def generation_resubmit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A person chooses to send a job again (e.g. after "submission uncertain").

    This is a new job with the same request: the old row keeps its history.
    """
    original = get_object_or_404(Generation.objects.visible_to(request.user), public_id=public_id)
    attached = [link.reference for link in original.references.select_related("reference")]
    form = form_for(original.model)(_resubmit_data(original), references=attached)
    if not form.is_valid():
        messages.error(
            request, _("This job's settings are no longer valid; adjust them in the studio.")
        )
        return redirect("generation_detail", public_id=original.public_id)
    generation = create_generation(request.user, form)
    messages.success(request, _("Submitted again as job #%(id)s.") % {"id": generation.pk})
    return redirect("generation_detail", public_id=generation.public_id)


def _resubmit_data(generation: Generation) -> dict[str, Any]:
    data = {
        name: generation.request_payload.get(name)
        for name in ("model", "prompt", "size", "resolution", "quality", "n")
    }
    data["model"] = generation.model
    data["client_token"] = str(uuid.uuid4())
    return {k: v for k, v in data.items() if v is not None}


def _result(request: HttpRequest, public_id: uuid.UUID, index: int) -> ResultImage:
    return get_object_or_404(
        ResultImage.objects.filter(generation__in=Generation.objects.visible_to(request.user)),
        generation__public_id=public_id,
        index=index,
    )


@require_GET
def result_image(request: HttpRequest, public_id: uuid.UUID, index: int) -> FileResponse:
    """A full-size result from our storage; the browser never sees upstream URLs."""
    image = _result(request, public_id, index)
    download = request.GET.get("download") == "1"
    response = FileResponse(
        image.file.open("rb"),
        as_attachment=download,
        filename=f"{image.generation.model}-{image.generation.pk}-{index + 1}.{image.extension}",
        content_type=f"image/{image.extension.replace('jpg', 'jpeg')}",
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def result_thumbnail(request: HttpRequest, public_id: uuid.UUID, index: int) -> FileResponse:
    image = _result(request, public_id, index)
    response = FileResponse(image.thumbnail.open("rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=86400"
    return response
