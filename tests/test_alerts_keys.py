"""Key alerts through the real paths, against the simulator over HTTP: a balance read
with "Check" that falls under the key's threshold, and a key EvoLink refuses (402)
while a worker submits a job, which switches it off. The team's admins are told."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import TestCase

from playground.alerts.models import Kind, SpendAlert
from playground.billing.models import ApiKey
from playground.billing.tasks import check_credits
from playground.evolink.simulator import Simulator
from playground.generations import jobs
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.factories import make_generation
from tests.fixtures_keys import FIRST
from tests.queue import drain

pytestmark = pytest.mark.django_db

committed = TestCase.captureOnCommitCallbacks


def test_a_balance_check_under_the_threshold_tells_the_admins(
    ada: User, team_a: Team, two_keys: tuple[ApiKey, ApiKey], simulator: Simulator
) -> None:
    first, _second = two_keys
    ApiKey.objects.filter(pk=first.pk).update(low_balance_threshold=Decimal("100"))
    simulator.set_credits(500, key=FIRST)
    with committed(execute=True):
        assert check_credits(first.pk) == "checked"
    assert not SpendAlert.objects.exists()
    simulator.set_credits(42, key=FIRST)
    with committed(execute=True):
        assert check_credits(first.pk) == "checked"
    alert = SpendAlert.objects.get()
    assert (alert.kind, alert.key_id, alert.team) == (Kind.KEY_LOW, first.pk, team_a)
    drain()
    (email,) = mail.outbox
    assert email.to == ["ada@example.com"]
    assert "is running low: 42.00 credits left (warning below 100.00)" in email.body


def test_a_key_evolink_refuses_while_submitting_is_switched_off_and_reported(
    ada: User, alice: User, team_a: Team, two_keys: tuple[ApiKey, ApiKey], simulator: Simulator
) -> None:
    first, second = two_keys
    simulator.fail_creates(402, 1)
    job = make_generation(alice, state=State.QUEUED, prompt="a key alert test")
    with committed(execute=True):
        assert jobs.submit(job.pk) == "submitted"
    first.refresh_from_db()
    assert not first.enabled and Generation.objects.get(pk=job.pk).api_key == second
    alert = SpendAlert.objects.get(kind=Kind.KEY_DISABLED)
    assert alert.key_id == first.pk and "switched off after EvoLink refused it" in alert.text
    drain()
    assert [m.to for m in mail.outbox if "Key disabled" in m.subject] == [["ada@example.com"]]
