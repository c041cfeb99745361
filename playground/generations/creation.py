"""Turning a valid generation form into a job: the one way a job is created (by the
studio, a re-run and a matrix run alike).

Every submission costs money, so a repeated POST (double click, browser resubmit,
two tabs racing) returns the job its form token already made. The job belongs to the
team it was made in, in the name of the person who made it, and records what it came
from (its lineage) when it was made from a colleague's or one's own job.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from playground import catalogue, pricing
from playground.apitokens.models import ApiToken
from playground.billing import paying
from playground.generations import budgets, jobs, mask_uploads, references, signals, upload_limits
from playground.generations.forms import CUSTOM_SIZE, GenerationForm, form_for
from playground.generations.models import (
    Derivation,
    Generation,
    GenerationReference,
    ReferenceImage,
)
from playground.teams import availability
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership


def estimate_of(form: GenerationForm) -> pricing.Estimate:
    """What a valid form's job is estimated to cost (what the budget check counts)."""
    payload = form.payload()
    return pricing.estimate(
        form.spec,
        quality=payload["quality"],
        size=payload["size"],
        resolution=payload.get("resolution"),
        n=payload["n"],
        reference_images=len(form.references),
        prompt=payload["prompt"],
    )


def create_generation(
    membership: Membership, form: GenerationForm, *, via: ApiToken | None = None
) -> Generation:
    """Store the job and wake a worker once the row is committed (`via`: the personal
    API token it was asked with, if any).

    Raises budgets.OverBudget, having stored nothing, if the job would pass the
    team's monthly budget or the person's cap, availability.ModelOff if the team
    may not use the model, and paying.NoPayer if no key could pay for it.
    """
    user, team = membership.user, membership.team
    token = form.cleaned_data.get("client_token") or uuid.uuid4()
    existing = Generation.objects.filter(owner=user, client_token=token).first()
    if existing:
        return existing
    estimate = estimate_of(form)
    try:
        with transaction.atomic():
            # Counted one after the other: two presses cannot together pass a budget.
            budgets.lock(team)
            budgets.check(membership, estimate.total_credits)
            return insert_generation(membership, form, token=token, estimate=estimate, via=via)
    except IntegrityError:
        # Two identical POSTs raced; the other one created the job.
        return Generation.objects.get(owner=user, client_token=token)


def insert_generation(
    membership: Membership,
    form: GenerationForm,
    *,
    token: uuid.UUID,
    estimate: pricing.Estimate,
    via: ApiToken | None = None,
) -> Generation:
    """The job's row, its references and its lineage; a worker wakes on commit.

    The caller holds the transaction, has locked the team (`budgets.lock`) and checked
    the budget: the studio for one job, a matrix run once for all of its jobs.
    """
    user, team = membership.user, membership.team
    # Every way a job is made passes here: a model switched off is refused even when
    # an old page (or a re-run, a template) still offers it.
    availability.require(team, form.spec.id)
    # Nor is a job no key could pay for: it would be accepted and fail at once.
    paying.require(membership, form.spec.id)
    data = form.cleaned_data
    payload = form.payload()
    spec = form.spec
    parent, relation = _lineage(membership, form)
    generation = Generation.objects.create(
        team=team,
        owner=user,
        client_token=token,
        private=bool(data.get("private")),
        api_token=via,
        parent=parent,
        parent_relation=relation,
        model=spec.id,
        prompt=payload["prompt"],
        size=payload["size"],
        resolution=payload.get("resolution", ""),
        quality=payload["quality"],
        n=payload["n"],
        background=payload.get("background", ""),
        output_format=payload.get("output_format", ""),
        request_payload=payload,
        estimated_credits=estimate.total_credits,
        output_width=None if estimate.auto else estimate.width,
        output_height=None if estimate.auto else estimate.height,
    )
    visible_sources = _visible_ids(membership, {r.source_id for r in form.references})
    # The mask goes on the link of the reference it was painted on (the form put that
    # reference first).
    masked = form.masked_reference
    GenerationReference.objects.bulk_create(
        GenerationReference(
            generation=generation,
            reference=ref.image,
            position=i,
            source_id=ref.source_id if ref.source_id in visible_sources else None,
            mask=form.mask.mask if form.mask is not None and ref is masked else None,
        )
        for i, ref in enumerate(form.references)
    )
    transaction.on_commit(lambda: _created(generation))
    return generation


def _created(generation: Generation) -> None:
    """After the commit: a worker wakes, and the apps above hear that the job's
    estimate counts from now on (spend.py; a spend alert may be due). One callback
    per job does both."""
    jobs.enqueue_submit(generation.pk)
    signals.spend_recorded.send(
        sender=None, team_id=generation.team_id, owner_id=generation.owner_id
    )


def _lineage(membership: Membership, form: GenerationForm) -> tuple[Generation | None, str]:
    """What the new job came from: the job the form was opened from ("Edit this",
    "Reuse settings", "Re-run"), else the job of the first reference taken from a
    result ("Use as reference"). Only jobs the person may see in this team count."""
    data = form.cleaned_data
    if data.get("parent") and data.get("parent_relation"):
        parent = (
            Generation.objects.visible_to(membership.user, membership.team)
            .filter(public_id=data["parent"])
            .first()
        )
        if parent:
            return parent, data["parent_relation"]
    sources = [r.source_id for r in form.references if r.source_id]
    if sources:
        parent = (
            Generation.objects.visible_to(membership.user, membership.team)
            .filter(pk=sources[0])
            .first()
        )
        if parent:
            return parent, Derivation.REFERENCE
    return None, ""


def _visible_ids(membership: Membership, ids: set[int | None]) -> set[int]:
    ids.discard(None)
    if not ids:
        return set()
    return set(
        Generation.objects.visible_to(membership.user, membership.team)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )


def references_from_post(
    request: AuthedRequest, membership: Membership
) -> tuple[list[references.Attached], list[str]]:
    """References already attached (signed tokens) plus files sent with the form."""
    attached = references.from_tokens(
        request.POST.getlist("reference"), request.user, membership.team
    )
    uploads = upload_limits.uploaded_files(request, "reference_files")
    # Oversized files (and files past the per-request limit) were noted while the body
    # was parsed (by .POST / .FILES above).
    errors = upload_limits.oversized_messages(request)
    stored, rejected = references.store_uploads(uploads, request.user)
    errors.extend(rejected)
    attached.extend(references.Attached(reference) for reference in stored)
    # The same image twice is one reference (files are stored once per content): the
    # first place it was given keeps its order.
    unique: dict[int, references.Attached] = {}
    for reference in attached:
        unique.setdefault(reference.image.pk, reference)
    return list(unique.values()), errors


def mask_from_post(
    request: AuthedRequest, membership: Membership
) -> mask_uploads.AttachedMask | None:
    """The mask the form carries (a signed token), if it was signed for this person in
    this team; anything else attaches nothing, as for references."""
    token = request.POST.get("mask", "")
    return mask_uploads.from_token(token, request.user, membership.team) if token else None


def carried_from(
    generation: Generation, new_reference: ReferenceImage | None = None
) -> tuple[list[references.Attached], mask_uploads.AttachedMask | None]:
    """What "Reuse settings" and "Edit this" take of a job's mask.

    Reuse settings: the reference the mask was painted on, with the mask (a mask means
    nothing without its image). Edit this (`new_reference`, the result made the
    reference): the mask, moved to that image, when it is the mask's size.
    """
    links = list(generation.references.select_related("reference", "mask"))
    attached = mask_uploads.of_job_links(links)
    if attached is None:
        return [], None
    if new_reference is not None:
        if not mask_uploads.fits(attached, new_reference):
            return [], None
        return [], mask_uploads.AttachedMask(attached.mask, new_reference.pk)
    masked = next(link for link in links if link.mask_id is not None)
    return [references.Attached(masked.reference, masked.source_id)], attached


def settings_of(generation: Generation, relation: str) -> dict[str, Any]:
    """A job's settings as form values (a custom size comes back as Custom W×H), with
    the lineage the next job will record."""
    initial: dict[str, Any] = {
        "prompt": generation.prompt,
        "quality": generation.quality,
        "n": generation.n,
        "size": generation.size,
        "private": generation.private,
        "parent": generation.public_id,
        "parent_relation": relation,
    }
    if generation.resolution:
        initial["resolution"] = generation.resolution
    for name in ("background", "output_format"):
        if value := getattr(generation, name):
            initial[name] = value
    if generation.spec.is_flexible and (wxh := catalogue.parse_wxh(generation.size)):
        initial.update({"size": CUSTOM_SIZE, "width": wxh[0], "height": wxh[1]})
    return initial


def rerun_form(
    generation: Generation,
    attached: list[references.Attached],
    mask: mask_uploads.AttachedMask | None = None,
) -> GenerationForm:
    """The form of a job sent again as it was, its mask included (a new job; the old
    row keeps its history)."""
    data = {
        name: generation.request_payload.get(name)
        for name in (
            "model",
            "prompt",
            "size",
            "resolution",
            "quality",
            "n",
            "background",
            "output_format",
        )
    }
    data.update(
        model=generation.model,
        client_token=str(uuid.uuid4()),
        parent=str(generation.public_id),
        parent_relation=Derivation.RERUN,
        private="on" if generation.private else None,
    )
    return form_for(generation.model)(
        {k: v for k, v in data.items() if v is not None}, references=attached, mask=mask
    )
