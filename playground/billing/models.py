"""Upstream API keys: stored encrypted, never shown again, chosen by the worker.

A key serves one team, or every team when it has none (a shared key). Which key pays
for a job: the team's enabled keys by priority (lowest number first), then the shared
ones, then EVOLINK_API_KEY from the environment as the last fallback. The worker picks
at submit time and the job records the key; the web process only ever encrypts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from playground import catalogue, stored_messages
from playground.audit.log import record
from playground.audit.models import Action
from playground.billing import crypto, signals

if TYPE_CHECKING:
    # Only for annotations: billing does not import teams at run time.
    from playground.teams.models import Team

MASK_PREFIX = "sk-evo-…"
# 401: the key is wrong or revoked; 402: its credits are gone (or it was disabled or
# expired upstream). Both stop the key until an admin looks, except a key's *daily*
# quota, which rests the key until midnight. A 403 (this key may not use this model)
# is recorded on the key for that model, the next key is tried, and the key stays on.
DISABLING_STATUSES = frozenset({401, 402})
REFUSING_STATUSES = frozenset({401, 402, 403})
PAUSING_CODES = frozenset({"key_daily_quota_exceeded"})
MODEL_DENYING_CODES = frozenset({"model_access_denied", "key_model_not_allowed", "forbidden"})


def next_midnight(now: datetime | None = None) -> datetime:
    """When a daily quota resets. INFERRED: EvoLink says "midnight" without a time zone;
    the site's own (settings.TIME_ZONE) is the best guess, and a wrong guess only means
    one refused create that pauses the key again."""
    local = timezone.localtime(now or timezone.now())
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def mask(last4: str) -> str:
    """All that is ever shown of a secret."""
    return f"{MASK_PREFIX}{last4}"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def paying_for(self, team: Team, model: str = "") -> list[ApiKey]:
        """The keys that may pay for a job of `team` (of `model`), in the order they are
        tried: enabled, not resting until midnight, not refused for that model."""
        now = timezone.now()
        usable = (
            self.filter(enabled=True)
            .filter(Q(team=team) | Q(team__isnull=True))
            .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        )
        # The team's own keys first, then the shared ones; each by priority.
        keys = sorted(usable, key=lambda k: (k.team_id is None, k.priority, k.pk))
        return [k for k in keys if not model or model not in k.denied_models]

    def for_team_admins(self, team: Team) -> ApiKeyQuerySet:
        """What a team's admins see: their keys and the shared ones."""
        return self.filter(Q(team=team) | Q(team__isnull=True)).order_by(
            models.F("team").asc(nulls_last=True), "priority", "pk"
        )


class ApiKey(models.Model):
    label = models.CharField(_("label"), max_length=100)
    # Fernet token (see crypto.py); never rendered anywhere.
    secret_encrypted = models.TextField(editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)
    team = models.ForeignKey(
        "teams.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        verbose_name=_("team"),
        help_text=_("Empty: a shared key that pays for every team after its own keys."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=10, help_text=_("Lower numbers are tried first.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The last reading of GET /v1/credits with this key.
    account_credits = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    key_credits = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    key_unlimited = models.BooleanField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_requested_at = models.DateTimeField(null=True, blank=True)
    low_balance_threshold = models.DecimalField(
        _("low-balance warning below"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Team admins see a warning in the studio when the credits left fall below."),
    )
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    disabled_automatically_at = models.DateTimeField(null=True, blank=True)
    # A key's daily quota ran out: it rests until then (it is not disabled).
    paused_until = models.DateTimeField(null=True, blank=True)
    # Models EvoLink refused for this key (403 model_access_denied): skipped for those.
    denied_models = models.JSONField(default=list, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "priority", "pk"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.label} ({self.masked})"

    @property
    def masked(self) -> str:
        return mask(self.secret_last4)

    @sensitive_variables("plain")
    def set_secret(self, plain: str) -> None:
        """Store a new secret (encrypted); it can be replaced, never read back."""
        plain = plain.strip()
        self.secret_encrypted = crypto.encrypt(plain)
        self.secret_last4 = plain[-4:]

    def reveal(self) -> str:
        """The secret in clear: for the worker's request to EvoLink, and nothing else."""
        return crypto.decrypt(self.secret_encrypted)

    @property
    def credits_left(self) -> Decimal | None:
        """What this key can still spend: its own limit, else the account's balance."""
        if self.key_credits is not None and not self.key_unlimited:
            return min(self.key_credits, self.account_credits or self.key_credits)
        return self.account_credits

    @property
    def is_low(self) -> bool:
        left = self.credits_left
        return (
            self.low_balance_threshold is not None
            and left is not None
            and left < self.low_balance_threshold
        )

    @property
    def last_error_text(self) -> str:
        """The last refusal (stored in English) in the reader's language."""
        return stored_messages.readable(self.last_error)

    @property
    def is_paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > timezone.now()

    @property
    def denied_model_labels(self) -> list[str]:
        return [getattr(catalogue.MODELS.get(m), "label", m) for m in self.denied_models]

    def record_refusal(
        self, status: int | None, message: str, *, code: str = "", model: str = ""
    ) -> None:
        """EvoLink refused this key (no task was created): say why, and stop using it
        (until midnight for a daily quota, for `model` only for a model refusal, else
        until someone acts)."""
        now = timezone.now()
        changes: dict[str, Any] = {"last_error": message, "last_error_at": now}
        if code in PAUSING_CODES:
            changes["paused_until"] = next_midnight(now)
        elif code in MODEL_DENYING_CODES or status == 403:
            if model and model not in self.denied_models:
                changes["denied_models"] = [*self.denied_models, model]
        elif status in DISABLING_STATUSES:
            changes.update(enabled=False, disabled_automatically_at=now)
        with transaction.atomic():
            switched_off = ApiKey.objects.filter(pk=self.pk, enabled=True).update(**changes)
            if not switched_off:
                # Already off (or gone): keep the reason, and tell nobody a second time.
                ApiKey.objects.filter(pk=self.pk).update(**changes)
            elif changes.get("enabled") is False:
                # EvoLink switched it off, not a person: the team's log says so, with
                # the status EvoLink answered (its message stays on the key).
                record(
                    Action.KEY_DISABLED,
                    team=self.team,
                    actor=None,
                    actor_name="EvoLink",
                    target=self.label,
                    changes={"enabled": [True, False], "status": [None, status]},
                )
                signals.send_on_commit(signals.key_disabled, self.pk)

    def record_use(self) -> None:
        ApiKey.objects.filter(pk=self.pk).update(last_used_at=timezone.now())

    def record_credits(self, data: dict[str, Any]) -> None:
        """Store a GET /v1/credits answer: the account's and the key's remaining."""
        user, token = data.get("user") or {}, data.get("token") or {}
        ApiKey.objects.filter(pk=self.pk).update(
            account_credits=_decimal(user.get("remaining_credits")),
            key_credits=_decimal(token.get("remaining_credits")),
            key_unlimited=bool(token.get("unlimited_credits")) if token else None,
            checked_at=timezone.now(),
        )
        signals.send_on_commit(signals.credits_recorded, self.pk)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


@dataclass(frozen=True)
class Payer:
    """A key the worker may submit with: a stored key, or the environment's fallback."""

    key: ApiKey | None
    secret: str = field(repr=False)  # never in a log line or a traceback's locals

    @property
    def key_id(self) -> int | None:
        return self.key.pk if self.key else None

    @property
    def label(self) -> str:
        return str(self.key) if self.key else "EVOLINK_API_KEY"


@sensitive_variables("payers")
def payers_for(team: Team, model: str = "") -> list[Payer]:
    """Who may pay for a job of `team` (of `model`), in order. Decrypts: worker
    processes only."""
    payers = [Payer(key, key.reveal()) for key in ApiKey.objects.paying_for(team, model)]
    if settings.EVOLINK_API_KEY:
        payers.append(Payer(None, settings.EVOLINK_API_KEY))
    return payers


def resting_until(team: Team) -> datetime | None:
    """When the first of the team's resting keys (daily quota) works again, if any."""
    now = timezone.now()
    return (
        ApiKey.objects.filter(enabled=True, paused_until__gt=now)
        .filter(Q(team=team) | Q(team__isnull=True))
        .order_by("paused_until")
        .values_list("paused_until", flat=True)
        .first()
    )


def admin_warnings(team: Team) -> list[str]:
    """What a team's admins should know before their colleagues' jobs fail."""
    warnings = []
    keys = list(ApiKey.objects.for_team_admins(team))
    for key in keys:
        if not key.enabled and key.disabled_automatically_at:
            warnings.append(
                _("Key “%(key)s” was switched off: %(reason)s")
                % {"key": key, "reason": key.last_error_text}
            )
        elif key.enabled and key.is_paused:
            warnings.append(
                _("Key “%(key)s” rests until %(when)s: its daily quota is used up.")
                % {"key": key, "when": timezone.localtime(key.paused_until).strftime("%H:%M")}
            )
        elif key.enabled and key.is_low:
            warnings.append(
                _("Key “%(key)s” is running low: %(left)s credits left.")
                % {"key": key, "left": f"{key.credits_left:,.2f}"}
            )
    # No key at all is said beside Generate, per model and role (billing/paying.py).
    return [str(w) for w in warnings]


def secret_for(key_id: int | None) -> str:
    """The secret a job was submitted with, to keep reading its task with it."""
    if key_id is None:
        return settings.EVOLINK_API_KEY
    return ApiKey.objects.get(pk=key_id).reveal()


class ContractCheck(models.Model):
    """One run of the contract check (playground/evolink/contract.py) with one key:
    from the keys page's "Check contract" button or `manage.py evolink_check`.

    The row is the result page's truth: a worker claims it (queued -> running) with a
    compare-and-set, so a re-delivered task never spends twice, and writes each row of
    the table as it is seen."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        CRASHED = "crashed", _("Stopped by an error")

    class Outcome(models.TextChoices):
        PASSED = "passed", _("Passed")
        DIFFERS = "differs", _("Differs")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    # The keys page it was started from (None: from the command line).
    team = models.ForeignKey(
        "teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # None: EVOLINK_API_KEY from the environment (`evolink_check --env`), or a key deleted
    # since; `key_label` says which.
    key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="contract_checks"
    )
    key_label = models.CharField(max_length=200)
    base_url = models.CharField(max_length=500)
    spend = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # contract.Row as dicts: step, field, expected (English msgid), outcome, seen.
    rows = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    error = models.TextField(blank=True)
    # What the paid job left behind, for EvoLink's support and the operator.
    task_id = models.CharField(max_length=100, blank=True)
    request_ids = models.JSONField(default=list, blank=True)
    credits_used = models.DecimalField(max_digits=14, decimal_places=5, null=True, blank=True)
    archive = models.CharField(max_length=300, blank=True)  # storage name of the image

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("contract check")

    def __str__(self) -> str:
        return f"contract check {self.pk} ({self.key_label})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.CRASHED)

    @property
    def differences(self) -> list[dict[str, str]]:
        return [row for row in self.rows if row.get("outcome") != "expected"]
