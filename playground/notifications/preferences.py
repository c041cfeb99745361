"""Which kinds a person wants by e-mail. The bell shows every kind; e-mail is opt-in or
opt-out per kind, each with a default for people who never chose."""

from __future__ import annotations

from django.contrib.auth.models import User

from playground.notifications.models import EmailPreference, Kind

# What a person who never chose gets by e-mail: what someone asks of them or says to
# them. A finished job is off: they were usually there, and the bell and the browser
# notification already say it.
DEFAULT_EMAIL: dict[str, bool] = {
    Kind.MENTION: True,
    Kind.REPLY: True,
    Kind.REVIEW_REQUESTED: True,
    Kind.REVIEW_DECIDED: True,
    Kind.JOB_FINISHED: False,
}


def email_choices(user: User) -> dict[str, bool]:
    """Every kind → whether this person gets it by e-mail."""
    chosen = dict(EmailPreference.objects.filter(user_id=user.pk).values_list("kind", "enabled"))
    return {kind: chosen.get(kind, DEFAULT_EMAIL[kind]) for kind in Kind.values}


def set_email_choices(user: User, wanted: set[str]) -> None:
    """Store the person's choice for every kind (`wanted`: the kinds to e-mail)."""
    for kind in Kind.values:
        EmailPreference.objects.update_or_create(
            user_id=user.pk, kind=kind, defaults={"enabled": kind in wanted}
        )
