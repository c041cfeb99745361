"""EvoLink's completion callbacks, used as a hint to poll now.

EvoLink documents no signature for its callbacks, so the body is never trusted: the
callback URL carries an HMAC of the job's public id (under a key of its own), and a
valid POST only moves the job's next poll to now. The authenticated
`GET /v1/tasks/{id}` by the poller is what changes the job's state.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from playground.evolink import upstream
from playground.generations import references


def _key() -> bytes:
    explicit = getattr(settings, "EVOLINK_CALLBACK_KEY", "")
    if explicit:
        return explicit.encode()
    # Derived, not SECRET_KEY itself: a leaked callback token reveals nothing else.
    return salted_hmac("playground.callbacks.key", "v1").digest()


def token(public_id: uuid.UUID) -> str:
    return hmac.new(_key(), str(public_id).encode(), hashlib.sha256).hexdigest()[:32]


def is_valid(public_id: uuid.UUID, candidate: str) -> bool:
    return hmac.compare_digest(token(public_id), candidate)


def enabled() -> bool:
    """Callbacks need an HTTPS address EvoLink can reach (it refuses anything else).

    EVOLINK_CALLBACKS: "auto" (default: only when PUBLIC_BASE_URL is public HTTPS),
    "on" or "off". Even "on" never sends a plain-http callback_url to EvoLink: the
    reference (August 2026) says callbacks are https-only, and a refused parameter
    fails the whole job. Only the local simulator (started with
    --allow-http-callbacks) takes one; a demo over http simply polls.
    """
    mode = getattr(settings, "EVOLINK_CALLBACKS", "auto")
    https = settings.PUBLIC_BASE_URL.startswith("https://")
    if mode in {"on", "off"}:
        return mode == "on" and (https or upstream.is_loopback_url(settings.EVOLINK_BASE_URL))
    return https and not references.public_base_is_private()


def url_for(public_id: uuid.UUID) -> str:
    path = reverse("evolink_callback", kwargs={"public_id": public_id, "token": token(public_id)})
    return f"{settings.PUBLIC_BASE_URL}{path}"
