"""Which alerts are due, and raising one: the row, its deliveries and its audit entry.

`check_spend` runs after each change of a job's counted spend (the generations app's
`spend_recorded` signal) and in a periodic sweep; `check_key` after each reading of a
key's credits; `key_switched_off` when EvoLink's refusal switched a key off. Each may
run any number of times, in any number of processes at once: `raise_alert` inserts the
row first, and the database's unique constraints (models.py) let one insert through
per crossing and month; only that one notifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from playground.alerts import tasks
from playground.alerts.models import AlertSettings, Channel, Delivery, Kind, SpendAlert
from playground.audit.log import record
from playground.audit.models import Action
from playground.billing.models import ApiKey
from playground.generations import budgets
from playground.teams.models import Membership, Role, Team


def this_month() -> date:
    return budgets.month_start().date()


@dataclass(frozen=True)
class Crossing:
    """A threshold the spend reached: what an alert row would say."""

    kind: str
    threshold: int
    spent: Decimal
    limit: Decimal
    member: User | None = None


def crossings(team: Team, owner_id: int | None) -> list[Crossing]:
    """Every threshold this month's spend has reached: of the team's budget, and of
    the cap of the member `owner_id` (if they have one)."""
    budget = team.monthly_budget_credits
    membership = (
        Membership.objects.select_related("user").filter(team=team, user_id=owner_id).first()
        if owner_id is not None
        else None
    )
    cap = membership.monthly_cap_credits if membership is not None else None
    if not budget and not cap:
        return []  # most teams: two queries, after every job
    thresholds = sorted(AlertSettings.of(team).thresholds)
    found: list[Crossing] = []
    if budget:
        spent = budgets.spent(team)
        found += [
            Crossing(Kind.BUDGET, t, spent, budget) for t in thresholds if spent * 100 >= budget * t
        ]
    if membership is not None and cap:
        spent = budgets.spent(team, membership.user)
        found += [
            Crossing(Kind.CAP, t, spent, cap, membership.user)
            for t in thresholds
            if spent * 100 >= cap * t
        ]
    return found


def check_spend(team_id: int, owner_id: int | None = None) -> list[SpendAlert]:
    """Raise the alerts of the thresholds reached and not yet alerted this month; of
    several reached at once (a big job), only the highest notifies."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return []
    month = this_month()
    raised: list[SpendAlert] = []
    found = crossings(team, owner_id)
    if not found:
        return []
    # What was raised already is skipped without trying (most checks, after the first
    # crossing: a matrix run checks once per job); the constraints still decide races.
    done = set(
        SpendAlert.objects.filter(
            team=team, month=month, kind__in=(Kind.BUDGET, Kind.CAP)
        ).values_list("kind", "member_id", "threshold")
    )
    for kind in (Kind.BUDGET, Kind.CAP):
        reached = [c for c in found if c.kind == kind]
        # Highest first: only the highest threshold reached notifies. The lower ones
        # are recorded (so that they never notify later this month), and so is nothing
        # when a higher one was raised already (by an earlier job, or by another
        # process this very moment): its message said more.
        for position, crossing in enumerate(sorted(reached, key=lambda c: -c.threshold)):
            member_id = crossing.member.pk if crossing.member else None
            if (kind, member_id, crossing.threshold) in done:
                continue
            alert = raise_alert(
                SpendAlert(
                    team=team,
                    kind=kind,
                    member=crossing.member,
                    month=month,
                    threshold=crossing.threshold,
                    spent=crossing.spent,
                    limit=crossing.limit,
                ),
                notify=position == 0,
            )
            if alert is not None:
                raised.append(alert)
    return raised


def check_key(key_id: int) -> SpendAlert | None:
    """A key whose credits left fell below its threshold: once per key and month."""
    key = ApiKey.objects.select_related("team").filter(pk=key_id).first()
    if key is None or not key.is_low or key.credits_left is None:
        return None
    return raise_alert(
        SpendAlert(
            team=key.team,
            kind=Kind.KEY_LOW,
            key=key,
            month=this_month(),
            spent=key.credits_left,
            limit=key.low_balance_threshold,
        )
    )


def key_switched_off(key_id: int) -> SpendAlert | None:
    """EvoLink refused a key and it was switched off: once per switching off."""
    key = ApiKey.objects.select_related("team").filter(pk=key_id).first()
    if key is None or key.enabled or key.disabled_automatically_at is None:
        return None
    return raise_alert(
        SpendAlert(
            team=key.team,
            kind=Kind.KEY_DISABLED,
            key=key,
            month=this_month(),
            occasion=key.disabled_automatically_at.isoformat(),
        )
    )


def raise_alert(alert: SpendAlert, *, notify: bool = True) -> SpendAlert | None:
    """Insert `alert`; if the database lets it in (its first crossing this month), plan
    its deliveries and write the audit entry in the same transaction, and send once
    that commits. None if the alert was already raised."""
    # Stored in English, like every message kept in a row (stored_messages.py): the
    # e-mail, the webhook and the audit log say this; the pages say `describe()` in
    # the reader's language.
    with translation.override("en"):
        alert.text = alert.describe()
    with transaction.atomic():
        try:
            with transaction.atomic():
                alert.save(force_insert=True)
        except IntegrityError:
            return None
        deliveries = plan_deliveries(alert) if notify else []
        record(
            Action.SPEND_ALERT,
            team=alert.team,
            actor=None,  # the system: the audit page says so
            target=alert.text,
            changes={
                "kind": [None, alert.kind],
                "threshold": [None, alert.threshold],
                "spent": [None, _rounded(alert.spent)],
                "limit": [None, _rounded(alert.limit)],
                "notified": [None, ", ".join(d.channel for d in deliveries) or "-"],
            },
        )
        for delivery in deliveries:
            tasks.enqueue_on_commit(delivery.pk)
    return alert


def _rounded(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def recipients(team: Team | None) -> list[str]:
    """Who is told by e-mail: the team's admins (a shared key's alert: superusers)."""
    if team is None:
        people = User.objects.filter(is_superuser=True, is_active=True)
    else:
        people = User.objects.filter(
            memberships__team=team, memberships__role=Role.ADMIN, is_active=True
        )
    return sorted({email for email in people.values_list("email", flat=True) if email})


def plan_deliveries(alert: SpendAlert) -> list[Delivery]:
    deliveries = []
    addresses = recipients(alert.team)
    if addresses:
        deliveries.append(Delivery(alert=alert, channel=Channel.EMAIL, target=", ".join(addresses)))
    if alert.team is not None:
        url = AlertSettings.of(alert.team).webhook_url
        if url:
            deliveries.append(Delivery(alert=alert, channel=Channel.WEBHOOK, target=url))
    now = timezone.now()
    for delivery in deliveries:
        delivery.next_attempt_at = now
        delivery.save()
    return deliveries


def sweep() -> int:
    """Check the spend of every team with a budget or a member with a cap (the
    periodic schedule): an alert whose signal was lost, for instance with its worker,
    is raised here. How many alerts were raised."""
    raised = 0
    for team_id in Team.objects.filter(monthly_budget_credits__gt=0).values_list("pk", flat=True):
        raised += len(check_spend(team_id))
    capped = Membership.objects.filter(monthly_cap_credits__gt=0).values_list("team_id", "user_id")
    for team_id, user_id in capped:
        raised += len(check_spend(team_id, user_id))
    return raised
