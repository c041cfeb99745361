"""Key states, models offline, and the usage style: the simulator's answers as EvoLink
gives them today (EvoLink's API reference and its own client code, August 2026).

`create_refusal` and `read_refusal` decide, before a create or a read, whether EvoLink
would refuse it, and with which string code; `Simulator`'s methods set the states:

    set_key_state(key, state)    "active" (default), "revoked" (401 `unauthorized` on
                                 every call), "disabled" / "expired" (402 `key_disabled`
                                 / `key_expired`; reads 402 `quota_exceeded`),
                                 "quota" (402: the key's own quota is used up),
                                 "daily_quota" (402: the key's daily quota, resets at
                                 midnight), "balance" (402 `insufficient_quota`: the
                                 account's balance). Quota states refuse creates only.
    deny_model(key, model)       403 `model_access_denied` for creates of that model
    share_account(*keys)         the keys are tokens of one account: each reads the
                                 others' tasks (another account's key reads 404)
    take_offline(model)          creates for it answer 400 `invalid_request`, "model
    bring_online(model)          not found" (gpt-image-1 is offline by default, as
                                 upstream since 2026-05-29)
    set_usage_style("cost")      completed tasks report `usage.cost.credits` and
                                 `usage.cost.usd` instead of `usage.credits_used`
    limit_rate(per_second, key=) creates a key may send per second (every key's, or
                                 one key's); past it the create answers 429
                                 `rate_limit_exceeded` with a Retry-After header and
                                 creates nothing (`rate_refusal`)

INFERRED: EvoLink's rate limits are per key and unpublished. The simulator counts the
creates it let through in the last second (a sliding window), and its Retry-After is
whole seconds (HTTP's delta-seconds) until the oldest of them leaves the window.

INFERRED: EvoLink's clients tell the 402 variants apart by code where there is one
(`key_disabled`, `key_expired`, `key_model_not_allowed`) and by message for a key's
quota and daily quota; the simulator uses those messages.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from playground import catalogue
from playground.evolink.simulator.state import World

KEY_STATES = ("active", "revoked", "disabled", "expired", "quota", "daily_quota", "balance")
USAGE_STYLES = ("credits_used", "cost")
# What upstream answered with a key in each state: (status, code, message, type).
_CREATE_REFUSALS: dict[str, tuple[int, str, str, str]] = {
    "revoked": (401, "unauthorized", "Invalid or revoked API key.", "authentication_error"),
    "disabled": (402, "key_disabled", "This API key has been disabled.", "insufficient_quota"),
    "expired": (402, "key_expired", "This API key has expired.", "insufficient_quota"),
    "quota": (
        402,
        "insufficient_quota",
        "Token quota exhausted: this API key's credit limit is used up.",
        "insufficient_quota",
    ),
    "daily_quota": (
        402,
        "insufficient_quota",
        "Token daily quota exceeded; it resets at midnight.",
        "insufficient_quota",
    ),
    "balance": (
        402,
        "insufficient_quota",
        "Insufficient account balance to run this request.",
        "insufficient_quota",
    ),
}
_READ_REFUSALS: dict[str, tuple[int, str, str, str]] = {
    "revoked": _CREATE_REFUSALS["revoked"],
    "disabled": (402, "quota_exceeded", "This API key has been disabled.", "insufficient_quota"),
    "expired": (402, "quota_exceeded", "This API key has expired.", "insufficient_quota"),
}
DEFAULT_OFFLINE_MODELS = ("gpt-image-1",)


def create_refusal(world: World, key: str, model: Any) -> tuple[int, str, str, str] | None:
    """How EvoLink would refuse this key's create of `model`, or None (lock held)."""
    state = world.key_states.get(key, "active")
    if state in _CREATE_REFUSALS:
        return _CREATE_REFUSALS[state]
    if isinstance(model, str) and model in world.offline_models:
        return (
            400,
            "invalid_request",
            f"Model not found: {model}",
            "invalid_request_error",
        )
    if isinstance(model, str) and model in world.denied.get(key, ()):
        return (
            403,
            "model_access_denied",
            f"Token does not have access to model: {model}",
            "permission_error",
        )
    return None


def rate_refusal(world: World, key: str) -> int | None:
    """The Retry-After seconds of a 429 if `key` is over its create rate, else None
    (and the create counts against the rate). Call with the lock held."""
    rate = world.key_rates.get(key, world.rate_per_key)
    if rate is None:
        return None
    now = time.monotonic()
    window = world.rate_windows.setdefault(key, deque())
    while window and now - window[0] >= 1.0:
        window.popleft()
    if len(window) >= rate:
        world.rate_limited[key] += 1
        wait = 1.0 - (now - window[0]) if window else 1.0
        return max(1, math.ceil(wait))
    window.append(now)
    return None


def read_refusal(world: World, key: str) -> tuple[int, str, str, str] | None:
    """How EvoLink would refuse this key's task read, or None (lock held)."""
    return _READ_REFUSALS.get(world.key_states.get(key, "active"))


def usage_on_completion(usage_style: str, credits_used: float) -> dict[str, Any]:
    """What a completed task's `usage` adds, in the world's usage style."""
    if usage_style == "cost":
        usd = round(credits_used / float(catalogue.CREDITS_PER_USD), 6)
        return {"cost": {"credits": credits_used, "usd": usd}}
    return {"credits_used": credits_used}
