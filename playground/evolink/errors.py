"""How EvoLink failures read: `EvoLinkError`, built from the table in codes.py.

The messages are English, marked with gettext_noop: they are stored as they are (on a
job, on a key) and read in each reader's language when shown (playground/stored_messages.py).

`ERRORS` maps each code (EvoLink's task failure codes, our names for HTTP statuses,
network and download problems) to a message a person understands and whether trying
again later may help. `error_from_response` and `parse_retry_after` turn an HTTP
error answer into an `EvoLinkError`; `upload_error` and `task_error` do the same for
a Files API refusal and a failed task. client.py uses these and re-exports them, so
`playground.evolink.client.EvoLinkError` and friends keep working.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
from django.utils.translation import gettext_noop

from playground.evolink.codes import ERRORS
from playground.evolink.codes import ErrorKind as ErrorKind  # re-exported for client.py

# Statuses after which repeating a *read* is safe and may help. EvoLink's own client
# retries 429, 502, 503 and network errors; 500 and 504 are added because a GET has
# no side effect.
_RETRYABLE_READ_STATUSES = frozenset({429, 500, 502, 503, 504})


# How an upload failure reads: the reason is the storage's own `msg` for a plain
# refusal, else the message of the matching code above.
UPLOAD_REFUSED = gettext_noop("EvoLink's file storage refused the reference image: %(reason)s")
UPLOAD_NO_REASON = gettext_noop("it gave no reason.")
UPLOAD_UNREACHABLE = gettext_noop(
    "Could not upload the reference image: EvoLink's file storage did not answer "
    "(network problem or the service is down). Try again in a moment."
)
UPLOAD_UNREADABLE = gettext_noop(
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
        request_id: str = "",
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
        # The answer's x-request-id (EvoLink support asks for it); "" when none came.
        self.request_id = request_id

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


# A pickled EvoLinkError names this function by module and name: moving or renaming it
# would make such pickles unreadable. (django-q stores a failed task's error as text
# and our tasks return strings, so no stored row holds one today.)
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
    code = refine_code(status, upstream_code or fallback, detail)
    # The message comes from our table when we know the upstream's code, else from
    # the status; the upstream's text is appended where it helps the person (400).
    # A 404's meaning depends on the call (task, file), so the caller's name wins there.
    kind = (
        ERRORS[fallback]
        if status == 404 and code != "model_not_found"
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
        request_id=response.headers.get("x-request-id", "")[:100],
    )


# INFERRED (reference, August 2026): a 402's code says which problem only for some
# variants; EvoLink's own clients read the message for the others. Checked in order.
_402_WORDS = (
    ("daily", "key_daily_quota_exceeded"),
    ("disabled", "key_disabled"),
    ("expired", "key_expired"),
    ("not allowed", "key_model_not_allowed"),
    ("access to model", "key_model_not_allowed"),
    ("token quota", "key_quota_exceeded"),
    ("key quota", "key_quota_exceeded"),
    ("credit limit", "key_quota_exceeded"),
)
_MODEL_NOT_FOUND = re.compile(r"model\b.*\bnot (?:found|exist|available|supported)", re.I | re.S)


def refine_code(status: int, code: str, detail: str) -> str:
    """Tell apart what one code covers: the 402 variants (account balance, a key's quota
    or daily quota, a disabled or expired key, a model the key may not use) and a 400
    that means the model itself is gone (EvoLink took gpt-image-1 offline)."""
    text = detail.lower()
    if status == 402 and code in ("insufficient_quota", "payment_required", "402"):
        return next((name for words, name in _402_WORDS if words in text), "insufficient_quota")
    model_gone = _MODEL_NOT_FOUND.search(detail) or "model_not_found" in text
    if status in (400, 404) and code in ("invalid_request", "not_found") and model_gone:
        return "model_not_found"
    return code


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


def upload_error(
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
        reason = said or UPLOAD_NO_REASON
    else:
        reason = ERRORS[code].message
        if code in ("insufficient_quota", "request_too_large") and said:
            # The storage has its own quota and size limit: its words say which.
            reason = f"{reason} ({said})"
    return EvoLinkError(
        code,
        UPLOAD_REFUSED % {"reason": reason},
        status=http_status,
        retryable=status in _RETRYABLE_READ_STATUSES,
        retry_after=retry_after,
        detail=msg,
    )


def task_error(error: Mapping[str, Any]) -> EvoLinkError:
    code = error.get("code")
    code = code.strip() if isinstance(code, str) and code.strip() else "unknown_error"
    return EvoLinkError.from_code(code, detail=str(error.get("message") or ""))
