"""Masks: checking an upload, storing the PNG we write, and hosting it for EvoLink.

A mask is uploaded for one attached reference (its signed form token names it) and
judged before anything is stored: a PNG that decodes, with an alpha channel, exactly
the reference's width × height, with at least one transparent pixel (alpha < 255, the
region to change) and one opaque pixel (the region kept), within the upload limit.
Each refusal has its own sentence; nothing is stored for a refused mask.

What is stored, and what EvoLink downloads, is a PNG we wrote from the upload's
alpha channel alone (black pixels, no metadata), never the uploaded bytes, under a
random name. The form carries it as a token signed for one person in one team and
bound to one reference, as references travel; EvoLink fetches it from an
unguessable, expiring signed link, like a reference's.
"""

from __future__ import annotations

import io
import logging
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from playground import catalogue
from playground.generations import references, upload_limits
from playground.generations.models import GenerationReference, MaskImage, ReferenceImage
from playground.numbers import grouped
from playground.teams.models import Team

log = logging.getLogger(__name__)

FORM_SALT = "playground.mask.form"
URL_SALT = "playground.mask.url"


class RejectedMask(Exception):
    """A mask we will not use, with the sentence that says why."""


class MaskToken(TypedDict):
    m: int  # the mask
    r: int  # the reference it was painted on
    u: int  # signed for this person
    t: int  # in this team


@dataclass(frozen=True)
class AttachedMask:
    """A mask as a form carries it: the mask and the reference it belongs to."""

    mask: MaskImage
    reference_id: int


# --- Checking an upload -----------------------------------------------------------------


def oversized_message(request: HttpRequest) -> str | None:
    """The upload handler (upload_limits.ReferenceSizeLimitHandler) stopped the file."""
    if not upload_limits.oversized_names(request):
        return None
    return _("The mask is larger than %(max)d MB; it was not stored.") % {
        "max": catalogue.MAX_REFERENCE_BYTES // (1024 * 1024)
    }


def alpha_of(file: IO[bytes], reference: ReferenceImage) -> Image.Image:
    """The mask's alpha channel ("L", the reference's size), or RejectedMask.

    The header is read first (size and mode, nothing decoded): a mask whose size is
    not the reference's is refused before its pixels cost anything, so decoding is
    bounded by the reference's own size, itself bounded when it was uploaded.
    """
    file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow only warns about decompression bombs below ~179 MP: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=[catalogue.MASK_FORMAT])
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RejectedMask(_wrong_size(None, reference)) from None
    except Exception:  # Pillow raises many types for files that are not PNGs
        raise RejectedMask(
            _("The mask is not a PNG image; paint it again and use the mask.")
        ) from None
    with image:
        width, height = image.size
        if (width, height) != (reference.width, reference.height):
            raise RejectedMask(_wrong_size((width, height), reference))
        if width * height > references.max_decode_pixels(catalogue.MASK_FORMAT):
            raise RejectedMask(
                _("The mask (%(size)s) is too large in pixels for a mask: at most %(pixels)s.")
                % {
                    "size": f"{width}×{height}",
                    "pixels": grouped(references.max_decode_pixels(catalogue.MASK_FORMAT)),
                }
            )
        if "A" not in image.getbands() and "transparency" not in image.info:
            raise RejectedMask(
                _(
                    "The mask has no alpha channel: EvoLink needs a PNG whose transparent "
                    "pixels mark the region to change."
                )
            )
        try:
            image.load()  # truncated or damaged files fail here
            # A palette or grey PNG with transparency becomes RGBA first.
            rgba = image if image.mode == "RGBA" else image.convert("RGBA")
            alpha = rgba.getchannel("A")
        except Exception:
            raise RejectedMask(
                _("The mask is damaged or incomplete; paint it again and use the mask.")
            ) from None
    counts = alpha.histogram()  # pixels per alpha value, 0 to 255
    if not any(counts[: catalogue.MASK_OPAQUE_ALPHA]):
        raise RejectedMask(
            _("The mask is opaque everywhere: paint the region the model should change.")
        )
    if not counts[catalogue.MASK_OPAQUE_ALPHA]:
        raise RejectedMask(
            _(
                "The mask is transparent everywhere: leave the part to keep unpainted, "
                "or remove the mask to change the whole image."
            )
        )
    return alpha


def _wrong_size(size: tuple[int, int] | None, reference: ReferenceImage) -> str:
    return _(
        "The mask is %(size)s but its reference image is %(reference)s: a mask must be "
        "exactly the reference's size."
    ) % {
        "size": f"{size[0]}×{size[1]}" if size else _("too large"),
        "reference": f"{reference.width}×{reference.height}",
    }


def wrong_size(mask: MaskImage, reference: ReferenceImage) -> str:
    """Said when a stored mask no longer fits its reference (the worker's last check)."""
    return _wrong_size((mask.width, mask.height), reference)


def encode(alpha: Image.Image) -> bytes:
    """The PNG we serve: black RGBA pixels carrying the mask's alpha, nothing else."""
    image = Image.new("RGBA", alpha.size, (0, 0, 0, 255))
    image.putalpha(alpha)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def store(file: IO[bytes], reference: ReferenceImage, user: User) -> MaskImage:
    """Check one upload against its reference and store our PNG of it (RejectedMask
    if any check fails: then nothing is stored)."""
    alpha = alpha_of(file, reference)
    data = encode(alpha)
    mask = MaskImage(
        width=alpha.width,
        height=alpha.height,
        bytes=len(data),
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
    # A random name: nothing of the person's file, nothing to guess.
    mask.file.save(f"{secrets.token_hex(16)}.png", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            mask.save()
    except BaseException:
        default_storage.delete(mask.file.name)
        raise
    return mask


# --- Tokens the forms carry ---------------------------------------------------------


def form_token(mask: MaskImage, reference_id: int, user: User, team: Team) -> str:
    """A mask as the form carries it: for one person in one team, on one reference."""
    value: MaskToken = {"m": mask.pk, "r": reference_id, "u": user.pk, "t": team.pk}
    return signing.dumps(value, salt=FORM_SALT, compress=True)


def from_token(token: str, user: User, team: Team) -> AttachedMask | None:
    """The mask a form names, if it was signed for this person in this team."""
    try:
        value = signing.loads(token, salt=FORM_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("u") != user.pk or value.get("t") != team.pk:
        return None
    mask_id, reference_id = value.get("m"), value.get("r")
    if not isinstance(mask_id, int) or not isinstance(reference_id, int):
        return None
    mask = MaskImage.objects.filter(pk=mask_id).first()
    if mask is None:
        return None
    return AttachedMask(mask, reference_id)


def of_job_links(links: list[GenerationReference]) -> AttachedMask | None:
    """The mask a job recorded, on the reference it belongs to."""
    for link in links:
        if link.mask is not None:
            return AttachedMask(link.mask, link.reference_id)
    return None


def fits(attached: AttachedMask, reference: ReferenceImage) -> bool:
    return (attached.mask.width, attached.mask.height) == (reference.width, reference.height)


# --- Public URLs for the upstream -------------------------------------------------------


def public_url(mask: MaskImage) -> str:
    """An unguessable link EvoLink can download without logging in (see
    references.public_url: signed, expiring, revoked with SECRET_KEY; with object
    storage, the storage's own presigned link)."""
    if getattr(settings, "S3_BUCKET", ""):
        return mask.file.url
    token = signing.dumps(mask.pk, salt=URL_SALT)
    path = reverse("mask_public", kwargs={"token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def from_public_token(token: str) -> MaskImage | None:
    try:
        pk = signing.loads(token, salt=URL_SALT, max_age=references.url_max_age())
    except signing.BadSignature:
        return None
    return MaskImage.objects.filter(pk=pk).first()


# --- Clean-up ---------------------------------------------------------------------------


def clean_unused(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete masks no job uses, uploaded more than `older_than` ago, with their files
    (runs before the references' own clean-up, on the same hourly schedule)."""
    cutoff = timezone.now() - older_than
    deleted = 0
    for mask in MaskImage.objects.filter(uploaded_at__lt=cutoff, links__isnull=True).iterator():
        with transaction.atomic():
            count, _kinds = MaskImage.objects.filter(pk=mask.pk, links__isnull=True).delete()
        if count:
            try:
                default_storage.delete(mask.file.name)
            except Exception:  # best effort: the file is unreachable without its row
                log.warning("could not delete %s", mask.file.name, exc_info=True)
            deleted += 1
    return deleted
