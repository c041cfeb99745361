"""Which EvoLink this deployment talks to, and with which key.

One place decides, so the pages (the simulator banner), the jobs and the admin
agree. Which key pays for a job is decided in playground/billing (stored keys, then
`EVOLINK_API_KEY`). This module sits below billing, so it never looks at stored keys
itself: whoever asks says whether there are any (`billing.paying.describe_upstream`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from playground.evolink import client as evolink


@dataclass(frozen=True)
class Upstream:
    base_url: str
    simulated: bool
    has_key: bool


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe(*, has_stored_key: bool) -> Upstream:
    """The configured upstream; `has_stored_key`: whether any enabled key is stored."""
    base_url = settings.EVOLINK_BASE_URL
    return Upstream(
        base_url=base_url,
        # The simulator only ever listens on loopback; the real EvoLink never does.
        simulated=is_loopback_url(base_url),
        has_key=bool(settings.EVOLINK_API_KEY) or has_stored_key,
    )


def client(api_key: str | None = None, *, max_retry_after: float | None = None) -> evolink.Client:
    """A client for the configured upstream (callers close it), with `api_key`, or
    EVOLINK_API_KEY when none is given (see playground/billing for the stored keys).
    `max_retry_after`: the longest Retry-After the client sleeps on itself before
    handing the wait back to the caller (0: a caller that paces its keys itself)."""
    key = settings.EVOLINK_API_KEY if api_key is None else api_key
    if max_retry_after is None:
        return evolink.Client(key, settings.EVOLINK_BASE_URL)
    return evolink.Client(key, settings.EVOLINK_BASE_URL, max_retry_after=max_retry_after)
