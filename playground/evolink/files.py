"""EvoLink's Files API: put a reference image on EvoLink's storage, get a URL back.

For when EvoLink cannot fetch a reference image from us: `Client.upload_file` (defined
here, in `FilesMixin`, and inherited by `client.Client`) streams the file to
`{files_base_url}/api/v1/files/upload/stream`, a separate host
(`settings.EVOLINK_FILES_BASE_URL`), and the returned `UploadedFile.file_url` goes in
`image_urls`. An upload costs nothing, so unlike a create it is simply sent again on
network errors, 429 and 5xx. Its answers have their own envelope
(`{success, code, msg, data}`, even on errors), read by `_upload_result`.

With client.py, this is the one place that talks HTTP to EvoLink: it is a part of the
client (same key, same httpx session, same retry rules), kept in its own module only
because the Files API is a separate service with its own answers. Import the names
from client.py, which re-exports them, or from here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from playground.evolink.errors import (
    UPLOAD_UNREACHABLE,
    UPLOAD_UNREADABLE,
    EvoLinkError,
    error_from_response,
    parse_retry_after,
    upload_error,
)

logger = logging.getLogger(__name__)

FILES_UPLOAD_PATH = "/api/v1/files/upload/stream"
DEFAULT_FILES_BASE_URL = "https://files-api.evolink.ai"
# VERIFIED: uploaded files expire after 72 h; used when an answer gives no expires_at.
FILES_TTL = timedelta(hours=72)

# An upload of up to 50 MB may take a while to send, and the storage answers only once
# it has the whole file.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0, pool=5.0)


@dataclass(frozen=True)
class UploadedFile:
    """A reference image stored on EvoLink's Files API: put `file_url` in `image_urls`."""

    file_url: str
    expires_at: datetime | None  # timezone-aware
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadedFile:
        """Parse the `data` part of a successful upload; ValueError if it has no file URL."""
        file_url = data.get("file_url")
        if not isinstance(file_url, str) or urlsplit(file_url).scheme not in ("http", "https"):
            raise ValueError(f"no file_url in {data!r:.200}")
        expires_at = _parse_time(data.get("expires_at"))
        if expires_at is None:
            # EvoLink documents the expiry (72 h); the field itself may be missing.
            expires_at = datetime.now(UTC) + FILES_TTL
        return cls(file_url=file_url, expires_at=expires_at, raw=dict(data))


def _parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (any offset; naive read as UTC) or unix seconds, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _upload_result(response: httpx.Response) -> UploadedFile | EvoLinkError:
    """Read a Files API answer: envelope `{success, code, msg, data}`, even on errors."""
    try:
        body = response.json()
    except ValueError:
        body = None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if isinstance(body, Mapping) and "success" in body:
        if body.get("success") is True and response.is_success:
            data = body.get("data")
            try:
                if not isinstance(data, Mapping):
                    raise ValueError(f"no data in {body!r:.200}")
                return UploadedFile.from_json(data)
            except ValueError as exc:
                return EvoLinkError(
                    "invalid_response",
                    UPLOAD_UNREADABLE,
                    status=response.status_code,
                    retryable=True,
                    detail=str(exc),
                )
        # The HTTP status may be 200 on a failure: the envelope's code is what counts.
        code = body.get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else response.status_code
        if status < 400:
            status = 400  # success=false with no usable code: a refusal all the same
        msg = body.get("msg")
        if not isinstance(msg, str):
            msg = ""
        return upload_error(status, msg, http_status=response.status_code, retry_after=retry_after)
    if response.is_success:
        return EvoLinkError(
            "invalid_response",
            UPLOAD_UNREADABLE,
            status=response.status_code,
            retryable=True,
            detail=" ".join(response.text.split())[:200],
        )
    # No envelope: a proxy's page, or the API host's {"error": ...} shape.
    error = error_from_response(response)
    return upload_error(
        response.status_code,
        error.detail,
        http_status=response.status_code,
        retry_after=retry_after,
    )


def _seekable(file: BinaryIO) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _files_base_url() -> str:
    from django.conf import settings

    if not settings.configured:
        return DEFAULT_FILES_BASE_URL
    return getattr(settings, "EVOLINK_FILES_BASE_URL", None) or DEFAULT_FILES_BASE_URL


class FilesMixin:
    """The Files API part of `client.Client` (its state is set up in client.py)."""

    _http: httpx.Client
    _auth: dict[str, str]
    max_attempts: int

    def _wait_before_retry(self, attempt: int, retry_after: float | None) -> bool:
        raise NotImplementedError  # client.Client's: the one backoff for every request

    def upload_file(
        self,
        file: BinaryIO,
        *,
        filename: str,
        content_type: str,
        files_base_url: str | None = None,
    ) -> UploadedFile:
        """POST {files_base_url}/api/v1/files/upload/stream (multipart field `file`).

        The file is streamed, not read into memory, and rewound before each attempt;
        network errors, 429 and 5xx are retried with the usual backoff (an upload
        costs nothing, so sending it twice is harmless). A file that cannot be
        rewound is sent once. `files_base_url` defaults to
        settings.EVOLINK_FILES_BASE_URL, else https://files-api.evolink.ai.
        """
        base = (files_base_url or _files_base_url()).rstrip("/")
        url = base + FILES_UPLOAD_PATH
        rewindable = _seekable(file)
        attempts = self.max_attempts if rewindable else 1
        for attempt in range(1, attempts + 1):
            if rewindable:
                file.seek(0)
            try:
                # An absolute URL: the Files API is on its own host, not base_url. It
                # gets the same key (it is EvoLink's), and redirects stay off.
                response = self._http.post(
                    url,
                    files={"file": (filename, file, content_type)},
                    headers=self._auth,
                    timeout=UPLOAD_TIMEOUT,
                )
            except httpx.TransportError as exc:
                code = "timeout" if isinstance(exc, httpx.TimeoutException) else "network_error"
                result: UploadedFile | EvoLinkError = EvoLinkError(
                    code,
                    UPLOAD_UNREACHABLE,
                    retryable=True,
                    detail=f"{type(exc).__name__}: {exc}",
                )
            else:
                result = _upload_result(response)
            if isinstance(result, UploadedFile):
                return result
            if (
                result.retryable
                and result.code != "invalid_response"  # an odd 2xx is not retried blindly
                and attempt < attempts
                and self._wait_before_retry(attempt, result.retry_after)
            ):
                logger.info("EvoLink upload: %s, trying again", result.code)
                continue
            raise result
        raise AssertionError("unreachable")  # pragma: no cover
