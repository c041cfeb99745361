"""An offline, EvoLink-compatible HTTP server for the demo, the tests and benchmarks.

It speaks the contract in ../shared/evolink-api.md: `POST /v1/images/generations`
(validated by `catalogue.request_errors`, priced by `pricing.estimate`),
`GET /v1/tasks/{id}` (pending -> processing -> completed | failed over
`task_seconds`), `GET /v1/credits`, and result images at `/files/<random>.png`
that expire `result_ttl` seconds after the task finished. Results are real PNGs at
the requested pixel size showing the prompt, in a colour derived from it.

It also plays EvoLink's Files API host (on the same port): `POST
/api/v1/files/upload/stream` takes one multipart `file` (JPEG, PNG or WebP that
Pillow decodes, at most 50 MB, streamed to a temporary folder) and answers the
`{success, code, msg, data}` envelope with `data.file_url` =
`<origin>/files-api/<random>.<ext>`, served without auth for `files_ttl` seconds
(default 72 h), then 404. Tasks fetch such URLs like any other reference.

Run it with `python manage.py simulate_evolink`, or in-process:

    sim = Simulator(port=0, task_seconds=0.3).start()
    ... sim.base_url ...
    sim.stop()

Any key starting with `sk-` is accepted unless `api_keys` is given. Tasks are
private to the key that created them (another key reads 404, as upstream).

Prompt directives (so a person can trigger faults from the UI):

    [fail:content_policy_violation]   the task fails with that code (any code in
                                      catalogue.FAILURE_CODES)
    [slow:30]                         the task takes 30 seconds
    [results:1]                       the task returns only 1 image, whatever `n` is

Fault injection, programmatic (methods of `Simulator`, each queues one-shot faults
consumed in order) and over HTTP (`POST /_simulator/faults` with one object or a
list, `{"fault": <name>, ...arguments}`):

    fail_creates(status, times, retry_after=, body=, content_type=)   "create_error"
        the next creates answer `status` (429, 500, 502, 503, ...) and create nothing
    drop_creates(times)                                               "create_drop"
        the task IS created, then the connection is closed without an answer
    delay_creates(seconds, times)                                     "create_delay"
        the task IS created, the answer is sent `seconds` later
    fail_reads(status, times, retry_after=, body=, content_type=)     "read_error"
    drop_reads(times)                                                 "read_drop"
        the same for `GET /v1/tasks/{id}`
    fail_tasks(code, times, message=)                                 "task_fail"
    slow_tasks(seconds, times)                                        "task_slow"
    limit_results(count, times)                                       "task_results"
        the next created tasks fail / take `seconds` / return fewer images
    fail_uploads(status, times, code=, msg=, retry_after=, body=,     "upload_error"
                 content_type=)
        the next uploads answer HTTP `status` with a `success: false` envelope
        whose code is `code` (default: `status`; e.g. status 200, code 500)
    drop_uploads(times)                                               "upload_drop"
        the next uploads are read, then the connection is closed unanswered
    set_credits(remaining)                                            "credits"
    expire_results()                                                  "expire_results"
    expire_uploads()                                                  "expire_uploads"
        every uploaded file answers 404 from now on

Inspection: `stats()` / `GET /_simulator/stats` (request counts per route, tasks
created, callback attempts, balance), `task(id)`, and `reset()` /
`POST /_simulator/reset`. The control routes have no authentication: bind the
simulator to loopback (the default) or disable them with `control=False`.
"""

from __future__ import annotations

import collections
import colorsys
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import string
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message
from email.parser import BytesHeaderParser
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

import httpx
from PIL import Image, ImageDraw, ImageFont

from playground import catalogue, pricing

logger = logging.getLogger(__name__)

DEFAULT_CREDITS = Decimal(10_000)
DEFAULT_API_KEY = "sk-evo-simulator"
MAX_BODY_BYTES = 1024 * 1024
UPLOAD_PATH = "/api/v1/files/upload/stream"
UPLOAD_ROUTE = f"POST {UPLOAD_PATH}"
DEFAULT_FILES_TTL = 72 * 3600.0  # VERIFIED: uploaded files expire after 72 h
# A 50 MB file plus the multipart framing around it.
MAX_UPLOAD_BODY_BYTES = catalogue.MAX_REFERENCE_BYTES + 64 * 1024
# Pillow format -> (MIME type, extension) of what the Files API accepts.
UPLOAD_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
# A refused upload is still read to its end, up to this much (see discard_body).
MAX_DISCARD_BYTES = 4 * MAX_UPLOAD_BODY_BYTES
_CHUNK = 64 * 1024
# gpt-image-2 `auto` lets the model choose; the simulator always picks a square.
AUTO_SIZE = (1024, 1024)
# INFERRED: EvoLink's examples show "per_call"; GPT Image is billed by tokens.
BILLING_RULE = "per_token"
USER_GROUP = "default"

# What the upstream says when a task fails (technical text, unlike evolink.ERRORS).
FAILURE_DETAILS = {
    "content_policy_violation": "Your request was rejected by the safety system.",
    "invalid_parameters": "Invalid parameters for this model.",
    "image_processing_error": "Failed to process the input image.",
    "image_dimension_mismatch": "Input image dimensions do not match.",
    "resource_not_found": "A referenced resource was not found.",
    "service_error": "Internal service error.",
    "generation_timeout": "Generation timed out.",
    "resource_exhausted": "Resources exhausted, please retry later.",
    "quota_exceeded": "Quota exceeded.",
    "service_unavailable": "Service temporarily unavailable.",
    "request_cancelled": "The request was cancelled.",
    "generation_failed_no_content": "Generation finished without content.",
    "unknown_error": "Unknown error.",
}

# Injected HTTP errors use the shapes seen in the wild: string codes, integer codes
# and a proxy's HTML page, so clients are exercised on all three.
_FAULT_BODIES: dict[int, tuple[str, str]] = {
    429: (
        "application/json",
        '{"error": {"code": "rate_limit_exceeded", '
        '"message": "Too many requests, please slow down.", "type": "rate_limit_error"}}',
    ),
    500: (
        "application/json",
        '{"error": {"code": "internal_error", '
        '"message": "Internal server error.", "type": "server_error"}}',
    ),
    502: (
        "text/html",
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><h1>502 Bad Gateway</h1></body></html>",
    ),
    503: (
        "application/json",
        '{"error": {"code": 503, '
        '"message": "Service temporarily unavailable.", "type": "server_error"}}',
    ),
}

_DIRECTIVE = re.compile(r"\[(fail|slow|results):\s*([\w.]+)\s*\]", re.IGNORECASE)
_TASK_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class _HttpFault:
    kind: str  # "error" | "drop" | "delay"
    status: int = 0
    retry_after: float | None = None
    body: str | None = None
    content_type: str | None = None
    delay: float = 0.0


@dataclass
class _Task:
    id: str
    key: str
    model: str
    prompt: str
    quality: str
    width: int
    height: int
    n: int
    result_count: int
    created: int
    started: float  # time.monotonic()
    duration: float
    reserved: Decimal
    image_urls: list[str]
    callback_url: str | None
    fail_code: str | None = None
    fail_message: str = ""
    status: str = "pending"  # set to completed / failed when it finishes
    files: list[str] = field(default_factory=list)
    credits_used: Decimal = Decimal(0)
    finished_at: float | None = None
    generation: int = 0


@dataclass
class _File:
    task_id: str
    index: int


@dataclass
class _Upload:
    path: str  # in the simulator's temporary folder
    mime_type: str
    size: int
    uploaded_at: float  # time.monotonic(); -inf once expired by expire_uploads()


class Simulator:
    """An EvoLink look-alike; thread-safe, all state in memory (lost on stop)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        task_seconds: float = 6.0,
        result_ttl: float = 86_400.0,
        files_ttl: float = DEFAULT_FILES_TTL,
        api_keys: Iterable[str] | None = None,
        credits: Decimal | float | int = DEFAULT_CREDITS,
        allow_http_callbacks: bool = False,
        callback_delays: tuple[float, ...] = (1.0, 2.0, 4.0),
        callback_timeout: float = 10.0,
        reference_timeout: float = 20.0,
        public_url: str | None = None,
        control: bool = True,
    ) -> None:
        self.host = host
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.allow_http_callbacks = allow_http_callbacks
        self.callback_delays = tuple(callback_delays)
        self.callback_timeout = callback_timeout
        self.reference_timeout = reference_timeout
        self.control = control
        self._defaults = {
            "task_seconds": float(task_seconds),
            "result_ttl": float(result_ttl),
            "files_ttl": float(files_ttl),
            "credits": Decimal(str(credits)),
        }
        # Uploads go to disk, not memory (up to 50 MB each); removed on stop().
        self._upload_dir = tempfile.TemporaryDirectory(prefix="evolink-sim-files-")
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._serving = False
        self._reset_state()
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        bound_host, bound_port = self._server.server_address[:2]
        self.port = int(bound_port)
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
        self.base_url = f"http://{shown}:{self.port}"
        self.public_url = (public_url or self.base_url).rstrip("/")

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> Simulator:
        """Serve in a background (daemon) thread; returns self."""
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="evolink-simulator",
            daemon=True,
        )
        self._serving = True
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop()` is called from another thread."""
        self._serving = True
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._stopping.set()
        if self._serving:
            # shutdown() waits for the serving loop to end: it would block forever if
            # none ever ran.
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._upload_dir.cleanup()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def api_key(self) -> str:
        """A key this simulator accepts."""
        return min(self.api_keys) if self.api_keys else DEFAULT_API_KEY

    def reset(self) -> None:
        """Forget tasks, files, faults and counters; restore the constructor's settings."""
        with self._lock:
            self._generation += 1  # running task threads see this and stand down
            uploads = list(self._uploads.values())
            self._reset_state()
        for upload in uploads:
            _unlink(upload.path)

    def _reset_state(self) -> None:
        self.task_seconds = self._defaults["task_seconds"]
        self.result_ttl = self._defaults["result_ttl"]
        self.files_ttl = self._defaults["files_ttl"]
        self._balance: Decimal = self._defaults["credits"]
        self._used = Decimal(0)
        self._used_by_key: dict[str, Decimal] = collections.defaultdict(Decimal)
        self._tasks: dict[str, _Task] = {}
        self._files: dict[str, _File] = {}
        self._uploads: dict[str, _Upload] = {}  # by file name ("<random>.<ext>")
        self._requests: collections.Counter[str] = collections.Counter()
        self._callbacks: list[dict[str, Any]] = []
        self._create_faults: collections.deque[_HttpFault] = collections.deque()
        self._read_faults: collections.deque[_HttpFault] = collections.deque()
        self._upload_faults: collections.deque[_HttpFault] = collections.deque()
        self._next_failures: collections.deque[tuple[str, str | None]] = collections.deque()
        self._next_durations: collections.deque[float] = collections.deque()
        self._next_result_counts: collections.deque[int] = collections.deque()

    # --- fault injection --------------------------------------------------------------

    def fail_creates(
        self,
        status: int = 503,
        times: int = 1,
        *,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` creates answer `status` before creating anything."""
        fault = _HttpFault("error", status, retry_after, body, content_type)
        with self._lock:
            self._create_faults.extend([fault] * times)

    def drop_creates(self, times: int = 1) -> None:
        """The next `times` creates make the task, then close the connection unanswered."""
        with self._lock:
            self._create_faults.extend([_HttpFault("drop")] * times)

    def delay_creates(self, seconds: float, times: int = 1) -> None:
        """The next `times` creates make the task, then answer `seconds` late."""
        with self._lock:
            self._create_faults.extend([_HttpFault("delay", delay=seconds)] * times)

    def fail_reads(
        self,
        status: int = 503,
        times: int = 1,
        *,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` task reads (`GET /v1/tasks/{id}`) answer `status`."""
        fault = _HttpFault("error", status, retry_after, body, content_type)
        with self._lock:
            self._read_faults.extend([fault] * times)

    def drop_reads(self, times: int = 1) -> None:
        with self._lock:
            self._read_faults.extend([_HttpFault("drop")] * times)

    def fail_uploads(
        self,
        status: int = 503,
        times: int = 1,
        *,
        code: int | None = None,
        msg: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` uploads answer HTTP `status` and store nothing.

        The body is the Files API's envelope, `success: false` with `code` (default:
        `status`), unless `body` is given: `fail_uploads(200, code=500)` is a failure
        behind a 200, as the Files API may send.
        """
        if body is None:
            envelope = _envelope_body(
                False, status if code is None else code, msg or "Injected error.", None
            )
            body, content_type = json.dumps(envelope), content_type or "application/json"
        fault = _HttpFault("error", status, retry_after, body, content_type)
        with self._lock:
            self._upload_faults.extend([fault] * times)

    def drop_uploads(self, times: int = 1) -> None:
        """The next `times` uploads are read, then the connection is closed unanswered."""
        with self._lock:
            self._upload_faults.extend([_HttpFault("drop")] * times)

    def fail_tasks(
        self, code: str = "content_policy_violation", times: int = 1, *, message: str | None = None
    ) -> None:
        """The next `times` created tasks fail with `code`."""
        with self._lock:
            self._next_failures.extend([(code, message)] * times)

    def slow_tasks(self, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._next_durations.extend([float(seconds)] * times)

    def limit_results(self, count: int, times: int = 1) -> None:
        """The next `times` tasks return at most `count` images (upstream often returns < n)."""
        with self._lock:
            self._next_result_counts.extend([int(count)] * times)

    def set_credits(self, remaining: Decimal | float | int) -> None:
        with self._lock:
            self._balance = Decimal(str(remaining))

    def expire_results(self) -> None:
        """Expire every finished task and its files now."""
        with self._lock:
            for task in self._tasks.values():
                if task.finished_at is not None:
                    task.finished_at = -math.inf

    def expire_uploads(self) -> None:
        """Expire every uploaded file now (its URL answers 404)."""
        with self._lock:
            for upload in self._uploads.values():
                upload.uploaded_at = -math.inf

    def apply_fault(self, spec: Mapping[str, Any]) -> None:
        """One fault from its JSON form (the HTTP control API)."""
        name = spec.get("fault")
        times = int(spec.get("times", 1))
        retry_after = spec.get("retry_after")
        http_args = {
            "retry_after": None if retry_after is None else float(retry_after),
            "body": spec.get("body"),
            "content_type": spec.get("content_type"),
        }
        if name == "create_error":
            self.fail_creates(int(spec.get("status", 503)), times, **http_args)
        elif name == "create_drop":
            self.drop_creates(times)
        elif name == "create_delay":
            self.delay_creates(float(spec["seconds"]), times)
        elif name == "read_error":
            self.fail_reads(int(spec.get("status", 503)), times, **http_args)
        elif name == "read_drop":
            self.drop_reads(times)
        elif name == "task_fail":
            code = str(spec.get("code", "content_policy_violation"))
            self.fail_tasks(code, times, message=spec.get("message"))
        elif name == "task_slow":
            self.slow_tasks(float(spec["seconds"]), times)
        elif name == "task_results":
            self.limit_results(int(spec["count"]), times)
        elif name == "credits":
            self.set_credits(Decimal(str(spec["remaining"])))
        elif name == "expire_results":
            self.expire_results()
        elif name == "upload_error":
            code = spec.get("code")
            self.fail_uploads(
                int(spec.get("status", 503)),
                times,
                code=None if code is None else int(code),
                msg=spec.get("msg"),
                **http_args,
            )
        elif name == "upload_drop":
            self.drop_uploads(times)
        elif name == "expire_uploads":
            self.expire_uploads()
        else:
            raise ValueError(f"unknown fault {name!r}")

    # --- inspection -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "tasks_created": len(self._tasks),
                "tasks": [
                    {
                        "id": t.id,
                        "status": self._status(t)[0],
                        "model": t.model,
                        # Wall-clock time the task finished, for benchmarks that
                        # measure what happens after the upstream is done.
                        "finished_at": None
                        if t.finished_at is None or t.finished_at == -math.inf
                        else time.time() - (time.monotonic() - t.finished_at),
                    }
                    for t in self._tasks.values()
                ],
                "callbacks": list(self._callbacks),
                "uploads": sum(not self._upload_expired(u) for u in self._uploads.values()),
                "credits": {
                    "remaining": float(self._balance),
                    "used": float(self._used),
                },
                "pending_faults": {
                    "create": len(self._create_faults),
                    "read": len(self._read_faults),
                    "upload": len(self._upload_faults),
                    "task_fail": len(self._next_failures),
                    "task_slow": len(self._next_durations),
                    "task_results": len(self._next_result_counts),
                },
            }

    def request_count(self, route: str) -> int:
        """Requests seen on a route such as "POST /v1/images/generations"."""
        with self._lock:
            return self._requests[route]

    @property
    def tasks_created(self) -> int:
        with self._lock:
            return len(self._tasks)

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._callbacks)

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task as its owner would read it (None if unknown)."""
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else self._envelope(task, self.public_url)

    # --- the API ----------------------------------------------------------------------

    def _accepts(self, key: str) -> bool:
        return key in self.api_keys if self.api_keys is not None else key.startswith("sk-")

    def handle_create(self, request: _Handler, key: str) -> None:
        with self._lock:
            fault = self._create_faults.popleft() if self._create_faults else None
        if fault is not None and fault.kind == "error":
            request.send_fault(fault)
            return

        payload = request.read_json()
        if not isinstance(payload, dict):
            request.send_error_json(
                400, "invalid_request", "The body must be a JSON object.", "invalid_request_error"
            )
            return
        errors = catalogue.request_errors(self._validation_view(payload))
        if errors:
            field_name, messages = next(iter(errors.items()))
            param = "size" if field_name in ("width", "height") else field_name
            request.send_error_json(
                400,
                "invalid_request",
                f"{param}: {' '.join(str(m) for m in messages)}",
                "invalid_request_error",
                param=param,
            )
            return

        task = self._new_task(payload, key)
        if task is None:
            request.send_error_json(
                402,
                "insufficient_quota",
                "Insufficient credits to run this request.",
                "insufficient_quota",
            )
            return
        threading.Thread(
            target=self._run_task, args=(task,), name=f"sim-{task.id}", daemon=True
        ).start()

        if fault is not None and fault.kind == "drop":
            request.drop()
            return
        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.delay)
        with self._lock:
            body = self._envelope(task, request.origin())
        request.send_json(200, body)

    def handle_get_task(self, request: _Handler, key: str, task_id: str) -> None:
        with self._lock:
            fault = self._read_faults.popleft() if self._read_faults else None
        if fault is not None:
            if fault.kind == "drop":
                request.drop()
            else:
                request.send_fault(fault)
            return
        with self._lock:
            task = self._tasks.get(task_id)
            visible = task is not None and task.key == key and not self._expired(task)
            body = self._envelope(task, request.origin()) if visible and task else None
        if body is None:
            request.send_error_json(404, 404, "Task not found.", "not_found_error")
            return
        request.send_json(200, body)

    def handle_credits(self, request: _Handler, key: str) -> None:
        with self._lock:
            body = {
                "success": True,
                "data": {
                    "user": {
                        "remaining_credits": _num(self._balance),
                        "used_credits": _num(self._used),
                    },
                    "token": {
                        "remaining_credits": _num(self._balance),
                        "used_credits": _num(self._used_by_key[key]),
                        "unlimited_credits": True,
                    },
                },
            }
        request.send_json(200, body)

    def handle_file(self, request: _Handler, name: str) -> None:
        token = name.removesuffix(".png")
        with self._lock:
            entry = self._files.get(token)
            task = self._tasks.get(entry.task_id) if entry else None
            if entry is None or task is None or self._expired(task):
                task = None
        if task is None or entry is None:
            request.send_bytes(404, b"Not Found", "text/plain; charset=utf-8")
            return
        png = render_png(
            task.prompt,
            task.model,
            task.quality,
            task.width,
            task.height,
            entry.index,
            task.result_count,
        )
        request.send_bytes(200, png, "image/png", cache_seconds=int(self.result_ttl))

    # --- the Files API ----------------------------------------------------------------

    def handle_upload(self, request: _Handler) -> None:
        """POST /api/v1/files/upload/stream: store one image, answer its public URL."""
        key = request._bearer()
        if key is None or not self._accepts(key):
            request.discard_body()
            request.send_envelope(401, 401, "Invalid or missing API key.")
            return
        with self._lock:
            fault = self._upload_faults.popleft() if self._upload_faults else None
        if fault is not None:
            request.discard_body()
            if fault.kind == "drop":
                request.drop()
            else:
                request.send_fault(fault)
            return
        self._sweep_uploads()

        received = request.receive_file(self._upload_dir.name)
        if received is None:
            return  # the handler has answered (400 / 413)
        path, filename, size = received
        try:
            with Image.open(path, formats=catalogue.REFERENCE_FORMATS) as image:
                image.load()
                image_format = str(image.format)
        except (OSError, ValueError, Image.DecompressionBombError):
            _unlink(path)
            request.send_envelope(400, 400, "unsupported file")
            return
        mime_type, extension = UPLOAD_FORMATS[image_format]
        name = f"{secrets.token_urlsafe(18)}.{extension}"
        now = datetime.now(UTC)
        with self._lock:
            self._uploads[name] = _Upload(path, mime_type, size, time.monotonic())
            ttl = self.files_ttl
        data = {
            "file_id": f"file_{secrets.token_hex(8)}",
            "file_name": filename or name,
            "original_name": filename,
            "file_size": size,  # EvoLink's docs name it so
            "size": size,
            "mime_type": mime_type,
            "file_url": f"{request.origin()}/files-api/{name}",
            "upload_time": now.isoformat(timespec="seconds"),
            "expires_at": (now + timedelta(seconds=ttl)).isoformat(timespec="seconds"),
        }
        request.send_json(200, _envelope_body(True, 200, "ok", data))

    def handle_uploaded_file(self, request: _Handler, name: str) -> None:
        """GET /files-api/<name>: the uploaded bytes, no auth (EvoLink fetches them)."""
        with self._lock:
            upload = self._uploads.get(name)
            if upload is not None and self._upload_expired(upload):
                del self._uploads[name]
                _unlink(upload.path)
                upload = None
            if upload is not None:
                remaining = self.files_ttl - (time.monotonic() - upload.uploaded_at)
        if upload is not None:
            try:
                # Opened outside the lock; a file deleted meanwhile (reset) reads 404,
                # one deleted while being sent is still sent whole (POSIX unlink).
                with open(upload.path, "rb") as handle:
                    request.send_file(
                        handle, upload.size, upload.mime_type, cache_seconds=int(remaining)
                    )
                return
            except FileNotFoundError:
                pass
        request.send_bytes(404, b"Not Found", "text/plain; charset=utf-8")

    def _upload_expired(self, upload: _Upload) -> bool:
        return time.monotonic() - upload.uploaded_at >= self.files_ttl

    def _sweep_uploads(self) -> None:
        """Delete expired uploads' files, so a long-running simulator does not fill the disk."""
        with self._lock:
            expired = [name for name, u in self._uploads.items() if self._upload_expired(u)]
            paths = [self._uploads.pop(name).path for name in expired]
        for path in paths:
            _unlink(path)

    # --- tasks ------------------------------------------------------------------------

    def _validation_view(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as catalogue.request_errors should see it.

        catalogue only accepts https callbacks (as EvoLink does); local tests need a
        plain-http loopback receiver, so that one rule can be relaxed.
        """
        callback = payload.get("callback_url")
        if (
            self.allow_http_callbacks
            and isinstance(callback, str)
            and urlsplit(callback).scheme == "http"
        ):
            return {**payload, "callback_url": "https" + callback[len("http") :]}
        return payload

    def _new_task(self, payload: dict[str, Any], key: str) -> _Task | None:
        spec = catalogue.get_model(payload["model"])
        values = {**spec.defaults(), **payload}
        size, quality, n = str(values["size"]), str(values["quality"]), int(values["n"])
        resolution = values.get("resolution") if spec.is_flexible else None
        image_urls = list(payload.get("image_urls") or [])
        cost = pricing.estimate(
            spec,
            quality=quality,
            size=size,
            resolution=resolution,
            n=n,
            reference_images=len(image_urls),
        )
        width, height = catalogue.resolve_size(spec, size, resolution) or AUTO_SIZE
        prompt = str(payload["prompt"])
        directives = {name.lower(): value for name, value in _DIRECTIVE.findall(prompt)}

        with self._lock:
            if cost.total_credits > self._balance:
                return None
            self._balance -= cost.total_credits
            duration = self._next_durations.popleft() if self._next_durations else None
            if duration is None and "slow" in directives:
                duration = _float_or_none(directives["slow"])
            fail_code, fail_message = (
                self._next_failures.popleft() if self._next_failures else (None, None)
            )
            if fail_code is None and directives.get("fail") in catalogue.FAILURE_CODES:
                fail_code = directives["fail"]
            result_count = n
            if self._next_result_counts:
                result_count = self._next_result_counts.popleft()
            elif "results" in directives and directives["results"].isdigit():
                result_count = int(directives["results"])
            now = int(time.time())
            task = _Task(
                id=f"task-unified-{now}-"
                + "".join(secrets.choice(_TASK_ID_ALPHABET) for _ in range(8)),
                key=key,
                model=spec.id,
                prompt=prompt,
                quality=quality,
                width=width,
                height=height,
                n=n,
                result_count=max(1, min(n, result_count)),
                created=now,
                started=time.monotonic(),
                duration=self.task_seconds if duration is None else max(0.0, duration),
                reserved=cost.total_credits,
                image_urls=image_urls,
                callback_url=payload.get("callback_url"),
                fail_code=fail_code,
                fail_message=fail_message or FAILURE_DETAILS.get(fail_code or "", ""),
                generation=self._generation,
            )
            self._tasks[task.id] = task
            return task

    def _run_task(self, task: _Task) -> None:
        """Fetch references like EvoLink, wait out the task's duration, finish, call back."""
        reference_error = self._fetch_references(task.image_urls) if task.image_urls else None
        remaining = task.started + task.duration - time.monotonic()
        if self._stopping.wait(max(0.0, remaining)):
            return
        with self._lock:
            if task.generation != self._generation:
                return  # reset() happened: this task no longer exists
            if reference_error and not task.fail_code:
                task.fail_code, task.fail_message = "image_processing_error", reference_error
            self._finish(task)
            body = self._envelope(task, self.public_url)
        if task.callback_url:
            self._send_callback(task, body)

    def _finish(self, task: _Task) -> None:
        task.finished_at = time.monotonic()
        if task.fail_code:
            task.status = "failed"
            self._balance += task.reserved  # failed tasks are not charged
            return
        task.status = "completed"
        # Fewer images than asked are billed pro rata (INFERRED: billing is per image).
        task.credits_used = pricing.round_credits(task.reserved * task.result_count / task.n)
        self._balance += task.reserved - task.credits_used
        self._used += task.credits_used
        self._used_by_key[task.key] += task.credits_used
        for index in range(task.result_count):
            token = secrets.token_urlsafe(18)
            task.files.append(token)
            self._files[token] = _File(task.id, index)

    def _fetch_references(self, urls: list[str]) -> str | None:
        """None if every reference downloads and decodes, else the failure message."""
        timeout = httpx.Timeout(self.reference_timeout, connect=5.0)
        with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
            for number, url in enumerate(urls, start=1):
                try:
                    with client.stream("GET", url) as response:
                        if not response.is_success:
                            return f"Reference image {number} answered HTTP {response.status_code}."
                        data = bytearray()
                        for chunk in response.iter_bytes():
                            data += chunk
                            if len(data) > catalogue.MAX_REFERENCE_BYTES:
                                return f"Reference image {number} is larger than 50 MB."
                    with Image.open(io.BytesIO(data), formats=catalogue.REFERENCE_FORMATS) as im:
                        im.load()
                except httpx.HTTPError as exc:
                    problem = exc.__class__.__name__
                    return f"Reference image {number} could not be downloaded ({problem})."
                except (OSError, ValueError, Image.DecompressionBombError):
                    return f"Reference image {number} is not a JPEG, PNG or WebP image."
        return None

    def _send_callback(self, task: _Task, body: dict[str, Any]) -> None:
        url = task.callback_url or ""
        delays = (0.0, *self.callback_delays)
        with httpx.Client(timeout=self.callback_timeout, trust_env=False) as client:
            for attempt, delay in enumerate(delays, start=1):
                if self._stopping.wait(delay):
                    return
                record: dict[str, Any] = {"task_id": task.id, "url": url, "attempt": attempt}
                try:
                    response = client.post(url, json=body)
                    record["status"] = response.status_code
                except httpx.HTTPError as exc:
                    record["error"] = type(exc).__name__
                with self._lock:
                    if task.generation == self._generation:
                        self._callbacks.append(record)
                if 200 <= record.get("status", 0) < 300:
                    return

    def _expired(self, task: _Task) -> bool:
        return (
            task.finished_at is not None and time.monotonic() - task.finished_at >= self.result_ttl
        )

    def _status(self, task: _Task) -> tuple[str, int]:
        if task.status != "pending":
            return task.status, 100
        fraction = (time.monotonic() - task.started) / task.duration if task.duration else 1.0
        if fraction < 0.15:
            return "pending", 0
        # Stays below 100 until the task thread has actually finished it.
        return "processing", max(1, min(99, int(fraction * 100)))

    def _envelope(self, task: _Task, origin: str) -> dict[str, Any]:
        status, progress = self._status(task)
        body: dict[str, Any] = {
            "created": task.created,
            "id": task.id,
            "model": task.model,
            "object": "image.generation.task",
            "progress": progress,
            "status": status,
            "task_info": {
                "can_cancel": status == "pending",
                "estimated_time": max(1, math.ceil(task.duration)),
            },
            "type": "image",
            "usage": {
                "billing_rule": BILLING_RULE,
                "credits_reserved": _num(task.reserved),
                "user_group": USER_GROUP,
            },
        }
        if status == "completed":
            body["results"] = [f"{origin}/files/{token}.png" for token in task.files]
            body["usage"]["credits_used"] = _num(task.credits_used)
        elif status == "failed":
            body["error"] = {"code": task.fail_code, "message": task.fail_message}
        return body


def _num(value: Decimal) -> float:
    return float(pricing.round_credits(value))


def _envelope_body(success: bool, code: int, msg: str, data: Any) -> dict[str, Any]:
    """The Files API's answer shape, on success and on errors alike."""
    return {"success": success, "code": code, "msg": msg, "data": data}


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _float_or_none(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# --- images -------------------------------------------------------------------------

_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=16)
def render_png(
    prompt: str, model: str, quality: str, width: int, height: int, index: int, count: int
) -> bytes:
    """A PNG at exactly width x height showing the prompt, coloured by its hash."""
    digest = hashlib.sha256(prompt.encode()).digest()
    hue = digest[0] / 255
    top = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.90))
    bottom = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.12) % 1, 0.75, 0.35))
    # A vertical gradient composed in C: fast even at 3840x2160.
    mask = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), mask
    )
    draw = ImageDraw.Draw(image)

    margin = max(8, min(width, height) // 20)
    size = max(10, min(width, height) // 16)
    font = _font(size)
    chars_per_line = max(8, int((width - 2 * margin) / (size * 0.55)))
    max_lines = max(1, int((height * 0.7 - margin) / (size * 1.25)))
    lines = textwrap.wrap(" ".join(prompt.split()), chars_per_line) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: chars_per_line - 1] + "…"]
    stroke = max(1, size // 14)
    y = margin
    for line in lines:
        draw.text(
            (margin, y), line, font=font, fill="white", stroke_width=stroke, stroke_fill="black"
        )
        y += int(size * 1.25)

    small = _font(max(9, size // 2))
    footer = f"{model} · {width}x{height} · {quality} · image {index + 1}/{count} · simulator"
    draw.text(
        (margin, height - margin - int(size * 0.6)),
        footer,
        font=small,
        fill="white",
        stroke_width=max(1, stroke // 2),
        stroke_fill="black",
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


# --- multipart/form-data -------------------------------------------------------------


class _MultipartError(Exception):
    pass


class _Sink(Protocol):
    def write(self, data: bytes | bytearray, /) -> int: ...


def read_multipart(
    chunks: Iterable[bytes], boundary: bytes, sink_for: Callable[[Message], _Sink | None]
) -> None:
    """Stream a multipart/form-data body part by part (RFC 7578), in bounded memory.

    `sink_for(headers)` is called at each part's start and returns where its content
    goes, or None to discard it. Everything after the closing delimiter is read and
    dropped, so the whole body is consumed. Raises _MultipartError on a malformed body.
    """
    source = iter(chunks)
    buffer = bytearray()

    def more() -> bool:
        chunk = next(source, None)
        if chunk is None:
            return False
        buffer.extend(chunk)
        return True

    delimiter = b"--" + boundary
    # The preamble (usually empty) ends at the first delimiter.
    while (start := buffer.find(delimiter)) < 0:
        del buffer[: max(0, len(buffer) - len(delimiter))]
        if not more():
            raise _MultipartError("no multipart boundary in the body")
    del buffer[: start + len(delimiter)]
    # Later delimiters start on a new line; a part's content may contain the bare
    # boundary text, but not CRLF + "--" + boundary.
    separator = b"\r\n" + delimiter
    while True:
        while len(buffer) < 2 and more():
            pass
        if buffer.startswith(b"--"):
            for _ in source:  # the epilogue
                pass
            return
        while (end_of_line := buffer.find(b"\r\n")) < 0:
            if len(buffer) > 1024 or not more():
                raise _MultipartError("bad multipart delimiter line")
        del buffer[: end_of_line + 2]
        if buffer.startswith(b"\r\n"):
            header_end = 2  # a part without headers
        else:
            while (header_end := buffer.find(b"\r\n\r\n")) < 0:
                if len(buffer) > 16 * 1024 or not more():
                    raise _MultipartError("bad multipart part headers")
            header_end += 4
        headers = BytesHeaderParser().parsebytes(bytes(buffer[:header_end]))
        del buffer[:header_end]
        sink = sink_for(headers)
        while (end := buffer.find(separator)) < 0:
            # Keep a tail that could be the start of a separator split across chunks.
            flush = len(buffer) - (len(separator) - 1)
            if flush > 0:
                if sink is not None:
                    sink.write(buffer[:flush])
                del buffer[:flush]
            if not more():
                raise _MultipartError("the multipart body ends inside a part")
        if sink is not None:
            sink.write(buffer[:end])
        del buffer[: end + len(separator)]


class _FileTooLarge(Exception):
    pass


class _LimitedFile:
    """A temporary file that refuses to grow past `limit` bytes."""

    def __init__(self, directory: str, limit: int) -> None:
        self.file = tempfile.NamedTemporaryFile(dir=directory, delete=False)  # noqa: SIM115
        self.limit = limit
        self.size = 0

    def write(self, data: bytes | bytearray) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _FileTooLarge
        return self.file.write(data)


# --- HTTP plumbing ------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator


_TASK_ROUTE = re.compile(r"^/v1/tasks/([^/]+)$")
_FILE_ROUTE = re.compile(r"^/files/([A-Za-z0-9_-]+\.png)$")
_UPLOADED_FILE_ROUTE = re.compile(r"^/files-api/([A-Za-z0-9_-]+\.(?:jpg|png|webp))$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections upstream
    server_version = "EvoLinkSimulator/1.0"
    timeout = 30  # an idle keep-alive connection frees its thread after this
    server: _Server
    _body: bytes = b""

    # --- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        sim = self.server.simulator
        path = urlsplit(self.path).path
        route = self._route_name(method, path)
        try:
            # Read the whole body before any answer: on a keep-alive connection an
            # unread body would be parsed as the next request. Uploads (up to 50 MB)
            # are the exception: handle_upload streams them to disk.
            self._body = b"" if route == UPLOAD_ROUTE else self._read_body()
            if path.startswith("/_simulator/"):
                self._control(method, path)
                return
            with sim._lock:
                sim._requests[route] += 1
            if method == "GET" and (match := _FILE_ROUTE.match(path)):
                sim.handle_file(self, match.group(1))
                return
            if method == "GET" and (match := _UPLOADED_FILE_ROUTE.match(path)):
                sim.handle_uploaded_file(self, match.group(1))
                return
            if route == UPLOAD_ROUTE:
                # Before the generic auth check: the Files API answers in its own shape.
                sim.handle_upload(self)
                return
            if route.endswith(" ?"):
                self.send_error_json(404, 404, "Not found.", "not_found_error")
                return
            key = self._bearer()
            if key is None or not sim._accepts(key):
                self.send_error_json(
                    401, "unauthorized", "Invalid or missing API key.", "authentication_error"
                )
                return
            if route == "POST /v1/images/generations":
                sim.handle_create(self, key)
            elif route == "GET /v1/tasks/{id}":
                match = _TASK_ROUTE.match(path)
                assert match is not None
                sim.handle_get_task(self, key, match.group(1))
            elif route == "GET /v1/credits":
                sim.handle_credits(self, key)
        except _BodyTooLarge:
            self.close_connection = True  # the unread rest of the body is discarded
            self.send_error_json(
                413, "request_too_large", "Request body too large.", "invalid_request_error"
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timed out)
        except Exception:
            logger.exception("simulator: %s %s failed", method, self.path)
            self.close_connection = True  # an upload's body may be partly unread
            with contextlib.suppress(OSError):
                self.send_error_json(500, "internal_error", "Simulator error.", "server_error")

    @staticmethod
    def _route_name(method: str, path: str) -> str:
        if method == "POST" and path == "/v1/images/generations":
            return "POST /v1/images/generations"
        if method == "GET" and _TASK_ROUTE.match(path):
            return "GET /v1/tasks/{id}"
        if method == "GET" and path == "/v1/credits":
            return "GET /v1/credits"
        if method == "GET" and _FILE_ROUTE.match(path):
            return "GET /files/{name}"
        if method == "POST" and path == UPLOAD_PATH:
            return UPLOAD_ROUTE
        if method == "GET" and _UPLOADED_FILE_ROUTE.match(path):
            return "GET /files-api/{name}"
        return f"{method} ?"

    def _control(self, method: str, path: str) -> None:
        sim = self.server.simulator
        if not sim.control:
            self.send_error_json(404, 404, "Not found.", "not_found_error")
        elif method == "GET" and path == "/_simulator/stats":
            self.send_json(200, sim.stats())
        elif method == "POST" and path == "/_simulator/reset":
            sim.reset()
            self.send_json(200, {"ok": True})
        elif method == "POST" and path == "/_simulator/faults":
            body = self.read_json()
            specs = body if isinstance(body, list) else [body]
            try:
                for spec in specs:
                    if not isinstance(spec, dict):
                        raise ValueError("each fault must be a JSON object")
                    sim.apply_fault(spec)
            except (KeyError, TypeError, ValueError) as exc:
                self.send_error_json(
                    400, "invalid_request", f"Bad fault: {exc}", "invalid_request_error"
                )
                return
            self.send_json(200, {"ok": True, "pending_faults": sim.stats()["pending_faults"]})
        else:
            self.send_error_json(404, 404, "Not found.", "not_found_error")

    # --- helpers used by Simulator ----------------------------------------------------

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def origin(self) -> str:
        """The origin the client used, so result URLs work behind any host name."""
        sim = self.server.simulator
        host = self.headers.get("Host")
        if sim.public_url != sim.base_url or not host or not re.fullmatch(r"[\w.\-:\[\]]+", host):
            return sim.public_url
        return f"http://{host}"

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def body_chunks(self, limit: int) -> Iterator[bytes]:
        """The body chunk by chunk (Content-Length or chunked); _BodyTooLarge past `limit`."""
        if self._chunked():
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _MultipartError("bad chunked encoding") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                total += size
                if total > limit:
                    raise _BodyTooLarge
                yield from self._read_exactly(size)
                self.rfile.readline(1024)  # the CRLF after each chunk
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise _BodyTooLarge
        yield from self._read_exactly(length)

    def _read_exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            # read1: what has arrived (up to a chunk), not a wait for a full chunk.
            data = self.rfile.read1(min(size, _CHUNK))
            if not data:
                raise ConnectionResetError("the client closed the connection mid-body")
            size -= len(data)
            yield data

    def discard_body(self, chunks: Iterator[bytes] | None = None) -> None:
        """Read an unwanted upload body (or the rest of `chunks`) to its end.

        So that a client still sending gets the answer rather than a reset connection,
        and the connection can be reused. Past MAX_DISCARD_BYTES it is closed instead.
        """
        try:
            for _ in self.body_chunks(MAX_DISCARD_BYTES) if chunks is None else chunks:
                pass
        except (_BodyTooLarge, _MultipartError):
            self.close_connection = True  # the rest is never read

    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def receive_file(self, directory: str) -> tuple[str, str, int] | None:
        """Stream the multipart field `file` into `directory`: (path, file name, size).

        None when the request was refused here (the answer has been sent).
        """
        boundary = self.headers.get_param("boundary")
        if self.headers.get_content_type() != "multipart/form-data" or not isinstance(
            boundary, str
        ):
            self.discard_body()
            self.send_envelope(400, 400, "expected multipart/form-data with a file field")
            return None
        files: list[tuple[_LimitedFile, str]] = []

        def sink_for(headers: Message) -> _Sink | None:
            if headers.get_param("name", header="content-disposition") != "file":
                return None  # other fields (upload_path, file_name) are not simulated
            if files:
                raise _MultipartError("only one file per request")
            sink = _LimitedFile(directory, catalogue.MAX_REFERENCE_BYTES)
            files.append((sink, os.path.basename(headers.get_filename() or "")))
            return sink

        problem: tuple[int, str] | None = None
        chunks = self.body_chunks(MAX_UPLOAD_BODY_BYTES)
        too_large = (413, "file too large (at most 50 MB)")
        complete = False
        try:
            read_multipart(chunks, boundary.encode(), sink_for)
            complete = True
        except _BodyTooLarge:
            if self._chunked():
                self.close_connection = True  # found out mid-stream: the rest stays unread
            else:
                self.discard_body()  # declared too large: nothing was read yet
            problem = too_large
        except _FileTooLarge:
            self.discard_body(chunks)
            problem = too_large
        except _MultipartError as exc:
            self.discard_body(chunks)
            self.close_connection = True  # the framing is in doubt
            problem = (400, str(exc))
        finally:
            # Also when the client went away mid-body (the exception goes on up).
            for sink, _name in files:
                sink.file.close()
                if not complete:
                    _unlink(sink.file.name)
        if problem is None and not files:
            problem = (400, "no file field in the request")
        if problem is not None:
            self.send_envelope(problem[0], problem[0], problem[1])
            return None
        sink, filename = files[0]
        return sink.file.name, filename, sink.size

    def send_envelope(self, status: int, code: int, msg: str) -> None:
        self.send_json(status, _envelope_body(False, code, msg, None))

    def send_file(
        self, handle: IO[bytes], size: int, content_type: str, *, cache_seconds: int = 0
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        if cache_seconds > 0:
            self.send_header("Cache-Control", f"private, max-age={cache_seconds}")
        self.end_headers()
        shutil.copyfileobj(handle, self.wfile, _CHUNK)

    def read_json(self) -> Any:
        try:
            return json.loads(self._body or b"null")
        except (ValueError, UnicodeDecodeError):
            return None

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers=headers)

    def send_error_json(
        self, status: int, code: str | int, message: str, type_: str, *, param: str | None = None
    ) -> None:
        error: dict[str, Any] = {"code": code, "message": message, "type": type_}
        if param:
            error["param"] = param
        self.send_json(status, {"error": error})

    def send_fault(self, fault: _HttpFault) -> None:
        content_type, body = _FAULT_BODIES.get(
            fault.status,
            (
                "application/json",
                json.dumps(
                    {"error": {"code": fault.status, "message": "Injected error.", "type": "error"}}
                ),
            ),
        )
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self.send_bytes(
            fault.status,
            (fault.body if fault.body is not None else body).encode(),
            fault.content_type or content_type,
            headers=headers,
        )

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        cache_seconds: int = 0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if cache_seconds:
            self.send_header("Cache-Control", f"private, max-age={cache_seconds}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        """Close the connection without a byte of answer (a reset after the request)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: " + format, *args)


class _BodyTooLarge(Exception):
    pass
