"""Reference images: checking uploads, storing them once, and hosting them for EvoLink.

- Uploads are streamed to temporary files by Django (never held whole in memory); a
  size cap stops each one past 50 MB (`upload_limits.ReferenceSizeLimitHandler`). Each file is then
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

import hashlib
import io
import ipaddress
import logging
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from playground import catalogue, imageformats
from playground.generations.models import GenerationReference, ReferenceImage
from playground.numbers import grouped
from playground.teams.models import Team

log = logging.getLogger(__name__)

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


# What one upload may cost this server: OUR choice, for the web process's safety
# (EvoLink itself accepts up to catalogue.MAX_REFERENCE_PIXELS). Every upload is
# decoded once, to re-encode the copy we serve. Measured peak bytes per pixel of that
# decode and re-encode (bench/upload_memory.py): WEBP ~20 (Pillow's decoder holds ~16
# while loading), PNG ~12 (a 4K PNG fits), JPEG ~5. PNG and WEBP cannot be
# decoded at a reduced scale, so above their limit they are refused; JPEG decodes at
# 1/2, 1/4 or 1/8 scale for free (Image.draft), so a larger JPEG is accepted and its
# copy is the largest of those scales that fits.
MAX_DECODE_BYTES = 96 * 1024 * 1024
DECODE_BYTES_PER_PIXEL = {"JPEG": 5, "PNG": 12, "WEBP": 20}


def max_decode_pixels(fmt: str) -> int:
    """The most pixels of `fmt` we decode in one go (WEBP ~5 MP, PNG ~8.4 MP)."""
    return MAX_DECODE_BYTES // DECODE_BYTES_PER_PIXEL[fmt]


def check_image(file: IO[bytes], name: str) -> Checked:
    """Judge a file by its content, from its header only (nothing is decoded): JPEG,
    PNG or WEBP, one frame, and a pixel count we can afford to decode."""
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        raise RejectedUpload(
            _("%(name)s: GIF is not supported; use JPEG, PNG or WEBP.") % {"name": name}
        )
    image = _open(file, name)
    with image:
        fmt = image.format or ""
        width, height = image.size
        if (
            width * height > catalogue.MAX_REFERENCE_PIXELS
            or max(width, height) > catalogue.MAX_REFERENCE_EDGE
        ):
            raise RejectedUpload(_too_many_pixels(name, width, height))
        if fmt != "JPEG" and width * height > max_decode_pixels(fmt):
            raise RejectedUpload(_too_many_pixels_here(name, fmt, width, height))
        if getattr(image, "n_frames", 1) > 1:
            raise RejectedUpload(
                _("%(name)s: animated images are not supported; use a single frame.")
                % {"name": name}
            )
    file.seek(0)
    return Checked(fmt, width, height)


def _open(file: IO[bytes], name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns about decompression bombs below ~179 MP: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(file, formats=list(catalogue.REFERENCE_FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RejectedUpload(_too_many_pixels(name)) from None
    except Exception:  # Pillow raises many types for files that are not images
        raise RejectedUpload(
            _("%(name)s: not a JPEG, PNG or WEBP image (the content decides, not the file name).")
            % {"name": name}
        ) from None


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}×{height})" if width and height else ""
    return _(
        "%(name)s%(size)s: too large in pixels; at most %(pixels)s pixels and %(edge)s px a side."
    ) % {
        "name": name,
        "size": size,
        "pixels": grouped(catalogue.MAX_REFERENCE_PIXELS),
        "edge": grouped(catalogue.MAX_REFERENCE_EDGE),
    }


def _too_many_pixels_here(name: str, fmt: str, width: int, height: int) -> str:
    return _(
        "%(name)s (%(width)d×%(height)d): too large in pixels for a %(format)s reference; "
        "at most %(pixels)s pixels. Scale it down, or send it as JPEG."
    ) % {
        "name": name,
        "format": fmt,
        "width": width,
        "height": height,
        "pixels": grouped(max_decode_pixels(fmt)),
    }


@dataclass(frozen=True)
class Prepared:
    """An upload judged and re-encoded, in memory, ready to store."""

    sha256: str  # of the uploaded bytes: identical uploads are stored once
    format: str  # of the copy we serve (a WEBP upload is served as JPEG or PNG)
    width: int
    height: int
    content: IO[bytes]  # the copy we serve, re-encoded by us, no metadata (a temporary file)
    size: int
    thumbnail: bytes


def prepare(file: IO[bytes], name: str) -> Prepared:
    """Check an upload and make the copy we serve, with bounded memory and CPU.

    The pixels are decoded once, within MAX_DECODE_BYTES (JPEG at a reduced
    scale when larger), and saved anew with nothing but the pixels and the colour
    profile: no EXIF, GPS, camera data or text chunks, and never the uploaded bytes
    (a JPEG that is also an HTML page is served as the plain JPEG we wrote).
    """
    checked = check_image(file, name)
    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(CHUNK):
        digest.update(chunk)
    file.seek(0)
    image = _open(file, name)
    try:
        with image:
            if checked.format == "JPEG":
                image.draft(image.mode, _draft_size(checked.width, checked.height))
            try:
                image.load()  # truncated or damaged files fail here
            except Exception:
                raise RejectedUpload(
                    _("%(name)s: the image is damaged or incomplete; upload it again.")
                    % {"name": name}
                ) from None
            icc = image.info.get("icc_profile")
            if image.getexif().get(0x0112, 1) != 1:  # EXIF orientation: turn the pixels
                ImageOps.exif_transpose(image, in_place=True)
            # Pillow writes some of these back when saving (JPEG comments, XMP, EXIF):
            # keep only what the pixels need.
            keep = {"transparency"} if image.mode in ("1", "L", "P", "RGB", "I", "I;16") else set()
            image.info = {k: v for k, v in image.info.items() if k in keep}
            fmt, content = _encode(image, checked.format, icc)
            size = content.seek(0, io.SEEK_END)
            content.seek(0)
            width, height = image.size
            image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
            thumb = io.BytesIO()
            image.convert("RGB").save(thumb, "WEBP", quality=80)
    finally:
        file.seek(0)
    return Prepared(digest.hexdigest(), fmt, width, height, content, size, thumb.getvalue())


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask JPEG's draft mode for: the largest scale that fits the budget."""
    limit = max_decode_pixels("JPEG")
    for scale in (1, 2, 4, 8):
        w, h = -(-width // scale), -(-height // scale)
        if w * h <= limit:
            return w, h
    return -(-width // 8), -(-height // 8)


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> tuple[str, IO[bytes]]:
    """The served copy: only pixels (and the colour profile). A WEBP is served as JPEG
    (or PNG when it has transparency): libwebp's encoder needs another ~16 B a pixel."""
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    # Written to disk as it is made: the new file never sits in memory whole.
    buffer = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (returned)
    if fmt == "WEBP":
        fmt = "PNG" if "A" in image.mode else "JPEG"
    if fmt == "JPEG":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=92, **extra)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        # Fast compression: the copy is transient input for EvoLink; CPU is what counts.
        image.save(buffer, "PNG", compress_level=1, **extra)
    return fmt, buffer


def quota_bytes() -> int:
    return int(getattr(settings, "REFERENCE_QUOTA_MB", 500)) * 1024 * 1024


def used_bytes(user: User) -> int:
    rows = ReferenceImage.objects.filter(uploaded_by=user)
    return int(rows.aggregate(total=Sum("bytes"))["total"] or 0)


def store(file: IO[bytes], name: str, user: User | None = None) -> ReferenceImage:
    """Check and store one upload (or return the stored copy of identical content).

    Nothing is written before every check has passed; if the row cannot be saved,
    the files just written are deleted again (no orphans). `user` is charged the
    stored size against REFERENCE_QUOTA_MB.
    """
    prepared = prepare(file, name)
    try:
        return _store(prepared, name, user)
    finally:
        prepared.content.close()  # the temporary file of the new copy


def _store(prepared: Prepared, name: str, user: User | None) -> ReferenceImage:
    existing = ReferenceImage.objects.filter(sha256=prepared.sha256).first()
    if existing:
        # Uploaded again: it counts as fresh for the clean-up of unused uploads.
        ReferenceImage.objects.filter(pk=existing.pk).update(uploaded_at=timezone.now())
        return existing
    size = prepared.size + len(prepared.thumbnail)
    if user is not None and user.pk:
        used = used_bytes(user)
        if used + size > quota_bytes():
            raise RejectedUpload(
                _(
                    "%(name)s: your reference images use %(used).0f MB of your %(quota)d MB; "
                    "this one does not fit. Unused uploads are removed after a day."
                )
                % {
                    "name": name,
                    "used": used / (1024 * 1024),
                    "quota": quota_bytes() // (1024 * 1024),
                }
            )
    else:
        user = None
    reference = ReferenceImage(
        sha256=prepared.sha256,
        format=prepared.format,
        width=prepared.width,
        height=prepared.height,
        bytes=prepared.size,
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
    sha = prepared.sha256
    try:
        # Content-derived keys: never the user's file name.
        reference.file.save(f"{sha}.{reference.extension}", File(prepared.content), save=False)
        reference.thumbnail.save(f"{sha}.thumb.webp", ContentFile(prepared.thumbnail), save=False)
        with transaction.atomic():
            reference.save()
    except IntegrityError:
        # The same content arrived twice at once; the first row wins (its files may
        # carry the same names: delete only names that differ from the winner's).
        winner = ReferenceImage.objects.get(sha256=sha)
        _delete_files(reference, keep={winner.file.name, winner.thumbnail.name})
        return winner
    except BaseException:
        _delete_files(reference)
        raise
    return reference


def ensure_ours(reference: ReferenceImage) -> ReferenceImage:
    """Make sure what EvoLink gets is our re-encoded copy, never uploaded bytes.

    References stored before re-encoding existed still hold what was uploaded: they
    are re-encoded here, once, with the same bounded checks as an upload (called by
    the worker before it hands out a link). Raises RejectedUpload if the old file
    fails today's checks.
    """
    if reference.reencoded:
        return reference
    with reference.file.open("rb") as original:
        prepared = prepare(original, f"reference-{reference.pk}")
    old_name = reference.file.name
    try:
        name = f"{reference.sha256}.ours.{imageformats.BY_PILLOW[prepared.format].extension}"
        reference.file.save(name, File(prepared.content), save=False)
    finally:
        prepared.content.close()
    ReferenceImage.objects.filter(pk=reference.pk).update(
        file=reference.file.name,
        format=prepared.format,
        width=prepared.width,
        height=prepared.height,
        bytes=prepared.size,
        reencoded=True,
        files_api_url="",
        files_api_expires_at=None,
    )
    if old_name and old_name != reference.file.name:
        reference.file.storage.delete(old_name)
    reference.refresh_from_db()
    return reference


def _delete_files(reference: ReferenceImage, keep: Iterable[str] = ()) -> None:
    for field in (reference.file, reference.thumbnail):
        if field.name and field.name not in set(keep):
            try:
                field.storage.delete(field.name)
            except Exception:  # best effort: the daily clean-up sweeps what is left
                log.warning("could not delete %s", field.name, exc_info=True)


def store_bytes(data: bytes, name: str, user: User | None = None) -> ReferenceImage:
    return store(io.BytesIO(data), name, user)


def store_uploads(
    uploads: list[UploadedFile], user: User
) -> tuple[list[ReferenceImage], list[str]]:
    """Store a request's files one by one: each is accepted or named with its reason.

    A request stops working on files after UPLOAD_REQUEST_SECONDS (well before the
    web server's timeout would kill it mid-write) and names the files it left.
    """
    budget = float(getattr(settings, "REFERENCE_UPLOAD_REQUEST_SECONDS", 15))
    started = time.monotonic()
    stored: list[ReferenceImage] = []
    errors: list[str] = []
    for upload in uploads:
        if time.monotonic() - started > budget:
            errors.append(
                _("%(name)s: not processed, the upload took too long; send it again.")
                % {"name": upload.name}
            )
            continue
        try:
            stored.append(store(upload, upload.name or "", user))
        except RejectedUpload as rejected:
            errors.append(str(rejected))
    return stored, errors


def _thumbnail(file: IO[bytes]) -> bytes:
    return prepare(file, "image").thumbnail


# --- Clean-up -------------------------------------------------------------------------


def clean_unreferenced(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete uploads no job uses, last uploaded more than `older_than` ago, with their
    files; then files in references/ that no row names (left by a killed worker).
    Returns the number of rows deleted. Runs every hour (a django-q2 schedule, apps.py)."""
    cutoff = timezone.now() - older_than
    used = GenerationReference.objects.values("reference_id")
    stale = ReferenceImage.objects.filter(uploaded_at__lt=cutoff).exclude(pk__in=used)
    deleted = 0
    for reference in stale.iterator():
        with transaction.atomic():
            count, _kinds = (
                ReferenceImage.objects.filter(pk=reference.pk, uploaded_at__lt=cutoff)
                .exclude(pk__in=used)
                .delete()
            )
        if count:
            _delete_files(reference)
            deleted += 1
    _sweep_orphan_files(cutoff)
    return deleted


def _sweep_orphan_files(cutoff: datetime) -> None:
    storage = default_storage
    try:
        folders, _files = storage.listdir("references")
    except (FileNotFoundError, NotImplementedError):
        return
    for folder in folders:
        for filename in storage.listdir(f"references/{folder}")[1]:
            path = f"references/{folder}/{filename}"
            sha = filename.split(".", 1)[0]
            if ReferenceImage.objects.filter(sha256=sha).exists():
                continue
            try:
                if storage.get_modified_time(path) >= cutoff:
                    continue  # perhaps being stored right now
            except (NotImplementedError, OSError):
                continue
            storage.delete(path)


# --- Tokens the forms carry -------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    """A reference image attached to a form, and the job it was taken from ("Use as
    reference", "Edit this"), if any, for the new job's lineage."""

    image: ReferenceImage
    source_id: int | None = None


def form_token(
    reference: ReferenceImage, user: User, team: Team, *, source_id: int | None = None
) -> str:
    """A reference as a form carries it: signed for one person in one team, with the
    job it was taken from (`source_id`), when there is one."""
    value = {"r": reference.pk, "u": user.pk, "t": team.pk}
    if source_id:
        value["g"] = source_id
    return signing.dumps(value, salt=FORM_SALT, compress=True)


def from_tokens(tokens: Iterable[str], user: User, team: Team) -> list[Attached]:
    """The references a form names, in order, each with the job it came from (or None).

    Tokens of other people, or made in another team, are ignored: an image reaches a
    team only through someone who may see it there.
    """
    wanted: list[tuple[int, int | None]] = []
    for token in tokens:
        value = unsign(token)
        if value and value.get("u") == user.pk and value.get("t") == team.pk:
            wanted.append((value["r"], value.get("g")))
    found = ReferenceImage.objects.in_bulk([pk for pk, _source in wanted])
    return [Attached(found[pk], source) for pk, source in wanted if pk in found]


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
        return str(reference.file.url)
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
