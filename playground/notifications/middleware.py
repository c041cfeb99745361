"""The bell's count rides on the live refresh that already runs.

Every self-refreshing fragment (lib/refreshing.py: the studio's history, a running job's
page, ...) asks every second or two; its answer, an empty 204 included, carries the
reader's unread count in an `HX-Trigger` header, which htmx turns into a
`notifications-changed` event that static/js/notifications.js puts on the bell. So the
bell stays live at the cost of one COUNT per refresh, and no request of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from playground.lib import refreshing
from playground.notifications import inbox

EVENT = "notifications-changed"


def bell_event(unread: int) -> dict[str, dict[str, object]]:
    return {EVENT: {"unread": unread, "label": inbox.bell_label(unread)}}


def add_bell_event(response: HttpResponse, unread: int) -> None:
    """Merge the bell's event into the response's HX-Trigger header (a view may have
    set its own events there)."""
    events: dict[str, object] = {}
    existing = response.headers.get("HX-Trigger", "")
    if existing.startswith("{"):
        events = json.loads(existing)
    elif existing:
        events = {name.strip(): None for name in existing.split(",") if name.strip()}
    events.update(bell_event(unread))
    # ASCII only (the label may be Korean or Japanese): header values are latin-1, and
    # JSON's \\u escapes read back the same in the browser.
    response.headers["HX-Trigger"] = json.dumps(events, ensure_ascii=True)


def bell_on_refresh(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and response.status_code in (200, 204)
            and refreshing.is_automatic(request.headers.get("HX-Trigger"))
        ):
            add_bell_event(response, inbox.unread_count(user))
        return response

    return middleware
