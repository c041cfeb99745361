"""Fault injection for the simulator: one-shot HTTP faults and prompt directives.

`FaultInjectionMixin` is the part of `Simulator` with the fault methods
(`fail_creates`, `drop_reads`, `fail_uploads`, `apply_fault`, ...); `_FAULT_BODIES`
are the error bodies injected HTTP errors answer with, and `_DIRECTIVE` finds the
`[fail:...]`, `[slow:...]` and `[results:...]` directives in prompts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from playground import catalogue
from playground.evolink.simulator.files import _envelope_body

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

# Ways the simulator can drift from the contract, so that the contract check
# (playground/evolink/contract.py) can be seen to name each difference.
DRIFT_MODES = {
    "renamed-field": "task envelopes say `images` instead of `results`",
    "integer-error-code": "error bodies carry the HTTP status as an integer `code`",
    "missing-usage": "task envelopes carry no `usage`",
    "no-request-id": "answers carry no `x-request-id` header",
}


def _drift_mode(mode: str | None) -> str | None:
    if mode not in (None, *DRIFT_MODES):
        raise ValueError(f"unknown drift {mode!r}; known: {', '.join(DRIFT_MODES)}")
    return mode


def drifted(body: dict[str, Any], mode: str | None) -> dict[str, Any]:
    """A task envelope as the drifting upstream would send it."""
    if mode == "renamed-field" and "results" in body:
        body["images"] = body.pop("results")
    elif mode == "missing-usage":
        body.pop("usage", None)
    return body


_DIRECTIVE = re.compile(r"\[(fail|slow|results):\s*([\w.]+)\s*\]", re.IGNORECASE)


def directive_problem(prompt: str) -> str | None:
    """A directive the simulator cannot carry out, said as EvoLink would refuse a request:
    a typo must not pass as a success."""
    for name, value in _DIRECTIVE.findall(prompt):
        name = name.lower()
        if name == "fail" and value not in catalogue.FAILURE_CODES:
            known = ", ".join(sorted(catalogue.FAILURE_CODES))
            return f"Unknown simulator directive [fail:{value}]. Known codes: {known}."
        if name == "slow" and not re.fullmatch(r"\d+(\.\d+)?", value):
            return f"[slow:{value}]: give the seconds as a number, e.g. [slow:30]."
        if name == "results" and not value.isdigit():
            return f"[results:{value}]: give a whole number of images, e.g. [results:1]."
    return None


@dataclass
class _HttpFault:
    kind: str  # "error" | "drop" | "delay"
    status: int = 0
    retry_after: float | None = None
    body: str | None = None
    content_type: str | None = None
    delay: float = 0.0


class FaultInjectionMixin:
    """The fault-injection part of `Simulator` (its queues are set up in server.py)."""

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

    def set_credits(self, remaining: Decimal | float | int, *, key: str | None = None) -> None:
        """Set one key's balance, or (no `key`) every key's: the ones already used and
        the balance new keys start with (except that `-empty-` keys still start at 0)."""
        amount = Decimal(str(remaining))
        with self._lock:
            if key is not None:
                self._balances[key] = amount
                return
            self._default_balance = amount
            for known in self._balances:
                self._balances[known] = amount

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

    def set_drift(self, mode: str | None) -> None:
        """Drift from the contract from now on (one of DRIFT_MODES), or stop (None).

        Unlike the one-shot faults it lasts until reset() (or the next set_drift)."""
        with self._lock:
            self.drift = _drift_mode(mode)

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
            key = spec.get("key")
            self.set_credits(Decimal(str(spec["remaining"])), key=None if key is None else str(key))
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
        elif name == "drift":
            self.set_drift(spec.get("mode"))
        elif name == "key_state":
            self.set_key_state(str(spec["key"]), str(spec["state"]))  # type: ignore[attr-defined]
        elif name == "deny_model":
            self.deny_model(str(spec["key"]), str(spec["model"]))  # type: ignore[attr-defined]
        elif name == "share_account":
            self.share_account(*[str(k) for k in spec["keys"]])  # type: ignore[attr-defined]
        elif name == "model_offline":
            self.take_offline(str(spec["model"]))  # type: ignore[attr-defined]
        elif name == "model_online":
            self.bring_online(str(spec["model"]))  # type: ignore[attr-defined]
        elif name == "usage_style":
            self.set_usage_style(str(spec["style"]))  # type: ignore[attr-defined]
        elif name == "upload_drop":
            self.drop_uploads(times)
        elif name == "expire_uploads":
            self.expire_uploads()
        else:
            raise ValueError(f"unknown fault {name!r}")
