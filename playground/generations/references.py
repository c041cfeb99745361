"""Reference images: checking uploads, storing them once, and hosting them for EvoLink.

- Uploads are streamed to temporary files by Django (never held whole in memory); a
  size cap stops each one past 50 MB (`ReferenceSizeLimitHandler`). Each file is then
  judged by its content with Pillow, never by its name.
- Identical content is stored once, under its sha256.
- The forms carry each reference as a token signed for its user and team, so nobody
  can attach an image they were never given, nor carry one into another team, and
  the ids never show.
- EvoLink downloads references by URL: `public_url` is an unguessable, expiring,
  signed link under PUBLIC_BASE_URL that needs no login. Alternatively
  (`EVOLINK_REFERENCE_HOST=files-api`) the job uploads them to EvoLink's Files API.
"""

from __future__ import annotations

import copy
import hashlib
import io
import ipaddress
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image

from playground import catalogue
from playground.generations.models import ReferenceImage

FORM_SALT = "playground.reference.form"
URL_SALT = "playground.reference.url"
THUMBNAIL_EDGE = 160
CHUNK = 1024 * 1024


class RejectedUpload(Exception):
    """One file we will not use, with the sentence that says why."""


@dataclass(frozen=True)
class Checked:
    format: str
    width: int
    height: int


# --- Uploads ----------------------------------------------------------------------


class ReferenceSizeLimitHandler(FileUploadHandler):
    """First upload handler: stops reading a file once it passes the 50 MB limit.

    The rest of that file is skipped (not stored), and its name is remembered on the
    request so the page can say which file was too large.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > catalogue.MAX_REFERENCE_BYTES:
            if not hasattr(self.request, "oversized_uploads"):
                self.request.oversized_uploads = []
            self.request.oversized_uploads.append(self.file_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file


def oversized_messages(request: Any) -> list[str]:
    return [
        _("%(name)s: larger than %(max)d MB; each reference image may be at most %(max)d MB.")
        % {"name": name, "max": catalogue.MAX_REFERENCE_BYTES // (1024 * 1024)}
        for name in getattr(request, "oversized_uploads", [])
    ]


def check_image(file: IO[bytes], name: str) -> Checked:
    """Judge a file by its content: JPEG, PNG or WEBP, one frame, sane dimensions,
    and complete. Reads it in a way that never decodes a huge image whole."""
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        raise RejectedUpload(
            _("%(name)s: GIF is not supported; use JPEG, PNG or WEBP.") % {"name": name}
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns about decompression bombs below ~179 MP: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=list(catalogue.REFERENCE_FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RejectedUpload(_too_many_pixels(name)) from None
    except Exception:  # Pillow raises many types for files that are not images
        raise RejectedUpload(
            _("%(name)s: not a JPEG, PNG or WEBP image (the content decides, not the file name).")
            % {"name": name}
        ) from None
    with image:
        fmt = image.format or ""
        width, height = image.size
        if (
            width * height > catalogue.MAX_REFERENCE_PIXELS
            or max(width, height) > catalogue.MAX_REFERENCE_EDGE
        ):
            raise RejectedUpload(_too_many_pixels(name, width, height))
        if getattr(image, "n_frames", 1) > 1:
            raise RejectedUpload(
                _("%(name)s: animated images are not supported; use a single frame.")
                % {"name": name}
            )
        try:
            _verify_complete(image, file)
        except Exception:
            raise RejectedUpload(
                _("%(name)s: the image is damaged or incomplete; upload it again.") % {"name": name}
            ) from None
    file.seek(0)
    return Checked(fmt, width, height)


def _verify_complete(image: Image.Image, file: IO[bytes]) -> None:
    """Prove the whole file decodes, with little memory."""
    if image.format == "PNG":
        image.verify()  # walks every chunk and checks its CRC without decoding pixels
        return
    if image.format == "JPEG":
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
    image.load()  # JPEG at 1/8 scale; WEBP has no cheaper proof than decoding


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}×{height})" if width and height else ""
    return _(
        "%(name)s%(size)s: too large in pixels; at most %(pixels)s pixels and %(edge)s px a side."
    ) % {
        "name": name,
        "size": size,
        "pixels": f"{catalogue.MAX_REFERENCE_PIXELS:,}",
        "edge": f"{catalogue.MAX_REFERENCE_EDGE:,}",
    }


def store(file: IO[bytes], name: str) -> ReferenceImage:
    """Check and store one upload (or return the stored copy of identical content)."""
    checked = check_image(file, name)
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    sha = digest.hexdigest()
    existing = ReferenceImage.objects.filter(sha256=sha).first()
    if existing:
        return existing
    reference = ReferenceImage(
        sha256=sha,
        format=checked.format,
        width=checked.width,
        height=checked.height,
        bytes=size,
    )
    file.seek(0)
    # Content-derived keys: never the user's file name.
    reference.file.save(f"{sha}.{reference.extension}", File(file), save=False)
    reference.thumbnail.save(f"{sha}.thumb.webp", ContentFile(_thumbnail(file)), save=False)
    try:
        with transaction.atomic():
            reference.save()
    except IntegrityError:
        # The same content arrived twice at once; the first row wins.
        return ReferenceImage.objects.get(sha256=sha)
    return reference


def store_bytes(data: bytes, name: str) -> ReferenceImage:
    return store(io.BytesIO(data), name)


def _thumbnail(file: IO[bytes]) -> bytes:
    file.seek(0)
    with Image.open(file) as image:
        # Shrink first (JPEG decodes at a fraction of its size), convert the small
        # copy after: converting the full image first would hold it twice.
        image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=80)
    file.seek(0)
    return buffer.getvalue()


# --- Tokens the forms carry -------------------------------------------------------


def form_token(reference: ReferenceImage, user: Any, team: Any) -> str:
    """A reference as a form carries it: signed for one person in one team.

    `reference.source_id`, when set, is the job the image was taken from ("Use as
    reference", "Edit this"), for the new job's lineage.
    """
    value = {"r": reference.pk, "u": user.pk, "t": team.pk}
    if getattr(reference, "source_id", None):
        value["g"] = reference.source_id
    return signing.dumps(value, salt=FORM_SALT, compress=True)


def from_tokens(tokens: Iterable[str], user: Any, team: Any) -> list[ReferenceImage]:
    """The references a form names, in order, each with `.source_id` (or None).

    Tokens of other people, or made in another team, are ignored: an image reaches a
    team only through someone who may see it there.
    """
    wanted: list[tuple[int, int | None]] = []
    for token in tokens:
        value = unsign(token)
        if value and value.get("u") == user.pk and value.get("t") == team.pk:
            wanted.append((value["r"], value.get("g")))
    found = ReferenceImage.objects.in_bulk([pk for pk, _source in wanted])
    attached = []
    for pk, source in wanted:
        if pk in found:
            reference = copy.copy(found[pk])  # one object per use: sources may differ
            reference.source_id = source
            attached.append(reference)
    return attached


def unsign(token: str) -> dict[str, Any] | None:
    try:
        value = signing.loads(token, salt=FORM_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) and "r" in value else None


# --- Public URLs for the upstream -------------------------------------------------


def url_max_age() -> int:
    return int(getattr(settings, "REFERENCE_URL_MAX_AGE", 7 * 24 * 3600))


def public_url(reference: ReferenceImage) -> str:
    """An unguessable link EvoLink can download without logging in.

    The signature is the secret (an id alone opens nothing); it stops working after
    REFERENCE_URL_MAX_AGE seconds, and rotating SECRET_KEY revokes every link at once.
    The path ends with the image's extension because EvoLink expects direct downloads.
    With object storage (S3_BUCKET) it is the storage's own presigned GET link instead,
    expiring as long after, so the image never passes through this server.
    """
    if getattr(settings, "S3_BUCKET", ""):
        return reference.file.url
    token = signing.dumps(reference.pk, salt=URL_SALT)
    path = reverse("reference_public", kwargs={"token": token, "ext": reference.extension})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def from_public_token(token: str) -> ReferenceImage | None:
    try:
        pk = signing.loads(token, salt=URL_SALT, max_age=url_max_age())
    except signing.BadSignature:
        return None
    return ReferenceImage.objects.filter(pk=pk).first()


def public_base_is_private() -> bool:
    """True when PUBLIC_BASE_URL is an address the internet cannot reach."""
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    if host in {"localhost", ""} or host.endswith((".local", ".localhost", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a DNS name: assume it is public
    return not address.is_global


def hosted_by_files_api() -> bool:
    return getattr(settings, "EVOLINK_REFERENCE_HOST", "public") == "files-api"
