"""What the simulator's faults look like: injected error bodies, drift and prompt directives.

`FAULT_BODIES` are the bodies injected HTTP errors answer with, `DRIFT_MODES` the ways
the simulator can drift from the contract, and `directives` finds the `[fail:...]`,
`[slow:...]` and `[results:...]` directives in prompts. The methods that queue faults
(`fail_creates`, `drop_reads`, ...) are `Simulator`'s (server.py).
"""

from __future__ import annotations

import re
from typing import Any

from playground import catalogue

# Injected HTTP errors use the shapes seen in the wild: string codes, integer codes
# and a proxy's HTML page, so clients are exercised on all three.
FAULT_BODIES: dict[int, tuple[str, str]] = {
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


def check_drift_mode(mode: str | None) -> str | None:
    """`mode` if it is one of DRIFT_MODES (or None); ValueError otherwise."""
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


def directives(prompt: str) -> dict[str, str]:
    """The prompt's directives by name ("fail", "slow", "results"), as written."""
    return {name.lower(): value for name, value in _DIRECTIVE.findall(prompt)}


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
