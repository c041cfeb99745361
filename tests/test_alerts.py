"""Spend alerts: a crossing tells the team's admins once per month, by e-mail and a
signed webhook to a real HTTP receiver on loopback (tests/webhook_receiver.py),
retried with backoff; keys running low or switched off by EvoLink alert too; every
alert is in the audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone

from playground.alerts import crossings, tasks
from playground.alerts.models import AlertSettings, Delivery, DeliveryState, Kind, SpendAlert
from playground.audit.models import Action, AuditEntry
from playground.billing.models import ApiKey
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.factories import make_generation, stored_key
from tests.queue import drain, queued_tasks
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def form() -> dict[str, str]:
    # gpt-image-1, low, 1024×1024: ≈ 0.67 credits (tests/test_budgets.py).
    return {
        "model": "gpt-image-1",
        "prompt": "an alert test",
        "size": "1024x1024",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }


def with_webhook(team: Team, url: str) -> str:
    found = AlertSettings.of(team)
    found.webhook_url = url
    secret = found.new_secret()
    found.save()
    return secret


# The signals are sent once the change commits; a test's transaction never does, so
# the callbacks are run as the commit would run them.
committed = TestCase.captureOnCommitCallbacks


def spend(owner: User, credits: str) -> Generation:
    """A finished job whose charge is reported through the worker's path (transition),
    which sends the spend signal."""
    job = make_generation(owner, state=State.RUNNING, estimated_credits=Decimal(0))
    with committed(execute=True):
        Generation.objects.transition(
            job.pk, State.RUNNING, state=State.COMPLETED, credits_charged=Decimal(credits)
        )
    return job


def test_a_job_that_passes_80_percent_emails_the_admins_and_posts_a_signed_webhook(
    ada: User,
    alice: User,
    alice_client: Client,
    team_a: Team,
    receiver: Receiver,
) -> None:
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    secret = with_webhook(team_a, receiver.url)
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("0.2"))
    with committed(execute=True):
        assert alice_client.post("/t/a/", form()).status_code == 302  # 0.2 + 0.67 = 87 %

    alert = SpendAlert.objects.get(threshold=80)
    assert alert.kind == Kind.BUDGET
    assert alert.text == "Team Team A has used 80% of its monthly budget: 0.87 of 1.00 credits."
    # 50 % was passed on the way: recorded, so it never notifies later, but only the
    # highest threshold reached notifies.
    assert sorted(SpendAlert.objects.values_list("threshold", flat=True)) == [50, 80]
    assert not Delivery.objects.filter(alert__threshold=50).exists()
    # The worker's tasks (the job's own submit is queued too: not run here).
    assert [t["func"] for t in queued_tasks()].count("playground.alerts.tasks.deliver") == 2
    assert tasks.deliver_due() == 2
    (email,) = mail.outbox
    assert email.to == ["ada@example.com"] and alert.text in email.body
    (hook,) = receiver.wait_for(1)
    assert json.loads(hook.body)["text"] == alert.text
    expected = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Playground-Signature"] == expected
    assert hook.headers["Content-Type"] == "application/json"
    deliveries = Delivery.objects.filter(alert=alert)
    assert {(d.channel, d.state, d.attempts) for d in deliveries} == {
        ("email", DeliveryState.DELIVERED, 1),
        ("webhook", DeliveryState.DELIVERED, 1),
    }
    # Each alert is in the audit log, by the system, saying whom it told.
    entry = AuditEntry.objects.get(action=Action.SPEND_ALERT, team=team_a, target=alert.text)
    assert entry.actor is None and entry.actor_name == ""
    assert entry.changes["threshold"] == [None, 80]
    assert entry.changes["notified"] == [None, "email, webhook"]
    assert entry.changes["spent"] == [None, "0.87"]
    assert AuditEntry.objects.filter(action=Action.SPEND_ALERT).count() == 2


def test_a_crossing_alerts_once_a_month_however_often_it_is_checked(
    ada: User, alice: User, team_a: Team
) -> None:
    team_a.monthly_budget_credits = Decimal("10")
    team_a.save()
    spend(alice, "6")
    spend(alice, "1")
    assert list(SpendAlert.objects.values_list("threshold", flat=True)) == [50]
    assert crossings.check_spend(team_a.pk, alice.pk) == []
    assert crossings.sweep() == 0
    spend(alice, "1.5")  # 85 %
    assert sorted(SpendAlert.objects.values_list("threshold", flat=True)) == [50, 80]
    assert len(mail.outbox) == 0  # sent by the worker, not here
    drain()
    assert len(mail.outbox) == 2
    # Last month's alert does not stop this month's.
    SpendAlert.objects.update(month=crossings.this_month() - timedelta(days=1))
    assert crossings.check_spend(team_a.pk) != []


def test_the_sweep_raises_what_no_signal_reported(
    ada: User, alice: User, bob: User, team_a: Team
) -> None:
    team_a.monthly_budget_credits = Decimal("10")
    team_a.save()
    Membership.objects.filter(user=bob).update(monthly_cap_credits=Decimal("1"))
    # Written without the worker's path: no signal (a worker died after its commit).
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("5"))
    make_generation(bob, state=State.COMPLETED, credits_charged=Decimal("1"))
    assert not SpendAlert.objects.exists()
    assert crossings.sweep() == 4  # the budget's 50 %, bob's cap's 50, 80 and 100 %
    assert crossings.sweep() == 0
    assert Delivery.objects.count() == 2  # the highest of each, to ada


def test_a_members_cap_alerts_for_that_member(ada: User, alice: User, bob: User) -> None:
    Membership.objects.filter(user=alice).update(monthly_cap_credits=Decimal("2"))
    spend(bob, "5")  # bob has no cap, and the team no budget
    assert not SpendAlert.objects.exists()
    spend(alice, "2")
    alert = SpendAlert.objects.get(threshold=100)
    assert (alert.kind, alert.member) == (Kind.CAP, alice)
    assert alert.text == (
        "alice has used 100% of their monthly cap in team Team A: 2.00 of 2.00 credits."
    )
    assert SpendAlert.objects.filter(kind=Kind.CAP, member=alice).count() == 3
    assert Delivery.objects.filter(alert__threshold=100).count() == 1  # e-mail: no webhook


def test_the_team_chooses_its_thresholds(ada: User, alice: User, team_a: Team) -> None:
    team_a.monthly_budget_credits = Decimal("10")
    team_a.save()
    AlertSettings.objects.create(team=team_a, thresholds=[25, 90])
    spend(alice, "6")
    assert list(SpendAlert.objects.values_list("threshold", flat=True)) == [25]


def test_a_failing_receiver_is_retried_with_growing_waits_then_delivered(
    ada: User, alice: User, team_a: Team, receiver: Receiver, settings: Any
) -> None:
    settings.ALERTS_RETRY_SECONDS = 30
    receiver.fail_first = 2
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    with_webhook(team_a, receiver.url)
    spend(alice, "1")
    webhook = Delivery.objects.get(channel="webhook")
    now = timezone.now()

    assert tasks.deliver(webhook.pk, now) == "will retry"
    webhook.refresh_from_db()
    assert (webhook.attempts, webhook.state) == (1, DeliveryState.PENDING)
    assert webhook.last_error == "HTTP 500: boom"
    assert webhook.next_attempt_at == now + timedelta(seconds=30)
    # Not due yet: running the task again (or the sweep) sends nothing.
    assert tasks.deliver(webhook.pk, now + timedelta(seconds=29)) == "not due"
    assert tasks.deliver_due(now + timedelta(seconds=29)) == 1  # only the e-mail
    assert len(receiver.requests) == 1

    later = now + timedelta(seconds=30)
    assert tasks.deliver(webhook.pk, later) == "will retry"
    webhook.refresh_from_db()
    assert webhook.next_attempt_at == later + timedelta(seconds=120)  # 30 s × 4

    last = later + timedelta(seconds=120)
    assert tasks.deliver_due(last) == 1
    webhook.refresh_from_db()
    assert (webhook.attempts, webhook.state) == (3, DeliveryState.DELIVERED)
    bodies = {r.body for r in receiver.wait_for(3)}
    ids = {r.headers["X-Playground-Delivery"] for r in receiver.requests}
    assert len(bodies) == 1 and ids == {str(webhook.pk)}  # the same delivery each time
    assert tasks.deliver(webhook.pk, last + timedelta(hours=1)) == "not due"  # done


def test_it_gives_up_after_the_last_attempt(
    ada: User, alice: User, team_a: Team, receiver: Receiver, settings: Any
) -> None:
    settings.ALERTS_MAX_ATTEMPTS = 2
    receiver.fail_first = 5
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    with_webhook(team_a, receiver.url)
    spend(alice, "1")
    webhook = Delivery.objects.get(channel="webhook")
    now = timezone.now()
    assert tasks.deliver(webhook.pk, now) == "will retry"
    assert tasks.deliver(webhook.pk, now + timedelta(hours=1)) == "gave up"
    webhook.refresh_from_db()
    assert (webhook.state, webhook.attempts) == (DeliveryState.FAILED, 2)


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(
    ada: User, alice: User, team_a: Team, receiver: Receiver, settings: Any
) -> None:
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    with_webhook(team_a, receiver.url)
    spend(alice, "1")
    webhook = Delivery.objects.get(channel="webhook")
    assert tasks.deliver(webhook.pk) == "gave up"
    webhook.refresh_from_db()
    assert "private address (127.0.0.1)" in webhook.last_error
    assert receiver.requests == []


def test_a_key_under_its_threshold_alerts_once(ada: User, team_a: Team) -> None:
    key = stored_key("Main", "sk-evo-main-0001", team_a, priority=1)
    ApiKey.objects.filter(pk=key.pk).update(low_balance_threshold=Decimal("100"))
    key.refresh_from_db()
    with committed(execute=True):
        key.record_credits({"user": {"remaining_credits": 500}})
    assert not SpendAlert.objects.exists()
    with committed(execute=True):
        key.record_credits({"user": {"remaining_credits": 40}})
    with committed(execute=True):
        key.record_credits({"user": {"remaining_credits": 30}})
    alert = SpendAlert.objects.get()
    assert (alert.kind, alert.team, alert.key) == (Kind.KEY_LOW, team_a, key)
    assert "40.00 credits left" in alert.text
    assert AuditEntry.objects.filter(action=Action.SPEND_ALERT).count() == 1


def test_a_key_switched_off_by_evolink_alerts_each_time(ada: User, team_a: Team) -> None:
    key = stored_key("Main", "sk-evo-main-0001", team_a, priority=1)
    with committed(execute=True):
        key.record_refusal(402, "Insufficient credits.")
    with committed(execute=True):
        key.record_refusal(402, "Insufficient credits.")  # already off: no second alert
    alert = SpendAlert.objects.get()
    assert alert.kind == Kind.KEY_DISABLED
    assert "Insufficient credits." in alert.text
    drain()
    assert mail.outbox[0].to == ["ada@example.com"]
    ApiKey.objects.filter(pk=key.pk).update(enabled=True)  # an admin switched it on
    with committed(execute=True):
        key.record_refusal(401, "Invalid key.")
    assert SpendAlert.objects.count() == 2
    with committed(execute=True):
        key.record_refusal(403, "Model not allowed.", code="model_access_denied", model="x")
    assert SpendAlert.objects.count() == 2  # a model refusal does not switch it off
