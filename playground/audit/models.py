"""One row per administrative action: who did what to which thing, when, from where.

The log is append-only inside the application: an entry is created once and never
changed (save() refuses an update, the QuerySet refuses update(), the admin is read
only) and only the scheduled retention purge (`purge_expired`, AUDIT_RETENTION_DAYS)
removes entries, the oldest first. `changes` holds {field: [before, after]} of what
changed, and never a secret: `playground/audit/log.py` drops the values of any field
whose name says it is one, whoever calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground.teams.models import Team


class Action(models.TextChoices):
    # Keys (billing).
    KEY_ADDED = "key_added", _("Key added")
    KEY_REPLACED = "key_replaced", _("Key replaced")
    KEY_ENABLED = "key_enabled", _("Key enabled")
    KEY_DISABLED = "key_disabled", _("Key disabled")
    KEY_CHECKED = "key_checked", _("Key checked")
    KEY_CHANGED = "key_changed", _("Key changed")
    CONTRACT_CHECK_STARTED = "contract_check_started", _("Contract check started")
    # Money.
    BUDGET_CHANGED = "budget_changed", _("Budget changed")
    CAP_CHANGED = "cap_changed", _("Member cap changed")
    LIMITS_CHANGED = "limits_changed", _("Member limits changed")
    # People.
    MEMBER_INVITED = "member_invited", _("Member invited")
    INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
    MEMBER_ADDED = "member_added", _("Member added")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    ROLE_CHANGED = "role_changed", _("Role changed")
    # Models.
    MODEL_SWITCHED = "model_switched", _("Model switched on or off")
    # Deletions and exports.
    JOB_DELETED = "job_deleted", _("Job deleted")
    COLLECTION_DELETED = "collection_deleted", _("Collection deleted")
    EXPORT_CREATED = "export_created", _("Export created")
    COMMENT_DELETED = "comment_deleted", _("Someone else's comment deleted")
    SHARE_LINK_CREATED = "share_link_created", _("Share link created")
    SHARE_LINK_REVOKED = "share_link_revoked", _("Share link revoked")
    # Signing in.
    SIGNED_IN = "signed_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    # A superuser's change in /admin/ (playground/audit/admin_actions.py).
    ADMIN_ADDED = "admin_added", _("Added in the admin")
    ADMIN_CHANGED = "admin_changed", _("Changed in the admin")
    ADMIN_DELETED = "admin_deleted", _("Deleted in the admin")
    # Written by other apps: spend alerts (alerts/), personal API tokens (apitokens/).
    SPEND_ALERT = "spend_alert", _("Spend alert")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")


# How the audit page names the fields of `changes` (an unknown one shows as stored).
FIELD_LABELS = {
    "role": _("role"),
    "monthly_cap_credits": _("monthly cap (credits)"),
    "monthly_budget_credits": _("monthly budget (credits)"),
    "member_jobs_in_flight_limit": _("jobs in flight per member"),
    "member_images_per_hour_limit": _("images per hour per member"),
    "label": _("label"),
    "key": _("key"),
    "priority": _("priority"),
    "enabled": _("enabled"),
    "low_balance_threshold": _("low-balance warning below"),
    "scope": _("scope"),
    "spend": _("paid check"),
    "owner": _("made by"),
    "model": _("model"),
    "images": _("images"),
    "reviewer": _("reviewer"),
    "thresholds": _("alert thresholds (%)"),
    "webhook_url": _("webhook"),
    "webhook_secret": _("webhook signing secret"),
    "kind": _("kind"),
    "threshold": _("threshold"),
    "spent": _("spent"),
    "limit": _("limit"),
    "notified": _("notified"),
    "expires_at": _("expires"),
    "reason": _("reason"),
    "password": _("password"),
    "show_prompts": _("shows prompts"),
    "show_names": _("shows names"),
    "approved_only": _("approved images only"),
    "fields": _("fields"),
    "author": _("written by"),
    "status": _("EvoLink's answer (HTTP status)"),
}


@dataclass(frozen=True)
class Change:
    """One line of an entry as the page shows it: a field, before → after."""

    field: str
    before: Any
    after: Any


def _shown(value: Any) -> Any:
    if value is True:
        return _("on")
    if value is False:
        return _("off")
    if isinstance(value, list):
        value = ", ".join(str(_shown(item)) for item in value)
    # Nothing before (a first webhook URL, no thresholds) reads as the page's dash, like
    # None, not as a blank before the arrow.
    return None if value == "" else value


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry inside the application."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit entries are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are only removed by the retention purge.")

    def purge_expired(self, *, now: Any = None) -> int:
        """Delete the entries past the retention period: the one path that removes
        entries (besides their team's deletion). How many went."""
        # The plain QuerySet's delete, which this class refuses to everyone else.
        return models.QuerySet.delete(self.expired(now=now))[0]

    def of_team(self, team: Team) -> AuditEntryQuerySet:
        return self.filter(team=team)

    def expired(self, *, now: Any = None) -> AuditEntryQuerySet:
        """Entries older than the retention period (AUDIT_RETENTION_DAYS)."""
        now = now or timezone.now()
        return self.filter(created_at__lt=now - timedelta(days=settings.AUDIT_RETENTION_DAYS))


class AuditEntry(models.Model):
    # Null for what belongs to no team (a failed sign-in of an unknown name, a
    # superuser's action outside teams). SET_NULL would lose which team it was, but a
    # deleted team takes its log with it: there is no one left to read it.
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("team"),
    )
    # The person who acted; null once their account is deleted (their name stays in
    # actor_name), or for the system (a spend alert) and unknown names.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    actor_name = models.CharField(_("person's name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target = models.CharField(_("target"), max_length=300, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["team", "-created_at"], name="audit_team_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are only removed by the retention purge.")

    def change_lines(self) -> list[Change]:
        return [
            Change(str(FIELD_LABELS.get(field, field)), _shown(pair[0]), _shown(pair[1]))
            for field, pair in self.changes.items()
        ]
