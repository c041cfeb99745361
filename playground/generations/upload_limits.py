"""Limits on what one request may upload (reference images and masks alike), applied
while Django reads the request: each file past 50 MB is stopped and skipped, and so is
every file past REFERENCE_UPLOAD_MAX_FILES; the page then says which files and why.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.utils.translation import gettext as _

from playground import catalogue


class ReferenceSizeLimitHandler(FileUploadHandler):
    """First upload handler: stops reading a file once it passes the 50 MB limit, and
    skips every file past REFERENCE_UPLOAD_MAX_FILES in one request.

    The rest of such a file is skipped (not stored), and its name is remembered by
    this handler, one per request (`request.upload_handlers`), so the page can say
    which file was refused and why. (Django's own DATA_UPLOAD_MAX_NUMBER_FILES stays
    far above, as a backstop that answers 400.)
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.files_seen = 0
        self.oversized: list[str] = []  # names of files past the size limit
        self.excess: list[str] = []  # names of files past the per-request count

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.files_seen += 1
        self.over_count = self.files_seen > max_files_per_request()
        if self.over_count:
            self.excess.append(self.file_name or "")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if self.over_count:
            raise SkipFile
        self.received += len(raw_data)
        if self.received > catalogue.MAX_REFERENCE_BYTES:
            self.oversized.append(self.file_name or "")
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file


def _size_limit(request: HttpRequest) -> ReferenceSizeLimitHandler:
    """The request's own size-limit handler (FILE_UPLOAD_HANDLERS puts it first), which
    noted the files it refused while the upload was read."""
    for handler in request.upload_handlers:
        if isinstance(handler, ReferenceSizeLimitHandler):
            return handler
    return ReferenceSizeLimitHandler(request)  # not installed: it refused nothing


def max_files_per_request() -> int:
    return int(getattr(settings, "REFERENCE_UPLOAD_MAX_FILES", 20))


def oversized_names(request: HttpRequest) -> list[str]:
    """The names of the request's files the size limit stopped (masks use it too)."""
    return list(_size_limit(request).oversized)


def oversized_messages(request: HttpRequest) -> list[str]:
    handler = _size_limit(request)
    messages = [
        _("%(name)s: larger than %(max)d MB; each reference image may be at most %(max)d MB.")
        % {"name": name, "max": catalogue.MAX_REFERENCE_BYTES // (1024 * 1024)}
        for name in handler.oversized
    ]
    excess = handler.excess
    if excess:
        messages.append(
            _(
                "%(names)s: not uploaded; at most %(max)d files can be sent at once. "
                "Send them in another batch."
            )
            % {"names": ", ".join(excess), "max": max_files_per_request()}
        )
    return messages


def uploaded_files(request: HttpRequest, field: str) -> list[UploadedFile]:
    """The files of a request's field, without those past the per-request limit."""
    return request.FILES.getlist(field)[: max_files_per_request()]
