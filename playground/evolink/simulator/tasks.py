"""The simulator's image tasks: creation, pricing, progress, results and callbacks.

`new_task` makes a task from a create request, `run_task` runs it (in its own thread:
it fetches the references as EvoLink does, waits out the task's duration, finishes it
and calls back), and `envelope` renders a task as EvoLink answers it.
"""

from __future__ import annotations

import io
import math
import secrets
import string
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from playground import catalogue, pricing
from playground.evolink.simulator.faults import directives, drifted
from playground.evolink.simulator.images import FORMATS
from playground.evolink.simulator.keys import usage_on_completion
from playground.evolink.simulator.state import ResultFile, Task, World

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
_TASK_ID_ALPHABET = string.ascii_lowercase + string.digits


def validation_view(world: World, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as request_rules.request_errors should see it.

    request_rules only accepts https callbacks (as EvoLink does); local tests need a
    plain-http loopback receiver, so that one rule can be relaxed.
    """
    callback = payload.get("callback_url")
    if (
        world.allow_http_callbacks
        and isinstance(callback, str)
        and urlsplit(callback).scheme == "http"
    ):
        return {**payload, "callback_url": "https" + callback[len("http") :]}
    return payload


def new_task(world: World, payload: dict[str, Any], key: str) -> Task | None:
    """The task a valid create makes, its cost reserved from the key; None if the key's
    credits cannot cover it."""
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
    asked = directives(prompt)

    with world.lock:
        # Credits are per key: the create is refused if this key cannot cover it.
        if cost.total_credits > world.balance_of(key):
            return None
        world.credit(key, -cost.total_credits)
        duration = world.next_durations.popleft() if world.next_durations else None
        if duration is None and "slow" in asked:
            duration = _float_or_none(asked["slow"])
        fail_code, fail_message = (
            world.next_failures.popleft() if world.next_failures else (None, None)
        )
        if fail_code is None and asked.get("fail") in catalogue.FAILURE_CODES:
            fail_code = asked["fail"]
        result_count = n
        if world.next_result_counts:
            result_count = world.next_result_counts.popleft()
        elif "results" in asked and asked["results"].isdigit():
            result_count = int(asked["results"])
        now = int(time.time())
        task = Task(
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
            duration=world.task_seconds if duration is None else max(0.0, duration),
            reserved=cost.total_credits,
            image_urls=image_urls,
            callback_url=payload.get("callback_url"),
            output_format=str(values.get("output_format") or "png"),
            background=str(values.get("background") or "opaque"),
            fail_code=fail_code,
            fail_message=fail_message or FAILURE_DETAILS.get(fail_code or "", ""),
            generation=world.generation,
        )
        world.tasks[task.id] = task
        return task


def run_task(world: World, task: Task) -> None:
    """Fetch references like EvoLink, wait out the task's duration, finish, call back."""
    reference_error = fetch_references(world, task.image_urls) if task.image_urls else None
    remaining = task.started + task.duration - time.monotonic()
    if world.stopping.wait(max(0.0, remaining)):
        return
    with world.lock:
        if task.generation != world.generation:
            return  # reset() happened: this task no longer exists
        if reference_error and not task.fail_code:
            task.fail_code, task.fail_message = "image_processing_error", reference_error
        _finish(world, task)
        body = envelope(world, task, world.public_url)
    if task.callback_url:
        send_callback(world, task, body)


def _finish(world: World, task: Task) -> None:
    """Complete or fail the task and settle its credits (lock held)."""
    task.finished_at = time.monotonic()
    if task.fail_code:
        task.status = "failed"
        world.credit(task.key, task.reserved)  # failed tasks are not charged
        return
    task.status = "completed"
    # Fewer images than asked are billed pro rata (INFERRED: billing is per image).
    task.credits_used = pricing.round_credits(task.reserved * task.result_count / task.n)
    world.credit(task.key, task.reserved - task.credits_used)
    world.used += task.credits_used
    world.used_by_key[task.key] += task.credits_used
    for index in range(task.result_count):
        token = secrets.token_urlsafe(18)
        task.files.append(token)
        world.files[token] = ResultFile(task.id, index)


def fetch_references(world: World, urls: list[str]) -> str | None:
    """None if every reference downloads and decodes, else the failure message."""
    timeout = httpx.Timeout(world.reference_timeout, connect=5.0)
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


def send_callback(world: World, task: Task, body: dict[str, Any]) -> None:
    """POST the finished task to its callback URL, retrying after `callback_delays`."""
    url = task.callback_url or ""
    delays = (0.0, *world.callback_delays)
    with httpx.Client(timeout=world.callback_timeout, trust_env=False) as client:
        for attempt, delay in enumerate(delays, start=1):
            if world.stopping.wait(delay):
                return
            record: dict[str, Any] = {"task_id": task.id, "url": url, "attempt": attempt}
            try:
                response = client.post(url, json=body)
                record["status"] = response.status_code
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__
            with world.lock:
                if task.generation == world.generation:
                    world.callbacks.append(record)
            if 200 <= record.get("status", 0) < 300:
                return


def task_status(task: Task) -> tuple[str, int]:
    """The task's status and progress (percent) as a read now would see them."""
    if task.status != "pending":
        return task.status, 100
    fraction = (time.monotonic() - task.started) / task.duration if task.duration else 1.0
    if fraction < 0.15:
        return "pending", 0
    # Stays below 100 until the task thread has actually finished it.
    return "processing", max(1, min(99, int(fraction * 100)))


def envelope(world: World, task: Task, origin: str) -> dict[str, Any]:
    """The task as EvoLink answers it, result URLs on `origin` (lock held)."""
    status, progress = task_status(task)
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
            "credits_reserved": credits_number(task.reserved),
            "user_group": USER_GROUP,
        },
    }
    if status == "completed":
        _pillow, ext = FORMATS[task.output_format]
        body["results"] = [f"{origin}/files/{token}.{ext}" for token in task.files]
        body["usage"].update(
            usage_on_completion(world.usage_style, credits_number(task.credits_used))
        )
    elif status == "failed":
        body["error"] = {"code": task.fail_code, "message": task.fail_message}
    return drifted(body, world.drift)


def credits_number(value: Decimal) -> float:
    """Credits as the JSON number EvoLink answers with."""
    return float(pricing.round_credits(value))


def _float_or_none(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
