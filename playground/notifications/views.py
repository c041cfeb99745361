"""The bell's panel, the notifications page and the e-mail choices.

A person's notifications are theirs alone: every view reads them through
`inbox.for_reader(request.user)`, so another person's notification id is a 404, and a
notification about a job the reader may no longer see is gone from every list.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.notifications import inbox, texts
from playground.notifications.middleware import add_bell_event
from playground.notifications.models import Kind, Notification
from playground.notifications.preferences import email_choices, set_email_choices
from playground.teams import access
from playground.teams.access import AuthedRequest

PAGE = "notifications/page.html"


def _entries(notifications: list[Notification]) -> list[dict[str, object]]:
    return [{"n": n, "sentence": texts.sentence(n), "url": texts.target(n)} for n in notifications]


def _in_current_team(request: AuthedRequest) -> None:
    """These pages belong to no team; the header shows the person's current one, with
    its links, as the studio they came from did."""
    team = access.current_team(request.user)
    if team is not None:
        access.membership_in(request, team.pk)


def _list(request: AuthedRequest) -> HttpResponse:
    """The bell's panel when the bell asked (htmx), else the whole page."""
    from_bell = request.htmx.target == "bell-panel"
    if not from_bell:
        _in_current_team(request)
    size = inbox.PANEL_SIZE if from_bell else inbox.PAGE_SIZE
    unread = inbox.unread_count(request.user)
    context = {
        "entries": _entries(inbox.latest(request.user, size)),
        "unread": unread,
    }
    response = render(request, f"{PAGE}#bell-panel" if from_bell else PAGE, context)
    if request.htmx:
        add_bell_event(response, unread)
    return response


@require_GET
def notification_list(request: AuthedRequest) -> HttpResponse:
    return _list(request)


@require_GET
def notification_open(request: AuthedRequest, notification_id: int) -> HttpResponse:
    """Follow a notification: it is read, and the reader lands on its job or image."""
    found = inbox.for_reader(request.user).filter(pk=notification_id).first()
    if found is None:
        raise Http404
    inbox.mark_read(request.user, found.pk)
    return redirect(texts.target(found))


@require_POST
def notification_read(request: AuthedRequest, notification_id: int) -> HttpResponse:
    if not inbox.for_reader(request.user).filter(pk=notification_id).exists():
        raise Http404
    inbox.mark_read(request.user, notification_id)
    if request.htmx:
        return _list(request)
    return redirect("notifications")


@require_POST
def notification_read_all(request: AuthedRequest) -> HttpResponse:
    inbox.mark_read(request.user)
    if request.htmx:
        return _list(request)
    return redirect("notifications")


@require_http_methods(["GET", "POST"])
def notification_settings(request: AuthedRequest) -> HttpResponse:
    """Per kind: whether the person gets it by e-mail too (the bell shows every kind)."""
    _in_current_team(request)
    saved = False
    if request.method == "POST":
        wanted = {kind for kind in request.POST.getlist("email") if kind in Kind.values}
        set_email_choices(request.user, wanted)
        saved = True
    choices = email_choices(request.user)
    kinds = [{"value": kind, "label": label, "on": choices[kind]} for kind, label in Kind.choices]
    return render(
        request,
        "notifications/settings.html",
        {
            "kinds": kinds,
            "saved": saved,
            "has_email": bool(request.user.email),
            "saved_message": _("Saved: your e-mail choices apply from the next e-mail."),
        },
    )
