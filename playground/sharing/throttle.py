"""How often one address may ask for share-link pages, images and passwords.

Counted in Django's cache (Redis when REDIS_URL is set, so every web process shares
the counts; each process's memory otherwise), per client address as django-axes reads
it, the same as the password-reset throttle (teams/accounts.py). A link's page and
its images are public: this keeps one address from walking tokens or guessing a
password, or from pulling a team's images in a loop.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

REQUESTS_WINDOW = 60
PASSWORD_WINDOW = 15 * 60


def _counted(key: str, window: int) -> int:
    """This request counted under `key` for `window` seconds; the count so far."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts a new window
        cache.set(key, 1, timeout=window)
        return 1


def client(request: HttpRequest) -> str:
    return get_client_ip_address(request) or "unknown"


def request_allowed(request: HttpRequest) -> bool:
    """Every request under /s/ counts, whatever the token (a wrong one too)."""
    count = _counted(f"share-links:requests:{client(request)}", REQUESTS_WINDOW)
    return count <= settings.SHARE_LINK_REQUESTS_PER_MINUTE


def password_allowed(request: HttpRequest, link_id: int) -> bool:
    """A password tried on one link from one address, right or wrong."""
    count = _counted(f"share-links:password:{link_id}:{client(request)}", PASSWORD_WINDOW)
    return count <= settings.SHARE_LINK_PASSWORD_TRIES
