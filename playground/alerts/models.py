"""Spend alerts: when a team's spend crosses a threshold, its admins are told once.

- `AlertSettings`: a team's thresholds (percent of the monthly budget, and of each
  member's cap), and its webhook (URL and signing secret, stored encrypted).
- `SpendAlert`: one crossing. Unique constraints make "once per month per crossing" a
  fact of the database: two jobs crossing 80 % at the same moment insert one row, and
  the loser's insert fails instead of notifying twice.
- `Delivery`: one way an alert went out (an e-mail to the admins, a webhook POST),
  with its attempts, the last error and when it is tried again: the team page's
  delivery history.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from playground import numbers
from playground.billing import crypto
from playground.teams.models import Team

DEFAULT_THRESHOLDS = [50, 80, 100]


def default_thresholds() -> list[int]:
    return list(DEFAULT_THRESHOLDS)


class AlertSettings(models.Model):
    """A team's alert settings; a team without a row has the defaults and no webhook."""

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, primary_key=True, related_name="alert_settings"
    )
    # Percentages of the monthly budget (and of each member's cap), ascending.
    thresholds = models.JSONField(_("thresholds (%)"), default=default_thresholds)
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    # Fernet token of the signing secret (billing/crypto.py): the admin sees the secret
    # once, when it is made; the worker decrypts it to sign each delivery.
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_made_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alert settings of {self.team_id}"

    @classmethod
    def of(cls, team: Team) -> AlertSettings:
        """The team's settings (unsaved defaults when it has none)."""
        return cls.objects.filter(team=team).first() or cls(team=team)

    @sensitive_variables("secret")
    def new_secret(self) -> str:
        """Make (or replace) the signing secret; the only time it exists in clear
        outside a worker. The caller saves."""
        secret = "whsec_" + secrets.token_urlsafe(32)
        self.webhook_secret_encrypted = crypto.encrypt(secret)
        self.webhook_secret_made_at = timezone.now()
        return secret

    def secret(self) -> str:
        return (
            crypto.decrypt(self.webhook_secret_encrypted) if self.webhook_secret_encrypted else ""
        )


class Kind(models.TextChoices):
    BUDGET = "budget", _("Team budget")
    CAP = "cap", _("Member cap")
    KEY_LOW = "key_low", _("Key balance low")
    KEY_DISABLED = "key_disabled", _("Key disabled by EvoLink")


class SpendAlertQuerySet(models.QuerySet["SpendAlert"]):
    def history(self, team: Team) -> SpendAlertQuerySet:
        """A team's alerts, newest first, with their deliveries (the team page's
        history)."""
        return (
            self.filter(team=team)
            .select_related("member", "key")
            .prefetch_related("deliveries")
            .order_by("-created_at", "-pk")
        )


class SpendAlert(models.Model):
    # None: a shared key's alert (superusers manage shared keys; no team's webhook).
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="spend_alerts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The member whose cap was crossed (kind cap only).
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.ForeignKey(
        "billing.ApiKey", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The first day of the calendar month (the site's time zone) the crossing belongs to.
    month = models.DateField()
    # Percent of the budget or cap (0 for the key alerts).
    threshold = models.PositiveSmallIntegerField(default=0)
    # What made a key alert unique: when EvoLink's refusal switched the key off.
    occasion = models.CharField(max_length=40, blank=True)
    # Budget and cap: this month's spend and the budget or cap. A low key: the credits
    # left and the key's warning threshold.
    spent = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    limit = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    # The notification's text, in English (e-mail, webhook and audit log say this).
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = SpendAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # One alert per crossing and month. Two partial constraints rather than one over
        # (team, member, month, threshold): PostgreSQL treats NULLs as distinct, so a
        # team-wide row (member NULL) would not collide with its twin.
        constraints = [
            models.UniqueConstraint(
                fields=["team", "month", "threshold"],
                condition=Q(kind="budget"),
                name="one_budget_alert_per_month_and_threshold",
            ),
            models.UniqueConstraint(
                fields=["team", "member", "month", "threshold"],
                condition=Q(kind="cap"),
                name="one_cap_alert_per_member_month_and_threshold",
            ),
            models.UniqueConstraint(
                fields=["key", "month"],
                condition=Q(kind="key_low"),
                name="one_low_balance_alert_per_key_and_month",
            ),
            models.UniqueConstraint(
                fields=["key", "occasion"],
                condition=Q(kind="key_disabled"),
                name="one_disabled_alert_per_key_and_occasion",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def describe(self) -> str:
        """The alert's sentence in the active language."""
        values: dict[str, object] = {
            "team": self.team.name if self.team else "",
            "threshold": self.threshold,
            "spent": numbers.credits(self.spent or Decimal(0)),
            "limit": numbers.credits(self.limit or Decimal(0)),
            "key": str(self.key) if self.key else "",
        }
        if self.kind == Kind.BUDGET:
            return (
                _(
                    "Team %(team)s has used %(threshold)s%% of its monthly budget: "
                    "%(spent)s of %(limit)s credits."
                )
                % values
            )
        if self.kind == Kind.CAP:
            values["member"] = self.member.get_username() if self.member else ""
            return (
                _(
                    "%(member)s has used %(threshold)s%% of their monthly cap in team %(team)s: "
                    "%(spent)s of %(limit)s credits."
                )
                % values
            )
        if self.kind == Kind.KEY_LOW:
            return (
                _("Key “%(key)s” is running low: %(spent)s credits left (warning below %(limit)s).")
                % values
            )
        values["reason"] = self.key.last_error_text if self.key else ""
        return (
            _(
                "Key “%(key)s” was switched off after EvoLink refused it: %(reason)s "
                "Jobs now use the next key, if there is one; an admin can switch it on again "
                "on the keys page."
            )
            % values
        )


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: datetime | None = None) -> DeliveryQuerySet:
        now = now or timezone.now()
        return self.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )


class Delivery(models.Model):
    alert = models.ForeignKey(SpendAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Where it goes, as it was when the alert was made (a URL, or e-mail addresses).
    target = models.TextField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker holds the row while it sends (a compare-and-set claims it); if that
    # worker dies, the claim runs out and the sweep sends again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.channel} of alert {self.alert_id}: {self.state}"
