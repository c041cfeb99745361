import functools
from typing import Any

from django.http import HttpRequest

from playground.notifications import inbox


def bell(request: HttpRequest) -> dict[str, Any]:
    """The header's bell: its unread count, counted only when a template shows the
    header (fragments never ask; their count comes through the middleware)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": functools.cache(lambda: inbox.unread_count(user))}
