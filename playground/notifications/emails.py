"""The e-mails: at most one per person per EMAIL_INTERVAL, listing what happened.

A notification is made due for e-mail when it is created (`emailed_at` null). Every
minute `send_due` (a django-q2 schedule, declared in apps.py) looks at the people with
due notifications: someone e-mailed less than EMAIL_INTERVAL ago waits, their
notifications gather; for the others, one e-mail lists the due ones they want by e-mail
(preferences.py) and have not read in the bell meanwhile, in their language. The rest
(opted out, already read, a job they may no longer see) is marked done without mail.

Safe to run twice at once: a person's slot is claimed with a compare-and-set on their
EmailBatch row, so only one run mails them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from playground.notifications import inbox, texts
from playground.notifications.models import EmailBatch, Notification
from playground.notifications.preferences import email_choices
from playground.teams.models import Profile

log = logging.getLogger(__name__)

EMAIL_INTERVAL = timedelta(minutes=10)


def send_due(now: datetime | None = None) -> int:
    """Send every e-mail that is due; returns how many were sent."""
    now = now or timezone.now()
    recipients = (
        Notification.objects.filter(emailed_at__isnull=True)
        .order_by()
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(1 for user_id in list(recipients) if send_to(user_id, now))


def send_to(user_id: int, now: datetime) -> bool:
    """One person's e-mail, if their slot is free and something is worth mailing."""
    last = EmailBatch.objects.filter(user_id=user_id).values_list("last_sent_at", flat=True)
    last_sent = last.first()
    if last_sent is not None and now - last_sent < EMAIL_INTERVAL:
        return False  # they stay due and gather until the slot frees
    due = Notification.objects.filter(recipient_id=user_id, emailed_at__isnull=True)
    newest = due.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return False
    # Only what is due now: a notification made while this runs waits for the next.
    due = due.filter(id__lte=newest)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        due.update(emailed_at=now)
        return False
    choices = email_choices(user)
    readable = inbox.for_reader(user).filter(pk__in=due.values("pk"), read_at__isnull=True)
    wanted = [
        n
        for n in readable.select_related("actor", "generation", "image", "team").order_by("id")
        if choices[n.kind]
    ]
    if not wanted or not user.email:
        due.update(emailed_at=now)
        return False
    if not _claim_slot(user_id, last_sent, now):
        return False
    due.update(emailed_at=now)
    try:
        _send(user, wanted)
    except Exception:
        # Nothing was sent: they are due again (and the slot freed) for the next run.
        log.exception("notification e-mail to user %s failed", user_id)
        Notification.objects.filter(pk__in=[n.pk for n in wanted]).update(emailed_at=None)
        EmailBatch.objects.filter(user_id=user_id).update(last_sent_at=now - EMAIL_INTERVAL)
        return False
    return True


def _claim_slot(user_id: int, last_sent: datetime | None, now: datetime) -> bool:
    """Compare-and-set: whether this run may mail the person now."""
    if last_sent is None:
        try:
            with transaction.atomic():
                EmailBatch.objects.create(user_id=user_id, last_sent_at=now)
        except IntegrityError:
            return False  # another run created it first
        return True
    return (
        EmailBatch.objects.filter(user_id=user_id, last_sent_at=last_sent).update(last_sent_at=now)
        == 1
    )


def language_of(user: User) -> str:
    """The person's saved language; the site's when they left it to their browser (an
    e-mail has no browser to ask)."""
    saved = Profile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return saved or settings.LANGUAGE_CODE


def _send(user: User, notifications: list[Notification]) -> None:
    base = settings.PUBLIC_BASE_URL
    with translation.override(language_of(user)):
        items = [
            {
                "sentence": texts.sentence(n),
                "team": n.team.name,
                "excerpt": n.excerpt,
                "url": base + texts.target(n),
            }
            for n in notifications
        ]
        subject = ngettext(
            "%(count)d new notification in the GPT Image playground",
            "%(count)d new notifications in the GPT Image playground",
            len(items),
        ) % {"count": len(items)}
        body = render_to_string(
            "notifications/email.txt",
            {
                "user": user,
                "items": items,
                "settings_url": base + reverse("notification_settings"),
            },
        )
    send_mail(subject, body, None, [user.email])
