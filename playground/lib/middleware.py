"""Middleware every page goes through: no caching of a signed-in person's pages, and
the idle-login rule (a page that refreshes itself does not count as someone at work)."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from playground.lib import refreshing
from playground.lib.htmx import HtmxHttpRequest


def no_store_for_people(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A signed-in person's pages carry what their team may see: no cache keeps them
    (after logout, on a shared machine, in a proxy). Responses that say how they may
    be cached (images: private, a day) keep their own rule."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            add_never_cache_headers(response)
        return response

    return middleware


TOUCH_EVERY_SECONDS = 300


def touch_every_seconds() -> int:
    """How often a working person's activity is written: every 5 minutes, or every
    tenth of the idle limit when that is shorter. A limit below 5 minutes would
    otherwise end the login of someone at work between two writes."""
    return max(1, min(TOUCH_EVERY_SECONDS, settings.SESSION_COOKIE_AGE // 10))


def idle_sessions_expire(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HtmxHttpRequest], HttpResponse]:
    """A login ends after SESSION_COOKIE_AGE seconds without the person doing anything.

    Each request of theirs pushes the end back, written at most every 5 minutes (every
    tenth of a shorter limit: `touch_every_seconds`), so a busy page costs no extra
    writes; an open tab that only refreshes itself does not keep a login alive.
    """

    # After django-htmx's middleware (settings.MIDDLEWARE), which sets request.htmx.
    def middleware(request: HtmxHttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        # Requests a page sends by itself (the live history, a job page refreshing
        # while it runs...) do not count as someone being at work.
        automatic = refreshing.is_automatic(request.htmx.trigger)
        if user is not None and user.is_authenticated and not automatic:
            now = int(time.time())
            if now - request.session.get("active_at", 0) >= touch_every_seconds():
                request.session["active_at"] = now  # saved with a fresh expiry
        return response

    return middleware
