"""Which EvoLink this deployment talks to, and with which key.

One place decides, so the pages (the simulator banner), the jobs and the admin
agree. Keys come from `EVOLINK_API_KEY` until key management stores them.
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


def describe() -> Upstream:
    base_url = settings.EVOLINK_BASE_URL
    return Upstream(
        base_url=base_url,
        # The simulator only ever listens on loopback; the real EvoLink never does.
        simulated=is_loopback_url(base_url),
        has_key=bool(settings.EVOLINK_API_KEY),
    )


def client() -> evolink.Client:
    """A client for the configured upstream and key (callers close it)."""
    return evolink.Client(settings.EVOLINK_API_KEY, settings.EVOLINK_BASE_URL)
