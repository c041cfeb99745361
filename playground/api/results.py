"""A job as the API answers it: OpenAI's ImagesResponse for a finished job (`data[]`
with signed, expiring links to our archived images or the images in base64, and
`usage` with our estimate and EvoLink's charge), and our job object for the rest.

An image link is signed (django.core.signing, with its time) and works without a
token for API_IMAGE_URL_SECONDS, as OpenAI's own result links do, so that a tool can
hand it to a browser; it names one archived image and nothing else.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from playground.generations import spend
from playground.generations.models import Generation, ResultImage, State

SALT = "playground.api.image"


def image_token(image: ResultImage) -> str:
    return signing.dumps(image.pk, salt=SALT)


def image_of(token: str) -> ResultImage | None:
    """The archived image a link names, while the link is valid."""
    try:
        pk = signing.loads(token, salt=SALT, max_age=settings.API_IMAGE_URL_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(pk, int):
        return None
    return ResultImage.objects.select_related("generation").filter(pk=pk).first()


def _credits(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def usage_of(job: Generation) -> dict[str, Any]:
    """Our estimate, EvoLink's charge when it reported one, and what the job counts for
    in the team's budget (playground/generations/spend.py: the one rule)."""
    charge = spend.charge_of(job)
    return {
        "estimated_credits": _credits(job.estimated_credits),
        "charged_credits": _credits(job.credits_charged),
        "counted_credits": _credits(charge.credits),
        "charge": charge.kind,
        "evolink": job.usage or None,
    }


def _images(job: Generation) -> list[ResultImage]:
    return sorted(job.images.all(), key=lambda image: image.index)


def image_items(
    request: HttpRequest, job: Generation, response_format: str
) -> list[dict[str, Any]]:
    items = []
    for image in _images(job):
        if response_format == "b64_json":
            with image.file.open("rb") as f:
                items.append({"b64_json": base64.b64encode(f.read()).decode("ascii")})
        else:
            link = reverse("api_image", kwargs={"token": image_token(image)})
            items.append({"url": request.build_absolute_uri(link)})
    return items


def images_response(request: HttpRequest, job: Generation, response_format: str) -> dict[str, Any]:
    """OpenAI's ImagesResponse for a completed job, with the job's id and link."""
    return {
        "created": int(job.created_at.timestamp()),
        "id": str(job.public_id),
        "data": image_items(request, job, response_format),
        "size": job.size,
        "quality": job.quality,
        **({"background": job.background} if job.background else {}),
        **({"output_format": job.output_format} if job.output_format else {}),
        "usage": usage_of(job),
        "job_url": job_url(request, job),
    }


def job_url(request: HttpRequest, job: Generation) -> str:
    return request.build_absolute_uri(reverse("api_job", kwargs={"public_id": job.public_id}))


def job_object(
    request: HttpRequest, job: Generation, response_format: str = "url"
) -> dict[str, Any]:
    """Everything a script needs to follow a job: its state, settings, who made it and
    how, its images once there, what it cost, and why it failed."""
    failed = job.state in (State.FAILED, State.UNCERTAIN, State.TIMED_OUT, State.CANCELLED)
    return {
        "id": str(job.public_id),
        "object": "image.job",
        "number": job.number,
        "status": job.state,
        "progress": job.progress,
        "model": job.model,
        "prompt": job.prompt,
        "size": job.size,
        "quality": job.quality,
        "n": job.n,
        "background": job.background or None,
        "output_format": job.output_format or None,
        "private": job.private,
        "made_by": job.owner.get_username(),
        "api_token": job.api_token.name if job.api_token else None,
        "created": int(job.created_at.timestamp()),
        "finished": int(job.finished_at.timestamp()) if job.finished_at else None,
        "images_returned": job.images_returned,
        "data": image_items(request, job, response_format) if job.state == State.COMPLETED else [],
        "error": {"code": job.error_code, "message": job.error_text} if failed else None,
        "usage": usage_of(job),
        "url": job_url(request, job),
        "page": request.build_absolute_uri(
            reverse("generation_detail", kwargs={"public_id": job.public_id})
        ),
    }
