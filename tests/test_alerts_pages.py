"""The spend alerts' card on the team page and its own page: thresholds and the webhook
edited by admins, the signing secret shown once, the delivery history."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, TestCase
from django.utils import timezone

from playground.alerts import crossings, tasks
from playground.alerts.models import AlertSettings, Delivery
from playground.audit.models import Action, AuditEntry
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.factories import make_generation
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def test_admins_see_the_card_on_the_team_page_and_members_do_not(
    ada_client: Client, alice_client: Client
) -> None:
    assert 'data-testid="spend-alerts"' in ada_client.get("/t/a/members/").content.decode()
    assert 'value="50, 80, 100"' in ada_client.get("/t/a/members/").content.decode()
    assert "spend-alerts" not in alice_client.get("/t/a/members/").content.decode()


def test_thresholds_are_saved_sorted_and_written_to_the_audit_log(
    ada_client: Client, team_a: Team
) -> None:
    response = ada_client.post(
        "/t/a/alerts/settings/", {"thresholds": "90, 25%, 60", "webhook_url": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/t/a/members/#spend-alerts"
    assert AlertSettings.objects.get(team=team_a).thresholds == [25, 60, 90]
    entry = AuditEntry.objects.get(action=Action.BUDGET_CHANGED, target="spend alerts")
    assert entry.changes == {"thresholds": [[50, 80, 100], [25, 60, 90]]}
    assert entry.actor_name == "ada"


@pytest.mark.parametrize("text", ["", "fifty", "0, 50", "50, 300", ",".join(["5"] * 11 + ["6"])])
def test_bad_thresholds_are_refused_with_a_sentence_and_the_input_kept(
    ada_client: Client, team_a: Team, text: str
) -> None:
    response = ada_client.post(
        "/t/a/alerts/settings/",
        {"thresholds": text, "webhook_url": "https://hooks.example.com/x"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Thresholds are whole percentages from 1 to 200" in html
    assert 'value="https://hooks.example.com/x"' in html  # nothing lost
    assert not AlertSettings.objects.filter(team=team_a).exists()


def test_a_plain_http_webhook_is_refused_unless_the_operator_allows_private_ones(
    ada_client: Client, settings: Any
) -> None:
    data = {"thresholds": "80", "webhook_url": "http://hooks.example.com/x"}
    html = ada_client.post("/t/a/alerts/settings/", data).content.decode()
    assert "The webhook URL must start with https://." in html
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    assert ada_client.post("/t/a/alerts/settings/", data).status_code == 200  # the secret


def test_the_signing_secret_is_shown_once_stored_encrypted_and_renewable(
    ada: User, alice: User, ada_client: Client, team_a: Team, receiver: Receiver
) -> None:
    response = ada_client.post(
        "/t/a/alerts/settings/", {"thresholds": "100", "webhook_url": receiver.url}
    )
    first = _shown_secret(response.content.decode())
    found = AlertSettings.objects.get(team=team_a)
    assert first not in found.webhook_secret_encrypted and found.secret() == first
    assert first not in ada_client.get("/t/a/members/").content.decode()
    # Saving again keeps the secret.
    ada_client.post("/t/a/alerts/settings/", {"thresholds": "100", "webhook_url": receiver.url})
    assert AlertSettings.objects.get(team=team_a).secret() == first

    second = _shown_secret(ada_client.post("/t/a/alerts/secret/").content.decode())
    assert second != first
    entry = AuditEntry.objects.filter(target="spend alerts").order_by("-pk").first()
    assert entry is not None and entry.changes == {"webhook_secret": ["[hidden]", "[hidden]"]}
    # Deliveries are signed with the new secret.
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    _spend(alice, team_a)
    tasks.deliver_due()
    (hook,) = receiver.wait_for(1)
    signature = hook.headers["X-Playground-Signature"]
    assert signature == "sha256=" + hmac.new(second.encode(), hook.body, hashlib.sha256).hexdigest()
    assert json.loads(hook.body)["playground"]["threshold"] == 100


def test_the_history_shows_each_delivery_with_its_attempts_and_last_error(
    ada: User, alice: User, ada_client: Client, team_a: Team, receiver: Receiver
) -> None:
    receiver.fail_first = 1
    settings_row = AlertSettings(team=team_a, webhook_url=receiver.url)
    settings_row.new_secret()
    settings_row.save()
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    _spend(alice, team_a)
    tasks.deliver_due()
    html = ada_client.get("/t/a/members/").content.decode()
    assert "Team Team A has used 100% of its monthly budget" in html
    assert "Delivered" in html and "Waiting to be sent" in html
    assert "Last error: HTTP 500: boom" in html
    later = timezone.now() + tasks.backoff(1)
    tasks.deliver_due(later)
    html = ada_client.get("/t/a/alerts/").content.decode()
    assert html.count("Delivered") == 2 and "2 attempts" in html
    assert Delivery.objects.filter(state="delivered").count() == 2


def _spend(owner: User, team: Team) -> None:
    job = make_generation(owner, state=State.RUNNING, estimated_credits=Decimal(0))
    with TestCase.captureOnCommitCallbacks(execute=True):
        Generation.objects.transition(
            job.pk, State.RUNNING, state=State.COMPLETED, credits_charged=Decimal("1")
        )
    assert crossings.check_spend(team.pk) == []  # already raised by the signal


def _shown_secret(html: str) -> str:
    marker = 'data-testid="webhook-secret"'
    assert marker in html, "the secret is not shown"
    start = html.index('value="', html.rindex("<input", 0, html.index(marker))) + len('value="')
    return html[start : html.index('"', start)]
