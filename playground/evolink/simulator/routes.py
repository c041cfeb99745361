"""What each URL of the simulator answers: EvoLink's API, its Files API, the result
images, and the `/_simulator/` control routes.

`dispatch` is the server's `app` (handler.py): it counts the request, checks the key
and calls the route's function with the `World` it reads and changes. The control
routes call back into the simulator through `Controls` (stats, reset, faults).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from PIL import Image

from playground import catalogue, request_rules
from playground.evolink.simulator.faults import directive_problem
from playground.evolink.simulator.files import (
    UPLOAD_FORMATS,
    UPLOAD_PATH,
    UPLOAD_ROUTE,
    envelope_body,
    sweep_uploads,
    unlink,
)
from playground.evolink.simulator.handler import RequestHandler
from playground.evolink.simulator.images import CONTENT_TYPES, render_image
from playground.evolink.simulator.keys import create_refusal, rate_refusal, read_refusal
from playground.evolink.simulator.state import HttpFault, Upload, World
from playground.evolink.simulator.tasks import (
    credits_number,
    envelope,
    new_task,
    run_task,
    validation_view,
)

_TASK_ROUTE = re.compile(r"^/v1/tasks/([^/]+)$")
_FILE_ROUTE = re.compile(r"^/files/([A-Za-z0-9_-]+\.(?:png|jpg|webp))$")
_UPLOADED_FILE_ROUTE = re.compile(r"^/files-api/([A-Za-z0-9_-]+\.(?:jpg|png|webp))$")


class Controls(Protocol):
    """What the control routes ask of the simulator (server.py's `Simulator`)."""

    def stats(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def apply_fault(self, spec: Mapping[str, Any]) -> None: ...


def route_name(method: str, path: str) -> str:
    """The route a request counts under in stats(), e.g. "GET /v1/tasks/{id}"."""
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


def dispatch(
    world: World, controls: Controls, request: RequestHandler, method: str, path: str
) -> None:
    """Answer one request (its body has been read, except an upload's)."""
    if path.startswith("/_simulator/"):
        control(world, controls, request, method, path)
        return
    route = route_name(method, path)
    with world.lock:
        world.requests[route] += 1
    if method == "GET" and (match := _FILE_ROUTE.match(path)):
        result_image(world, request, match.group(1))
        return
    if method == "GET" and (match := _UPLOADED_FILE_ROUTE.match(path)):
        uploaded_file(world, request, match.group(1))
        return
    if route == UPLOAD_ROUTE:
        # Before the generic auth check: the Files API answers in its own shape.
        upload_file(world, request)
        return
    if route.endswith(" ?"):
        request.send_error_json(404, 404, "Not found.", "not_found_error")
        return
    key = request.bearer()
    with world.lock:
        accepted = key is not None and world.accepts(key)
    if key is None or not accepted:
        request.send_error_json(
            401, "unauthorized", "Invalid or missing API key.", "authentication_error"
        )
        return
    if route == "POST /v1/images/generations":
        create_task(world, request, key)
    elif route == "GET /v1/tasks/{id}":
        match = _TASK_ROUTE.match(path)
        assert match is not None
        read_task(world, request, key, match.group(1))
    elif route == "GET /v1/credits":
        read_credits(world, request, key)


def control(
    world: World, controls: Controls, request: RequestHandler, method: str, path: str
) -> None:
    """The `/_simulator/` routes: stats, reset and fault injection (no authentication)."""
    if not world.control:
        request.send_error_json(404, 404, "Not found.", "not_found_error")
    elif method == "GET" and path == "/_simulator/stats":
        request.send_json(200, controls.stats())
    elif method == "POST" and path == "/_simulator/reset":
        controls.reset()
        request.send_json(200, {"ok": True})
    elif method == "POST" and path == "/_simulator/faults":
        body = request.read_json()
        specs = body if isinstance(body, list) else [body]
        try:
            for spec in specs:
                if not isinstance(spec, dict):
                    raise ValueError("each fault must be a JSON object")
                controls.apply_fault(spec)
        except (KeyError, TypeError, ValueError) as exc:
            request.send_error_json(
                400, "invalid_request", f"Bad fault: {exc}", "invalid_request_error"
            )
            return
        request.send_json(200, {"ok": True, "pending_faults": controls.stats()["pending_faults"]})
    else:
        request.send_error_json(404, 404, "Not found.", "not_found_error")


# --- EvoLink's API -----------------------------------------------------------------------


def create_task(world: World, request: RequestHandler, key: str) -> None:
    """POST /v1/images/generations: validate, reserve the cost, start the task."""
    received_at = time.time()
    with world.lock:
        fault = world.create_faults.popleft() if world.create_faults else None
    if fault is not None and fault.kind == "error":
        request.send_fault(fault)
        return
    with world.lock:
        retry_after = rate_refusal(world, key)
    if retry_after is not None:
        # A 429 is a definite "no": no task, nothing reserved, not in `creates`.
        request.send_fault(HttpFault("error", 429, retry_after=retry_after))
        return

    payload = request.read_json()
    with world.lock:
        refusal = create_refusal(
            world, key, payload.get("model") if isinstance(payload, dict) else None
        )
    if refusal is not None:
        request.send_error_json(refusal[0], refusal[1], refusal[2], refusal[3])
        return
    if not isinstance(payload, dict):
        request.send_error_json(
            400, "invalid_request", "The body must be a JSON object.", "invalid_request_error"
        )
        return
    # Every create that reached this point, for tests and benchmarks: its
    # Idempotency-Key header, model and n (EvoLink's replay behaviour is undocumented,
    # so the simulator, like a server that ignores the header, creates a task anyway).
    record: dict[str, Any] = {
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "model": payload.get("model"),
        "n": payload.get("n"),
        "task_id": None,
        # Wall-clock arrival, for benchmarks that measure when a create reached upstream.
        "received_at": received_at,
    }
    with world.lock:
        world.creates.append(record)
        # Decided on arrival, with the record: which create a one-shot fault slows must
        # not depend on which of two concurrent creates reaches the wait first.
        slow = world.next_create_seconds.popleft() if world.next_create_seconds else None
        seconds = world.create_seconds if slow is None else slow
    # reference, August 2026: one request of gpt-image-1.5 carries n = 1 only.
    errors = request_rules.request_errors(validation_view(world, payload), upstream=True)
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

    problem = directive_problem(str(payload.get("prompt", "")))
    if problem:
        request.send_error_json(
            400, "invalid_request", problem, "invalid_request_error", param="prompt"
        )
        return

    # A slow upstream (fetching references, busy) answers seconds later; other
    # requests are served meanwhile, each on its own thread (handler.Server).
    if seconds > 0 and world.stopping.wait(seconds):
        request.drop()  # stopping: no answer, as a server going down
        return
    task = new_task(world, payload, key)
    if task is None:
        request.send_error_json(
            402,
            "insufficient_quota",
            "Insufficient credits to run this request.",
            "insufficient_quota",
        )
        return
    record["task_id"] = task.id
    threading.Thread(
        target=run_task, args=(world, task), name=f"sim-{task.id}", daemon=True
    ).start()

    if fault is not None and fault.kind == "drop":
        request.drop()
        return
    if fault is not None and fault.kind == "delay":
        world.stopping.wait(fault.delay)
    with world.lock:
        body = envelope(world, task, request.origin())
    request.send_json(200, body)


def read_task(world: World, request: RequestHandler, key: str, task_id: str) -> None:
    """GET /v1/tasks/{id}: the task, to the keys of the account that created it."""
    with world.lock:
        fault = world.read_faults.popleft() if world.read_faults else None
    if fault is not None:
        if fault.kind == "drop":
            request.drop()
        else:
            request.send_fault(fault)
        return
    with world.lock:
        refusal = read_refusal(world, key)
    if refusal is not None:
        request.send_error_json(refusal[0], refusal[1], refusal[2], refusal[3])
        return
    with world.lock:
        task = world.tasks.get(task_id)
        # Tasks belong to an account: its other keys read them too (share_account).
        visible = (
            task is not None
            and world.account_of(task.key) == world.account_of(key)
            and not world.task_expired(task)
        )
        body = envelope(world, task, request.origin()) if visible and task else None
        if body is not None and task is not None:
            task.reads.append(time.time())
    if body is None:
        request.send_error_json(404, "task_not_found", "Task not found.", "not_found_error")
        return
    request.send_json(200, body)


def read_credits(world: World, request: RequestHandler, key: str) -> None:
    """GET /v1/credits: this key's balance."""
    # Each key is its own account here: `user` and `token` both describe this key.
    with world.lock:
        remaining = credits_number(world.balance_of(key))
        used = credits_number(world.used_by_key.get(key, Decimal(0)))
        body = {
            "success": True,
            "data": {
                "user": {"remaining_credits": remaining, "used_credits": used},
                "token": {
                    "remaining_credits": remaining,
                    "used_credits": used,
                    "unlimited_credits": True,
                },
            },
        }
    request.send_json(200, body)


def result_image(world: World, request: RequestHandler, name: str) -> None:
    """GET /files/<token>.<ext>: a result image, until its task expires."""
    token = name.rsplit(".", 1)[0]
    with world.lock:
        entry = world.files.get(token)
        task = world.tasks.get(entry.task_id) if entry else None
        if entry is None or task is None or world.task_expired(task):
            task = None
        ttl = world.result_ttl
    if task is None or entry is None:
        request.send_bytes(404, b"Not Found", "text/plain; charset=utf-8")
        return
    # A masked edit shows its reference with the masked region filled (masks.py).
    data = task.edited or render_image(
        task.prompt,
        task.model,
        task.quality,
        task.width,
        task.height,
        entry.index,
        task.result_count,
        task.output_format,
        task.background == "transparent",
    )
    content_type = CONTENT_TYPES[task.output_format]
    request.send_bytes(200, data, content_type, cache_seconds=int(ttl))


# --- the Files API ------------------------------------------------------------------------


def upload_file(world: World, request: RequestHandler) -> None:
    """POST /api/v1/files/upload/stream: store one image, answer its public URL."""
    key = request.bearer()
    with world.lock:
        accepted = key is not None and world.accepts(key)
        fault = world.upload_faults.popleft() if accepted and world.upload_faults else None
    if not accepted:
        request.discard_body()
        request.send_envelope(401, 401, "Invalid or missing API key.")
        return
    if fault is not None:
        request.discard_body()
        if fault.kind == "drop":
            request.drop()
        else:
            request.send_fault(fault)
        return
    sweep_uploads(world)

    received = request.receive_file(world.upload_dir)
    if received is None:
        return  # the handler has answered (400 / 413)
    path, filename, size = received
    try:
        with Image.open(path, formats=catalogue.REFERENCE_FORMATS) as image:
            image.load()
            image_format = str(image.format)
    except (OSError, ValueError, Image.DecompressionBombError):
        unlink(path)
        request.send_envelope(400, 400, "unsupported file")
        return
    mime_type, extension = UPLOAD_FORMATS[image_format]
    name = f"{secrets.token_urlsafe(18)}.{extension}"
    now = datetime.now(UTC)
    with world.lock:
        world.uploads[name] = Upload(path, mime_type, size, time.monotonic())
        ttl = world.files_ttl
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
    request.send_json(200, envelope_body(True, 200, "ok", data))


def uploaded_file(world: World, request: RequestHandler, name: str) -> None:
    """GET /files-api/<name>: the uploaded bytes, no auth (EvoLink fetches them)."""
    with world.lock:
        upload = world.uploads.get(name)
        if upload is not None and world.upload_expired(upload):
            del world.uploads[name]
            unlink(upload.path)
            upload = None
        if upload is not None:
            remaining = world.files_ttl - (time.monotonic() - upload.uploaded_at)
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
