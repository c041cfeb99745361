"""The only module that talks HTTP to EvoLink: create tasks, read them, download results.

The contract is in ../shared/evolink-api.md. Two rules shape everything here:

* Every POST creates, and charges, a task. `Client.create_task` therefore retries
  inline only when the upstream certainly created nothing (the connection was never
  established, or it answered 429). When the request may have reached EvoLink (a
  timeout after sending, a dropped connection, a 5xx, an unreadable 2xx) it raises
  `EvoLinkError(uncertain=True)` and never re-sends: the caller must reconcile.
* Every failure becomes one `EvoLinkError` that says, in a sentence a person
  understands, what happened and whether trying again later is safe and may help.
  The code -> message / retryable table is data (`ERRORS`) so it can be corrected in
  one place.

`Client.upload_file` puts a reference image on EvoLink's Files API (a separate host,
`settings.EVOLINK_FILES_BASE_URL`) for when EvoLink cannot fetch it from us; the
returned `UploadedFile.file_url` goes in `image_urls`. An upload costs nothing, so
unlike a create it is simply sent again on network errors, 429 and 5xx.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import math
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Self
from urllib.parse import quote, urljoin, urlsplit

import httpx

from playground.catalogue import FAILURE_CODES

logger = logging.getLogger(__name__)

CREATE_PATH = "/v1/images/generations"
TASK_PATH = "/v1/tasks/{id}"
CREDITS_PATH = "/v1/credits"
FILES_UPLOAD_PATH = "/api/v1/files/upload/stream"
DEFAULT_FILES_BASE_URL = "https://files-api.evolink.ai"
# VERIFIED: uploaded files expire after 72 h; used when an answer gives no expires_at.
FILES_TTL = timedelta(hours=72)

# A slow TCP handshake means the host is unreachable; a slow answer can be a busy
# upstream, so reads get more time than connects.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=5.0)
# An upload of up to 50 MB may take a while to send, and the storage answers only once
# it has the whole file.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0, pool=5.0)
USER_AGENT = "gpt-image-playground/0.1 (+httpx)"

TASK_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

# Statuses after which repeating a *read* is safe and may help. EvoLink's own client
# retries 429, 502, 503 and network errors; 500 and 504 are added because a GET has
# no side effect.
_RETRYABLE_READ_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_DOWNLOAD_REDIRECTS = 3


@dataclass(frozen=True)
class ErrorKind:
    message: str
    retryable: bool


def _failure(code: str, message: str) -> tuple[str, ErrorKind]:
    # Retry advice for task failure codes comes from the catalogue (EvoLink's docs),
    # so there is one table of truth for it.
    return code, ErrorKind(message, FAILURE_CODES[code])


ERRORS: dict[str, ErrorKind] = dict(
    [
        # --- Task failure codes (a task that ended with status "failed") -------------
        _failure(
            "content_policy_violation",
            "The content filter blocked this prompt. Try rephrasing; illustrated styles "
            "are blocked less often.",
        ),
        _failure(
            "invalid_parameters",
            "EvoLink rejected the request's parameters. Check the size, quality and "
            "number of images for this model.",
        ),
        _failure(
            "image_processing_error",
            "EvoLink could not download or decode a reference image. Each must be a "
            "directly downloadable JPEG, PNG or WebP file under 50 MB.",
        ),
        _failure(
            "image_dimension_mismatch",
            "The reference images' dimensions do not fit this request. Use images of "
            "matching sizes or pick another output size.",
        ),
        _failure(
            "resource_not_found",
            "Something the task needed was not found upstream (for example an expired "
            "reference file). Upload the references again.",
        ),
        _failure(
            "service_error",
            "EvoLink had an internal error while generating. Try again in a few minutes.",
        ),
        _failure(
            "generation_timeout",
            "The generation took too long and was stopped. Try again later; lower "
            "quality or smaller sizes finish faster.",
        ),
        _failure(
            "resource_exhausted",
            "EvoLink is out of capacity right now. Try again in a few minutes.",
        ),
        _failure(
            "quota_exceeded",
            "A usage quota was exceeded. Wait a while or raise the API key's limit, "
            "then try again.",
        ),
        _failure(
            "service_unavailable",
            "EvoLink's image service is temporarily unavailable. Try again in a few minutes.",
        ),
        _failure("request_cancelled", "The task was cancelled before it finished."),
        _failure(
            "generation_failed_no_content",
            "The model finished without producing an image. Trying again often works; "
            "rephrasing the prompt may help.",
        ),
        _failure(
            "unknown_error",
            "The generation failed for a reason EvoLink did not explain. Try again later.",
        ),
        # --- HTTP answers (names we give when the body carries no string code) -------
        (
            "invalid_request",
            ErrorKind("EvoLink rejected the request as invalid.", False),
        ),
        (
            "unauthorized",
            ErrorKind(
                "EvoLink did not accept the API key. Check that it is correct and active.",
                False,
            ),
        ),
        (
            "insufficient_quota",
            ErrorKind(
                "The EvoLink account does not have enough credits for this request, or the "
                "API key is disabled or expired. Top up or check the key, then try again.",
                False,
            ),
        ),
        (
            "forbidden",
            ErrorKind(
                "This API key is not allowed to use this model. Enable the model for the "
                "key in EvoLink's console or use another key.",
                False,
            ),
        ),
        (
            "not_found",
            ErrorKind("EvoLink has no such resource.", False),
        ),
        (
            "task_not_found",
            ErrorKind(
                "EvoLink has no task with this id for this API key: it may have expired, or "
                "it was created with another key.",
                False,
            ),
        ),
        (
            "request_too_large",
            ErrorKind(
                "The request is too large for EvoLink. Send fewer or smaller reference "
                "images or a shorter prompt.",
                False,
            ),
        ),
        (
            "rate_limited",
            ErrorKind(
                "EvoLink is rate-limiting this API key. Wait a little, then try again.",
                True,
            ),
        ),
        (
            "server_error",
            ErrorKind("EvoLink had an internal error. Try again in a few minutes.", True),
        ),
        (
            "bad_gateway",
            ErrorKind(
                "EvoLink's gateway could not reach its image service. Try again in a few minutes.",
                True,
            ),
        ),
        (
            "gateway_timeout",
            ErrorKind("EvoLink's gateway timed out. Try again in a few minutes.", True),
        ),
        (
            "http_error",
            ErrorKind("EvoLink answered with an unexpected HTTP status.", False),
        ),
        # --- Failures on our side of the wire ----------------------------------------
        (
            "network_error",
            ErrorKind(
                "Could not connect to EvoLink (network problem or the service is down). "
                "Nothing was sent; try again in a moment.",
                True,
            ),
        ),
        (
            "timeout",
            ErrorKind("EvoLink did not answer in time. Try again in a moment.", True),
        ),
        (
            "submission_uncertain",
            ErrorKind(
                "EvoLink may have received this request and created (and charged for) a "
                "task, but no usable answer came back. It was not sent again, to avoid "
                "paying twice: check EvoLink's task list before submitting it again.",
                False,
            ),
        ),
        (
            "invalid_response",
            ErrorKind("EvoLink answered with something that is not a valid task.", True),
        ),
        (
            "result_expired",
            ErrorKind(
                "The result image is no longer available: EvoLink keeps results for 24 hours only.",
                False,
            ),
        ),
        (
            "download_refused",
            ErrorKind(
                "The result URL was refused for safety (only public HTTPS addresses are "
                "fetched, without redirects to elsewhere).",
                False,
            ),
        ),
        (
            "download_not_image",
            ErrorKind("The result URL did not return an image.", False),
        ),
        (
            "download_too_large",
            ErrorKind("The result image is larger than this playground accepts.", False),
        ),
        # --- Files API (reference uploads) ------------------------------------------
        (
            "upload_refused",
            ErrorKind("EvoLink's file storage refused the reference image.", False),
        ),
    ]
)

# How an upload failure reads: the reason is the storage's own `msg` for a plain
# refusal, else the message of the matching code above.
UPLOAD_REFUSED = "EvoLink's file storage refused the reference image: {reason}"
UPLOAD_UNREACHABLE = (
    "Could not upload the reference image: EvoLink's file storage did not answer "
    "(network problem or the service is down). Try again in a moment."
)
UPLOAD_UNREADABLE = (
    "EvoLink's file storage accepted the reference image but its answer has no usable "
    "file URL. Try again in a moment."
)

# Our name for an HTTP status when the error body carries no string code.
HTTP_STATUS_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    402: "insufficient_quota",
    403: "forbidden",
    404: "not_found",
    413: "request_too_large",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class EvoLinkError(Exception):
    """A failed call or a failed task, with advice on what to do about it.

    `code` is EvoLink's string code when it sent one, else a name from `ERRORS`.
    `message` is for people; `detail` is the upstream's own text (often technical).
    `retryable`: the same call may succeed later and repeating it is safe.
    `uncertain`: a create that may have reached EvoLink (never re-send it blindly).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        uncertain: bool = False,
        detail: str = "",
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.uncertain = uncertain
        self.detail = detail
        self.param = param

    @classmethod
    def from_code(
        cls,
        code: str,
        *,
        status: int | None = None,
        detail: str = "",
        retryable: bool | None = None,
        **kwargs: Any,
    ) -> EvoLinkError:
        """Fill message and retryability from `ERRORS` (unknown codes read as unknown_error)."""
        kind = ERRORS.get(code) or ERRORS["unknown_error"]
        return cls(
            code,
            kind.message,
            status=status,
            retryable=kind.retryable if retryable is None else retryable,
            detail=detail,
            **kwargs,
        )

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields would be lost (and unpickling would fail) with the
        # default Exception pickling; job queues pickle exceptions.
        return (_rebuild_error, (self.code, self.message, dict(vars(self))))

    def __repr__(self) -> str:
        return (
            f"EvoLinkError(code={self.code!r}, status={self.status!r}, "
            f"retryable={self.retryable!r}, uncertain={self.uncertain!r})"
        )


def _rebuild_error(code: str, message: str, state: dict[str, Any]) -> EvoLinkError:
    error = EvoLinkError(code, message)
    error.__dict__.update(state)
    return error


def error_from_response(response: httpx.Response, *, not_found: str = "not_found") -> EvoLinkError:
    """Map an HTTP error answer to an EvoLinkError.

    The body is `{"error": {"code", "message", "type", "param"?}}`, where `code` is a
    string on some endpoints and the HTTP status (an integer) on others; proxies in
    between may answer with HTML or nothing at all, so every part is optional.
    """
    status = response.status_code
    upstream_code: str | None = None
    detail = ""
    param = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            if isinstance(error.get("code"), str) and error["code"].strip():
                upstream_code = error["code"].strip()
            detail = str(error.get("message") or "")
            param = error.get("param") if isinstance(error.get("param"), str) else None
        elif isinstance(body.get("message"), str):
            detail = body["message"]
    elif response.content:
        # Keep a short, single-line trace of a non-JSON body for the logs.
        detail = " ".join(response.text.split())[:200]

    fallback = not_found if status == 404 else HTTP_STATUS_CODES.get(status, "http_error")
    code = upstream_code or fallback
    # The message comes from our table when we know the upstream's code, else from
    # the status; the upstream's text is appended where it helps the person (400).
    # A 404's meaning depends on the call (task, file), so the caller's name wins there.
    kind = (
        ERRORS[fallback]
        if status == 404
        else ERRORS.get(code) or ERRORS.get(fallback) or ERRORS["http_error"]
    )
    message = kind.message
    if status in (400, 413) and detail:
        message = f"{message} {detail}"
    retryable = status in _RETRYABLE_READ_STATUSES
    return EvoLinkError(
        code,
        message,
        status=status,
        retryable=retryable,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        detail=detail,
        param=param,
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Task:
    """One task envelope as EvoLink returns it (create, GET and callback bodies alike)."""

    id: str
    status: str  # one of TASK_STATUSES, or whatever new value the upstream invents
    progress: int = 0
    results: tuple[str, ...] = ()
    model: str = ""
    created: int | None = None
    estimated_time: float | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    error: EvoLinkError | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        return self.status in ("failed", "cancelled")

    @classmethod
    def from_json(cls, data: Any) -> Task:
        """Parse an envelope; raises EvoLinkError("invalid_response") if it has no id."""
        if isinstance(data, Mapping) and "id" not in data and isinstance(data.get("data"), Mapping):
            data = data["data"]  # tolerate a {"data": {...}} wrapper
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not data["id"]:
            raise EvoLinkError.from_code("invalid_response", detail=repr(data)[:200])
        status = str(data.get("status") or "pending").lower()
        task_info = data.get("task_info") if isinstance(data.get("task_info"), Mapping) else {}
        raw_results = data.get("results") or []
        results = (
            tuple(url for url in raw_results if isinstance(url, str) and url)
            if isinstance(raw_results, list)
            else ()
        )
        error = None
        if isinstance(data.get("error"), Mapping):
            error = _task_error(data["error"])
        elif status == "failed":
            error = EvoLinkError.from_code("unknown_error")
        elif status == "cancelled":
            error = EvoLinkError.from_code("request_cancelled")
        usage = data.get("usage")
        return cls(
            id=data["id"],
            status=status,
            progress=_as_int(data.get("progress"), default=100 if status == "completed" else 0),
            results=results,
            model=str(data.get("model") or ""),
            created=_as_int(data.get("created"), default=None),
            estimated_time=_as_float(task_info.get("estimated_time")),
            usage=dict(usage) if isinstance(usage, Mapping) else {},
            error=error,
            raw=dict(data),
        )


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


def _upload_error(
    status: int, msg: str, *, http_status: int, retry_after: float | None = None
) -> EvoLinkError:
    """An upload failure: `status` is the envelope's code (else the HTTP status)."""
    # Only statuses whose sentence fits an upload keep their own code (403's is about
    # models, 400's says less than the storage's msg); the rest read as a refusal.
    code = HTTP_STATUS_CODES.get(status, "upload_refused")
    if code in ("invalid_request", "forbidden", "not_found"):
        code = "upload_refused"
    said = msg.strip()
    if said and said[-1] not in ".!?":
        said += "."
    if code == "upload_refused":
        reason = said or "it gave no reason."
    else:
        reason = ERRORS[code].message
        if code in ("insufficient_quota", "request_too_large") and said:
            # The storage has its own quota and size limit: its words say which.
            reason = f"{reason} ({said})"
    return EvoLinkError(
        code,
        UPLOAD_REFUSED.format(reason=reason),
        status=http_status,
        retryable=status in _RETRYABLE_READ_STATUSES,
        retry_after=retry_after,
        detail=msg,
    )


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
        msg = body.get("msg") if isinstance(body.get("msg"), str) else ""
        return _upload_error(status, msg, http_status=response.status_code, retry_after=retry_after)
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
    return _upload_error(
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


def _task_error(error: Mapping[str, Any]) -> EvoLinkError:
    code = error.get("code")
    code = code.strip() if isinstance(code, str) and code.strip() else "unknown_error"
    return EvoLinkError.from_code(code, detail=str(error.get("message") or ""))


def _as_int(value: Any, *, default: int | None) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class Client:
    """A synchronous EvoLink client. Use as a context manager, or call `close()`.

    `sleep` is injectable so callers (and tests) can control backoff waits.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if base_url is None:
            from django.conf import settings

            base_url = settings.EVOLINK_BASE_URL
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        # The key goes only on API calls, never in the client's default headers: result
        # URLs live on other hosts, which must not see it.
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            # Proxies from the environment would silently reroute paid calls, and a
            # redirect could carry the request (and key) to another host.
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- API calls --------------------------------------------------------------------

    def create_task(self, payload: Mapping[str, Any]) -> Task:
        """POST /v1/images/generations; see the module docstring for the retry rules."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.post(CREATE_PATH, json=dict(payload), headers=self._auth)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine: nothing was created upstream.
                error = EvoLinkError.from_code("network_error", detail=str(exc))
                if self._wait_before_retry(attempt, None):
                    continue
                raise error from exc
            except httpx.TransportError as exc:
                # Sent, at least in part, and no answer: the task may exist.
                logger.warning("EvoLink create: %s after sending; not retrying", type(exc).__name__)
                raise self._uncertain(None, f"{type(exc).__name__}: {exc}") from exc

            status = response.status_code
            if status == 429:
                # A 429 is a definite "no": safe to send again once the wait is over.
                error = error_from_response(response)
                if self._wait_before_retry(attempt, error.retry_after):
                    continue
                raise error
            if status >= 500:
                raise self._uncertain(status, error_from_response(response).detail)
            if status >= 300:
                raise error_from_response(response)
            try:
                return Task.from_json(response.json())
            except (ValueError, EvoLinkError) as exc:
                # A 2xx we cannot read probably did create a task we cannot name.
                raise self._uncertain(status, f"unreadable answer: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def get_task(self, task_id: str) -> Task:
        """GET /v1/tasks/{id}, retried inline on network errors, 429 and 5xx."""
        # Quoted so an odd id can never address another endpoint.
        path = TASK_PATH.format(id=quote(task_id, safe=""))
        data = self._read_json(path, not_found="task_not_found")
        return Task.from_json(data)

    def get_credits(self) -> dict[str, Any]:
        """GET /v1/credits -> the `data` part ({"user": {...}, "token": {...}})."""
        body = self._read_json(CREDITS_PATH)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise EvoLinkError.from_code("invalid_response", detail=repr(body)[:200])
        return dict(data)

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """Fetch one result image, at most `max_bytes`, retried on network errors and 5xx.

        Only https URLs on public addresses are fetched, plus anything on the base
        URL's own origin (the simulator); redirects are followed by hand, re-checking
        each hop.
        """
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._download_once(url, max_bytes)
            except EvoLinkError as error:
                if error.retryable and self._wait_before_retry(attempt, error.retry_after):
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

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

    # --- internals --------------------------------------------------------------------

    def _read_json(self, path: str, *, not_found: str = "not_found") -> Any:
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.get(path, headers=self._auth)
            except httpx.TimeoutException as exc:
                error = EvoLinkError.from_code("timeout", detail=str(exc))
            except httpx.TransportError as exc:
                error = EvoLinkError.from_code("network_error", detail=str(exc))
            else:
                if response.is_success:
                    try:
                        return response.json()
                    except ValueError:
                        error = EvoLinkError.from_code(
                            "invalid_response",
                            status=response.status_code,
                            detail=response.text[:200],
                        )
                else:
                    error = error_from_response(response, not_found=not_found)
            if error.retryable and self._wait_before_retry(attempt, error.retry_after):
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _download_once(self, url: str, max_bytes: int) -> bytes:
        current = url
        for _hop in range(_MAX_DOWNLOAD_REDIRECTS + 1):
            self._check_download_url(current)
            try:
                # No auth header: result files are public URLs, often on another host.
                with self._http.stream("GET", current, headers={"Accept": "image/*"}) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    if response.status_code in (403, 404, 410):
                        raise EvoLinkError.from_code("result_expired", status=response.status_code)
                    if not response.is_success:
                        response.read()
                        raise error_from_response(response)
                    content_type = response.headers.get("content-type", "")
                    if not content_type.lower().startswith("image/"):
                        raise EvoLinkError.from_code("download_not_image", detail=content_type)
                    declared = _as_int(response.headers.get("content-length"), default=None)
                    if declared is not None and declared > max_bytes:
                        raise EvoLinkError.from_code("download_too_large", detail=str(declared))
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise EvoLinkError.from_code("download_too_large", detail=f">{size}")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.TimeoutException as exc:
                raise EvoLinkError.from_code("timeout", detail=str(exc)) from exc
            except httpx.TransportError as exc:
                raise EvoLinkError.from_code("network_error", detail=str(exc)) from exc
        raise EvoLinkError.from_code("download_refused", detail="too many redirects")

    def _check_download_url(self, url: str) -> None:
        """Refuse URLs that could make this server fetch from its own network (SSRF)."""
        scheme, host, port = _origin(url)
        if (scheme, host, port) == _origin(self.base_url):
            return  # the configured upstream itself (the simulator serves results over http)
        if scheme != "https" or not host:
            raise EvoLinkError.from_code("download_refused", detail=url[:200])
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise EvoLinkError.from_code("network_error", detail=f"{host}: {exc}") from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                # Checked before connecting; a DNS answer that changes between this
                # check and the connect is not covered (acceptable for result URLs
                # returned by EvoLink itself).
                raise EvoLinkError.from_code("download_refused", detail=f"{host} -> {address}")

    def _wait_before_retry(self, attempt: int, retry_after: float | None) -> bool:
        """Sleep before the next attempt; False when no attempt is left or the wait is too long."""
        if attempt >= self.max_attempts:
            return False
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                # Sleeping less than the upstream asked would only earn another 429;
                # hand the wait to the caller (a scheduled job) instead.
                return False
            delay = retry_after
        else:
            # Exponential backoff with jitter so many workers do not retry in lockstep.
            delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)
        self._sleep(delay)
        return True

    @staticmethod
    def _uncertain(status: int | None, detail: str) -> EvoLinkError:
        return EvoLinkError.from_code(
            "submission_uncertain", status=status, detail=detail, uncertain=True, retryable=False
        )
