"""Where we talk HTTP to EvoLink: create tasks, read them, download results.

This module and files.py (the Files API, inherited by `Client` from `FilesMixin`) are
the only ones that make requests to EvoLink; everything else goes through `Client`.

The contract is EvoLink's API reference (docs.evolink.ai, as of August 2026), whose
models, limits and error codes catalogue.py and codes.py restate. Two rules shape
everything here:

* Every POST creates, and charges, a task. `Client.create_task` therefore retries
  inline only when the upstream certainly created nothing (the connection was never
  established, or it answered 429). When the request may have reached EvoLink (a
  timeout after sending, a dropped connection, a 5xx, an unreadable 2xx) it raises
  `EvoLinkError(uncertain=True)` and never re-sends: the caller must reconcile.
* Every failure becomes one `EvoLinkError` that says, in a sentence a person
  understands, what happened and whether trying again later is safe and may help.
  The code -> message / retryable table is data (`ERRORS`, in errors.py) so it can
  be corrected in one place.

`Client.upload_file` puts a reference image on EvoLink's Files API (a separate host,
`settings.EVOLINK_FILES_BASE_URL`) for when EvoLink cannot fetch it from us; the
returned `UploadedFile.file_url` goes in `image_urls`. An upload costs nothing, so
unlike a create it is simply sent again on network errors, 429 and 5xx. It lives in
files.py (its own host and answers); its names are re-exported here.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import re
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Self, overload
from urllib.parse import quote, urljoin, urlsplit

import certifi
import httpx

from playground.evolink.errors import (
    ERRORS,
    HTTP_STATUS_CODES,
    UPLOAD_REFUSED,
    UPLOAD_UNREACHABLE,
    UPLOAD_UNREADABLE,
    ErrorKind,
    EvoLinkError,
    error_from_response,
    parse_retry_after,
    task_error,
)
from playground.evolink.files import (
    DEFAULT_FILES_BASE_URL,
    FILES_TTL,
    FILES_UPLOAD_PATH,
    UPLOAD_TIMEOUT,
    FilesMixin,
    UploadedFile,
)

# The public interface, including what moved to errors.py and files.py and is
# re-exported here (callers use evolink.EvoLinkError, evolink.ERRORS, ...).
__all__ = [
    "CREATE_PATH",
    "CREDITS_PATH",
    "DEFAULT_FILES_BASE_URL",
    "DEFAULT_TIMEOUT",
    "ERRORS",
    "FILES_TTL",
    "FILES_UPLOAD_PATH",
    "HTTP_STATUS_CODES",
    "IDEMPOTENCY_KEY",
    "TASK_PATH",
    "TASK_STATUSES",
    "TERMINAL_STATUSES",
    "UPLOAD_REFUSED",
    "UPLOAD_TIMEOUT",
    "UPLOAD_UNREACHABLE",
    "UPLOAD_UNREADABLE",
    "USER_AGENT",
    "Client",
    "ErrorKind",
    "EvoLinkError",
    "Exchange",
    "Task",
    "UploadedFile",
    "error_from_response",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

CREATE_PATH = "/v1/images/generations"
# The Idempotency-Key header's shape (issue 18: 16-96 characters of [A-Za-z0-9._-]).
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._-]{16,96}")
TASK_PATH = "/v1/tasks/{id}"
CREDITS_PATH = "/v1/credits"

# A slow TCP handshake means the host is unreachable; a slow answer can be a busy
# upstream, so reads get more time than connects.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=5.0)
USER_AGENT = "gpt-image-playground/0.1 (+httpx)"

TASK_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

_MAX_DOWNLOAD_REDIRECTS = 3


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
    request_id: str = ""  # the answer's x-request-id (not part of the body)

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
        task_info = data.get("task_info")
        if not isinstance(task_info, Mapping):
            task_info = {}
        raw_results = data.get("results") or []
        results = (
            tuple(url for url in raw_results if isinstance(url, str) and url)
            if isinstance(raw_results, list)
            else ()
        )
        error = None
        if isinstance(data.get("error"), Mapping):
            error = task_error(data["error"])
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
class Exchange:
    """One answer as it came (status, headers with lower-case names, JSON or None)."""

    status: int
    headers: Mapping[str, str]
    body: Any


def _request_id(response: httpx.Response) -> str:
    return str(response.headers.get("x-request-id", ""))[:100]


@overload
def _as_int(value: object, *, default: int) -> int: ...
@overload
def _as_int(value: object, *, default: None) -> int | None: ...
def _as_int(value: Any, *, default: int | None) -> int | None:
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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, shared by every client (it is thread-safe): building
    one loads the whole CA bundle, ~10 ms of CPU that each job's submit and archive
    used to pay again (the busiest cost of the poller at 1,000 jobs in flight)."""
    return ssl.create_default_context(cafile=certifi.where())


class Client(FilesMixin):
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
            verify=tls_context(),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- API calls --------------------------------------------------------------------

    def create_task(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Task:
        """POST /v1/images/generations; see the module docstring for the retry rules.

        `idempotency_key` goes out as the `Idempotency-Key` header, as EvoLink's own
        client sends it: stable per upstream task (jobs derive it from what they stored
        before sending, so a later retry of the same task sends the same key; without
        one, a fresh key covers this call's own retries). Whether EvoLink replays on it
        is undocumented, so the retry rules above do not lean on it."""
        if idempotency_key is None:
            idempotency_key = f"req-{uuid.uuid4().hex}"
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValueError("an Idempotency-Key is 16-96 characters of [A-Za-z0-9._-]")
        headers = {**self._auth, "Idempotency-Key": idempotency_key}
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.post(CREATE_PATH, json=dict(payload), headers=headers)
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
            request_id = _request_id(response)
            if status >= 500:
                error = self._uncertain(status, error_from_response(response).detail)
                error.request_id = request_id
                raise error
            if status >= 300:
                raise error_from_response(response)
            try:
                return replace(Task.from_json(response.json()), request_id=request_id)
            except (ValueError, EvoLinkError) as exc:
                # A 2xx we cannot read probably did create a task we cannot name.
                error = self._uncertain(status, f"unreadable answer: {exc}")
                error.request_id = request_id
                raise error from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def get_task(self, task_id: str) -> Task:
        """GET /v1/tasks/{id}, retried inline on network errors, 429 and 5xx."""
        # Quoted so an odd id can never address another endpoint.
        path = TASK_PATH.format(id=quote(task_id, safe=""))
        seen: list[str] = []
        data = self._read_json(path, not_found="task_not_found", request_ids=seen)
        return replace(Task.from_json(data), request_id=seen[-1] if seen else "")

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

    def exchange(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Exchange:
        """One request, sent once, answered raw: for the contract check (contract.py),
        which inspects what the typed calls hide. Network errors raise EvoLinkError."""
        sent = {**self._auth, **(headers or {})}
        try:
            response = self._http.request(method, path, json=json, headers=sent)
        except httpx.TransportError as exc:
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "network_error"
            raise EvoLinkError.from_code(code, detail=f"{type(exc).__name__}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None  # not JSON: the check says so
        return Exchange(response.status_code, dict(response.headers.items()), body)

    # --- internals --------------------------------------------------------------------

    def _read_json(
        self, path: str, *, not_found: str = "not_found", request_ids: list[str] | None = None
    ) -> Any:
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.get(path, headers=self._auth)
                if request_ids is not None:
                    request_ids.append(_request_id(response))
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
