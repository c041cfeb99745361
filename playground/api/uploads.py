"""The files of POST /v1/images/edits, through the studio's own checks: each image as
a reference (references.store_uploads: format, size, pixels, the per-request limits),
the mask against the first image (mask_uploads.store). A refused file is a 400 naming
`image` or `mask` with the studio's sentence; nothing of a refused request is used."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext as _

from playground import catalogue
from playground.api.errors import ApiError
from playground.generations import mask_uploads, references, upload_limits
from playground.generations.models import ReferenceImage

IMAGE_FIELDS = ("image", "image[]")


def references_of(request: HttpRequest, user: User) -> list[references.Attached]:
    files = [file for name in IMAGE_FIELDS for file in request.FILES.getlist(name)]
    problems = upload_limits.oversized_messages(request)
    files = files[: upload_limits.max_files_per_request()]
    if not files and not problems:
        raise ApiError(
            400, _("Send at least one image to edit (image or image[])."), "missing", "image"
        )
    stored, rejected = references.store_uploads(files, user)
    problems.extend(rejected)
    if problems:
        raise ApiError(400, " ".join(problems), "invalid_image", param="image")
    # The same image twice is one reference (stored once per content), as in the
    # studio: the first place it was given keeps its order.
    unique: dict[int, ReferenceImage] = {}
    for reference in stored:
        unique.setdefault(reference.pk, reference)
    return [references.Attached(reference) for reference in unique.values()]


def mask_of(
    request: HttpRequest,
    spec: catalogue.ModelSpec,
    attached: list[references.Attached],
    user: User,
) -> mask_uploads.AttachedMask | None:
    """The mask, checked against the first image (OpenAI's edits take it so)."""
    upload = request.FILES.get("mask")
    if upload is None:
        return None
    if not spec.takes_mask:
        raise ApiError(
            400,
            _("%(model)s does not take a mask: use a model that does, or send no mask.")
            % {"model": spec.label},
            "unsupported_value",
            param="mask",
        )
    first = attached[0].image
    try:
        mask = mask_uploads.store(upload, first, user)
    except mask_uploads.RejectedMask as rejected:
        raise ApiError(400, str(rejected), "invalid_mask", param="mask") from None
    return mask_uploads.AttachedMask(mask, first.pk)
