"""What a person's bell shows: their notifications, in their scope.

A notification is shown only while its job is still visible to the reader (a job made
"Only me" or the reader's leaving the team hides it), so every read goes through
`for_reader`, the bell's count included.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from playground.generations.models import Generation
from playground.notifications.models import Notification, NotificationQuerySet
from playground.teams.models import Membership

# The bell's panel lists this many; the page lists more.
PANEL_SIZE = 8
PAGE_SIZE = 50


def for_reader(user: User) -> NotificationQuerySet:
    """The person's notifications they may still read (one query, subqueries inside)."""
    teams = Membership.objects.filter(user_id=user.pk).values("team_id")
    return Notification.objects.filter(recipient_id=user.pk, team_id__in=teams).filter(
        Q(generation__isnull=True) | Q(generation__in=Generation.objects.visible_to(user))
    )


def unread_count(user: User) -> int:
    return for_reader(user).unread().count()


def latest(user: User, size: int = PANEL_SIZE) -> list[Notification]:
    return list(for_reader(user).select_related("actor", "generation", "image", "team")[:size])


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the person's notifications read, or all of them (None)."""
    mine = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notification_id is not None:
        mine = mine.filter(pk=notification_id)
    return mine.update(read_at=timezone.now())


def bell_label(unread: int) -> str:
    """The bell's accessible name, with the count (the issue's contract: a button named
    "Notifications" whose name includes the unread count)."""
    # The same message as the header's {% blocktranslate count %} (%(count)s): one entry
    # for the translators.
    return ngettext(
        "Notifications (%(count)s unread)", "Notifications (%(count)s unread)", unread
    ) % {"count": unread}
