"""The contract check: does the EvoLink behind a key still answer as we rely on?

`run(api_key, base_url)` reads `GET /v1/credits` and asks for a task that does not
exist (both free), and with `spend=True` makes the cheapest documented job
(`CHEAPEST_JOB`: gpt-image-2, low, 1K, n = 1, about 0.11 credits), reads it to the end
and downloads its image. It answers a `Row` for every response field, header and
behaviour the playground relies on (EvoLink's API reference at docs.evolink.ai, as of
August 2026), each seen as expected, different or missing, with what was seen.

It never retries a create (a create is paid) and never raises for what EvoLink
answers: a refusal or a silence is a row. All HTTP goes through `client.Client`.
`manage.py evolink_check` and the "Check contract" button (playground/billing) run it.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext_noop
from PIL import Image

from playground import catalogue, imageformats, pricing
from playground.evolink.client import (
    CREATE_PATH,
    CREDITS_PATH,
    TASK_PATH,
    TASK_STATUSES,
    TERMINAL_STATUSES,
    Client,
    EvoLinkError,
    Exchange,
)

EXPECTED, DIFFERENT, MISSING = "expected", "different", "missing"
OUTCOMES = (EXPECTED, DIFFERENT, MISSING)

# The cheapest job EvoLink documents: 1776×592 px, 62 output tokens, 0.11383 credits.
CHEAPEST_JOB: dict[str, Any] = {
    "model": "gpt-image-2",
    "prompt": "A small blue circle on a white background (EvoLink contract check).",
    "quality": "low",
    "size": "3:1",
    "resolution": "1K",
    "n": 1,
}
CHEAPEST_ESTIMATE = pricing.estimate(
    catalogue.get_model("gpt-image-2"), quality="low", size="3:1", resolution="1K", n=1
).total_credits
# A charge this far from the estimate is reported: budgets and estimates rely on it.
ESTIMATE_TOLERANCE = Decimal("0.2")
# An id no task has, to see the shape of a task read's error for free.
UNKNOWN_TASK_ID = "task-unified-0000000000-contract"
MAX_IMAGE_BYTES = 64 * 1024 * 1024
READ_ERRORS_IN_A_ROW = 5

# What we rely on, in English, marked for translation (shown in the reader's language).
HTTP_200 = gettext_noop("HTTP 200")
HTTP_404 = gettext_noop("HTTP 404: no such task")
ANSWERED = gettext_noop("an answer")
NUMBER = gettext_noop("a number")
BOOLEAN = gettext_noop("true or false")
TRUE = gettext_noop("true")
STRING = gettext_noop("a non-empty string")
REQUEST_ID = gettext_noop("a request id for EvoLink's support")
TASK_ID = gettext_noop("a task id (task-…)")
TASK_OBJECT = gettext_noop("“image.generation.task”")
STATUS = gettext_noop("a documented status (pending, processing, completed, failed, cancelled)")
PROGRESS = gettext_noop("a whole number from 0 to 100")
MODEL = gettext_noop("“gpt-image-2”")
TIMESTAMP = gettext_noop("unix seconds")
STRING_CODE = gettext_noop("the string code “task_not_found”")
EVERY_READ = gettext_noop("HTTP 200 on every read")
STATUSES = gettext_noop("documented statuses only")
PROGRESS_ALWAYS = gettext_noop("a whole number from 0 to 100 on every read")
COMPLETED = gettext_noop("“completed” before the deadline")
RESULTS = gettext_noop("a list of image URLs")
CHARGE = gettext_noop("the charge in credits (usage.credits_used or usage.cost.credits)")
NEAR_ESTIMATE = gettext_noop("charged / estimated: close to our estimate (within 20 %)")
IMAGE = gettext_noop("an image we can download and open")


@dataclass(frozen=True)
class Row:
    """One thing we rely on, and what EvoLink did."""

    step: str  # the request, e.g. "GET /v1/credits" (never translated)
    field: str  # the field or header as EvoLink names it (never translated)
    expected: str  # one of the gettext_noop texts above
    outcome: str  # EXPECTED | DIFFERENT | MISSING
    seen: str = ""  # what arrived, shortened: data, never translated


@dataclass
class Result:
    rows: list[Row] = field(default_factory=list)
    task_id: str = ""
    request_ids: list[str] = field(default_factory=list)
    credits_used: Decimal | None = None
    image: bytes | None = field(default=None, repr=False)
    image_format: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.outcome == EXPECTED for row in self.rows)

    @property
    def differences(self) -> list[Row]:
        return [row for row in self.rows if row.outcome != EXPECTED]

    def as_dicts(self) -> list[dict[str, str]]:
        return [asdict(row) for row in self.rows]


_ABSENT = object()


def run(
    api_key: str,
    base_url: str,
    *,
    spend: bool = False,
    first_poll: float = 3.0,
    poll: float = 3.0,
    deadline: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    on_row: Callable[[Result], None] | None = None,
) -> Result:
    """Check the contract with this key; `on_row` sees the result grow (live pages)."""
    result = Result()
    check = _Recorder(result, on_row)
    with Client(api_key, base_url, max_attempts=1) as client:
        if not _credits(client, check):
            return result
        _unknown_task(client, check)
        if spend:
            task = _create(client, check)
            if task is not None:
                final = _read_to_the_end(client, check, task, first_poll, poll, deadline, sleep)
                if final is not None:
                    _archive(client, check, final)
    return result


class _Recorder:
    def __init__(self, result: Result, on_row: Callable[[Result], None] | None) -> None:
        self.result = result
        self.on_row = on_row

    def row(self, step: str, name: str, expected: str, outcome: str, seen: Any = "") -> None:
        self.result.rows.append(Row(step, name, expected, outcome, _short(seen)))
        if self.on_row is not None:
            self.on_row(self.result)

    def value(
        self, step: str, body: Any, path: str, expected: str, ok: Callable[[Any], bool]
    ) -> Any:
        """One field of a JSON body: expected when `ok(value)`, else different or missing."""
        value = _at(body, path)
        if value is _ABSENT:
            self.row(step, path, expected, MISSING)
            return None
        self.row(step, path, expected, EXPECTED if ok(value) else DIFFERENT, value)
        return value

    def status(self, step: str, exchange: Exchange, wanted: int, expected: str) -> bool:
        ok = exchange.status == wanted
        seen = f"HTTP {exchange.status}"
        if not ok:
            seen += f" {_error_summary(exchange.body)}"
        self.row(step, "HTTP status", expected, EXPECTED if ok else DIFFERENT, seen)
        return ok

    def request_id(self, step: str, exchange: Exchange) -> None:
        request_id = exchange.headers.get("x-request-id", "")
        if request_id:
            self.result.request_ids.append(request_id)
            self.row(step, "x-request-id", REQUEST_ID, EXPECTED, request_id)
        else:
            self.row(step, "x-request-id", REQUEST_ID, MISSING)

    def silence(self, step: str, error: EvoLinkError) -> None:
        self.row(step, "HTTP status", ANSWERED, MISSING, f"{error.code}: {error.detail}")


def _credits(client: Client, check: _Recorder) -> bool:
    """GET /v1/credits; False when the key or the host answers nothing usable."""
    step = f"GET {CREDITS_PATH}"
    try:
        answer = client.exchange("GET", CREDITS_PATH)
    except EvoLinkError as error:
        check.silence(step, error)
        return False
    if not check.status(step, answer, 200, HTTP_200):
        return False  # a refused key: nothing further can be checked with it
    check.value(step, answer.body, "success", TRUE, lambda v: v is True)
    for path in (
        "data.user.remaining_credits",
        "data.user.used_credits",
        "data.token.remaining_credits",
        "data.token.used_credits",
    ):
        check.value(step, answer.body, path, NUMBER, _is_number)
    check.value(
        step, answer.body, "data.token.unlimited_credits", BOOLEAN, lambda v: isinstance(v, bool)
    )
    return True


def _unknown_task(client: Client, check: _Recorder) -> None:
    """A task read that finds nothing: the error body's shape and the request id, free."""
    step = "GET /v1/tasks/{unknown id}"
    try:
        answer = client.exchange("GET", TASK_PATH.format(id=UNKNOWN_TASK_ID))
    except EvoLinkError as error:
        check.silence(step, error)
        return
    check.status(step, answer, 404, HTTP_404)
    check.request_id(step, answer)
    check.value(step, answer.body, "error.code", STRING_CODE, lambda v: v == "task_not_found")
    check.value(step, answer.body, "error.message", STRING, _is_text)
    check.value(step, answer.body, "error.type", STRING, _is_text)


def _create(client: Client, check: _Recorder) -> str | None:
    """The one paid request, sent once. The task id, or None when there is none to read."""
    step = f"POST {CREATE_PATH}"
    # Harmless where it is ignored; where it is honoured, a proxy's retry stays one task.
    headers = {"Idempotency-Key": f"contract-check-{uuid.uuid4().hex}"}
    try:
        answer = client.exchange("POST", CREATE_PATH, json=CHEAPEST_JOB, headers=headers)
    except EvoLinkError as error:
        # It may have been created (and charged) all the same: never sent again.
        check.silence(step, error)
        return None
    check.request_id(step, answer)
    if not check.status(step, answer, 200, HTTP_200):
        return None
    body = answer.body
    task_id = check.value(step, body, "id", TASK_ID, lambda v: _is_text(v) and v.startswith("task"))
    check.value(step, body, "object", TASK_OBJECT, lambda v: v == "image.generation.task")
    check.value(step, body, "status", STATUS, lambda v: v in TASK_STATUSES)
    check.value(step, body, "progress", PROGRESS, _is_progress)
    check.value(step, body, "model", MODEL, lambda v: v == "gpt-image-2")
    check.value(step, body, "created", TIMESTAMP, lambda v: _is_number(v) and v > 1_600_000_000)
    check.value(step, body, "task_info.estimated_time", NUMBER, _is_number)
    check.value(step, body, "usage.credits_reserved", NUMBER, _is_number)
    if not _is_text(task_id):
        return None
    check.result.task_id = task_id
    return str(task_id)


def _read_to_the_end(
    client: Client,
    check: _Recorder,
    task_id: str,
    first_poll: float,
    poll: float,
    deadline: float,
    sleep: Callable[[float], None],
) -> Any:
    """Read the task until it ends (reads are free, so errors are read through)."""
    step = "GET /v1/tasks/{id}"
    path = TASK_PATH.format(id=quote(task_id, safe=""))
    ends_at = time.monotonic() + deadline
    answers: list[str] = []
    statuses: list[str] = []
    progress: list[int] = []
    odd_progress: list[Any] = []
    body: Any = None
    errors_in_a_row = 0
    sleep(first_poll)
    while True:
        try:
            answer = client.exchange("GET", path)
        except EvoLinkError as error:
            answers.append(error.code)
            errors_in_a_row += 1
        else:
            answers.append(str(answer.status))
            errors_in_a_row = 0 if answer.status == 200 else errors_in_a_row + 1
            if answer.status == 200 and isinstance(answer.body, Mapping):
                body = answer.body
                status = body.get("status")
                if not statuses or statuses[-1] != status:
                    statuses.append(str(status))
                if _is_progress(body.get("progress")):
                    progress.append(body["progress"])
                else:
                    odd_progress.append(body.get("progress"))
                if status in TERMINAL_STATUSES:
                    break
        if errors_in_a_row >= READ_ERRORS_IN_A_ROW or time.monotonic() >= ends_at:
            break
        sleep(poll)

    reads = ", ".join(f"{code} ×{answers.count(code)}" for code in dict.fromkeys(answers))
    all_ok = all(code == "200" for code in answers)
    check.row(step, "HTTP status", EVERY_READ, EXPECTED if all_ok else DIFFERENT, reads)
    known = all(status in TASK_STATUSES for status in statuses)
    check.row(step, "status", STATUSES, EXPECTED if known else DIFFERENT, " → ".join(statuses))
    if odd_progress:
        check.row(step, "progress", PROGRESS_ALWAYS, DIFFERENT, odd_progress[:3])
    else:
        seen = f"{min(progress)}–{max(progress)}" if progress else ""
        check.row(step, "progress", PROGRESS_ALWAYS, EXPECTED if progress else MISSING, seen)
    final = statuses[-1] if statuses else None
    if final is None:
        check.row(step, "status", COMPLETED, MISSING)
        return None
    if final != "completed":
        seen = final if final not in TERMINAL_STATUSES else f"{final} {_task_error(body)}"
        check.row(step, "status", COMPLETED, DIFFERENT, seen)
        return None
    check.row(step, "status", COMPLETED, EXPECTED, final)
    results = _at(body, "results")
    if results is _ABSENT:
        check.row(step, "results", RESULTS, MISSING)
    else:
        urls_ok = isinstance(results, list) and bool(results) and all(map(_is_url, results))
        check.row(step, "results", RESULTS, EXPECTED if urls_ok else DIFFERENT, results)
    _charge(check, step, body)
    return body


def _charge(check: _Recorder, step: str, body: Any) -> None:
    """usage.credits_used, else usage.cost.credits: what the job cost."""
    for path in ("usage.credits_used", "usage.cost.credits"):
        value = _at(body, path)
        if value is not _ABSENT:
            break
    else:
        check.row(step, "usage.credits_used | usage.cost.credits", CHARGE, MISSING)
        return
    charged = _decimal(value)
    check.row(step, path, CHARGE, EXPECTED if charged is not None else DIFFERENT, value)
    if charged is None:
        return
    check.result.credits_used = charged
    near = abs(charged - CHEAPEST_ESTIMATE) <= CHEAPEST_ESTIMATE * ESTIMATE_TOLERANCE
    seen = f"{charged} / {CHEAPEST_ESTIMATE}"
    check.row(step, path, NEAR_ESTIMATE, EXPECTED if near else DIFFERENT, seen)


def _archive(client: Client, check: _Recorder, body: Any) -> None:
    """Download the first image as the jobs do, and open it."""
    step = "GET results[0]"
    results = _at(body, "results")
    if not isinstance(results, list) or not results or not _is_url(results[0]):
        check.row(step, "image", IMAGE, MISSING)
        return
    try:
        data = client.download(results[0], max_bytes=MAX_IMAGE_BYTES)
        with Image.open(io.BytesIO(data), formats=imageformats.PILLOW_NAMES) as image:
            image.load()
            fmt, (width, height) = image.format or "", image.size
    except EvoLinkError as error:
        check.row(step, "image", IMAGE, DIFFERENT, f"{error.code}: {error.detail}")
        return
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        check.row(step, "image", IMAGE, DIFFERENT, f"{type(error).__name__}: {error}")
        return
    check.result.image, check.result.image_format = data, fmt
    check.row(step, "image", IMAGE, EXPECTED, f"{fmt} {width}×{height}, {len(data):,} bytes")


# --- reading JSON ------------------------------------------------------------------------


def _at(body: Any, path: str) -> Any:
    """The value at a dotted path, or _ABSENT."""
    value = body
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_progress(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


def _decimal(value: Any) -> Decimal | None:
    if not _is_number(value) and not isinstance(value, str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _error_summary(body: Any) -> str:
    code, message = _at(body, "error.code"), _at(body, "error.message")
    parts = [repr(part) for part in (code, message) if part is not _ABSENT]
    return " ".join(parts)


def _task_error(body: Any) -> str:
    code = _at(body, "error.code")
    return "" if code is _ABSENT else str(code)


def _short(value: Any, limit: int = 160) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, Sequence | Mapping) or value is None or isinstance(value, bool):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
