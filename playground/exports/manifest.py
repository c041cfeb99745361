"""What `manifest.json` and `manifest.csv` say about each image of an export.

One row per image: where it is in the ZIP, the job it came from (number, public id,
prompt, model and settings), the image itself, who made it and when, what it was
estimated to cost and what it counts for (the one rule of playground/generations/spend.py,
with the kind of figure: charged, not charged, reserved, estimated, or estimated
but possibly charged), and its lineage: the job it was made from and the jobs its
reference images came from; and its mask, if the job sent one (masks/…-mask.png in
the ZIP); and its review: the status, the reviewer (who decided, or whom the review
was asked of while it waits) and when it was decided. A lineage link to a job the
requester may not see (a colleague's "Only me", another team's) names the relation
only, as the job page does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from playground.generations.models import Generation, GenerationReference, ResultImage
from playground.generations.spend import charge_of
from playground.reviews.models import ImageReview, ReviewStatus

COLUMNS = [
    "file",
    "job_number",
    "job_id",
    "prompt",
    "model",
    "size",
    "resolution",
    "quality",
    "background",
    "output_format",
    "n",
    "image_index",
    "width",
    "height",
    "format",
    "bytes",
    "made_by",
    "only_me",
    "state",
    "created_at",
    "finished_at",
    "estimated_credits",
    "charged_credits",
    "charge_basis",
    "parent_relation",
    "parent_job_number",
    "parent_job_id",
    "reference_source_jobs",
    "mask",
    "review_status",
    "reviewer",
    "review_decided_at",
]


def file_name(image: ResultImage) -> str:
    """images/gpt-image-2-12-1.png: the job's model and number, the image's place (from
    1), as the job's own downloads name it. Numbers are unique per team."""
    job = image.generation
    return f"images/{job.model}-{job.number or job.pk}-{image.index + 1}.{image.extension}"


def mask_file_name(job: Generation) -> str:
    """masks/gpt-image-2-12-mask.png: the job's mask, named like its images."""
    return f"masks/{job.model}-{job.number or job.pk}-mask.png"


def with_lineage(queryset: QuerySet[ResultImage]) -> QuerySet[ResultImage]:
    """The queries one batch of rows needs: its jobs, their makers, parents and references."""
    return queryset.select_related(
        "generation__parent", "review__decided_by", "review__reviewer"
    ).prefetch_related(
        Prefetch(
            "generation__references",
            GenerationReference.objects.select_related("source", "mask").order_by("position"),
        )
    )


def visible_job_ids(user: User, batch: Iterable[ResultImage]) -> set[int]:
    """Of the jobs the batch's lineage names, those this person may see (one query)."""
    named: set[int] = set()
    for image in batch:
        job = image.generation
        if job.parent_id:
            named.add(job.parent_id)
        named.update(link.source_id for link in job.references.all() if link.source_id)
    if not named:
        return set()
    return set(
        Generation.objects.visible_to(user).filter(pk__in=named).values_list("pk", flat=True)
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _credits(value: Decimal | None) -> str | None:
    # Strings, not floats: the exact figure the database holds ("0.04000").
    return None if value is None else str(value)


def _job_ref(job: Generation | None, visible: set[int]) -> dict[str, Any] | None:
    if job is None or job.pk not in visible:
        return None
    return {"job_number": job.number, "job_id": str(job.public_id)}


def _review(image: ResultImage) -> tuple[str, str, str | None]:
    """(status, reviewer, decided at) of one image; no row is "none"."""
    try:
        review = image.review
    except ImageReview.DoesNotExist:
        return ReviewStatus.NONE.value, "", None
    person = review.decided_by if review.decided_at else review.reviewer
    return review.status, person.get_username() if person else "", _iso(review.decided_at)


def row(image: ResultImage, name: str, visible: set[int]) -> dict[str, Any]:
    """The manifest.json entry of one image (manifest.csv flattens it: `csv_row`)."""
    job = image.generation
    charge = charge_of(job)
    parent = None
    if job.parent_relation:
        parent = {"relation": job.parent_relation, "job_number": None, "job_id": None}
        shown = _job_ref(job.parent, visible) if job.parent_id else None
        if shown:
            parent.update(shown)
        else:
            parent["note"] = "deleted" if job.parent_id is None else "not visible to you"
    references = []
    mask = None
    for link in job.references.all():
        entry: dict[str, Any] = {"position": link.position + 1, "source": None}
        if link.source_id:
            entry["source"] = _job_ref(link.source, visible) or {"note": "not visible to you"}
        if link.mask is not None:
            # The mask the job sent with this reference: a file of the ZIP, once per job.
            mask = {
                "file": mask_file_name(job),
                "reference_position": link.position + 1,
                "width": link.mask.width,
                "height": link.mask.height,
            }
            entry["mask"] = mask["file"]
        references.append(entry)
    review_status, reviewer, decided_at = _review(image)
    return {
        "file": name,
        "job_number": job.number,
        "job_id": str(job.public_id),
        "prompt": job.prompt,
        "model": job.model,
        "size": job.size,
        "resolution": job.resolution,
        "quality": job.quality,
        # gpt-image-2's choices as sent ("" for the other models).
        "background": job.background,
        "output_format": job.output_format,
        "n": job.n,
        "image_index": image.index + 1,
        "width": image.width,
        "height": image.height,
        "format": image.format,
        "bytes": image.bytes,
        "made_by": job.owner.get_username(),
        "only_me": job.private,
        "state": job.state,
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
        "estimated_credits": _credits(job.estimated_credits),
        "charged_credits": _credits(charge.credits),
        "charge_basis": charge.kind,
        "parent": parent,
        "references": references,
        "mask": mask,
        "review_status": review_status,
        "reviewer": reviewer,
        "review_decided_at": decided_at,
    }


def csv_row(entry: dict[str, Any]) -> list[Any]:
    parent = entry["parent"] or {}
    sources = [
        f"#{ref['source']['job_number']} {ref['source']['job_id']}"
        for ref in entry["references"]
        if ref["source"] and "job_id" in ref["source"]
    ]
    flat = {
        **entry,
        "parent_relation": parent.get("relation") or "",
        "parent_job_number": parent.get("job_number") or "",
        "parent_job_id": parent.get("job_id") or "",
        "reference_source_jobs": "; ".join(sources),
        "mask": entry["mask"]["file"] if entry["mask"] else "",
    }
    return [_cell(flat[column]) for column in COLUMNS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
