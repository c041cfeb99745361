"""Helpers for the simulator's own tests (test_simulator*.py), which speak plain HTTP
to it through the `api` fixture (tests/fixtures_simulator.py).
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import httpx
from PIL import Image

CREATE = "/v1/images/generations"
TASK_ID = re.compile(r"^task-unified-\d{10}-[a-z0-9]{8}$")
LONG_TOKENS = "lighthouse " * 2100  # > 2000 tokens for gpt-image-1 / 1.5


def wait_until_finished(api: httpx.Client, task_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/tasks/{task_id}").json()
        if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(buffer, fmt)
    return buffer.getvalue()
