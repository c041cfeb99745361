"""Two jobs crossing a threshold at the same moment make one alert: each is reported
in its own thread (its own database connection), both check at once, and the unique
constraints let one insert through. Run it on PostgreSQL too (DATABASE_URL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection

from playground.alerts import crossings
from playground.alerts.models import Delivery, SpendAlert
from playground.audit.models import Action, AuditEntry
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.factories import make_generation

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_jobs_crossing_at_once_make_one_alert(
    team_a: Team, ada: User, alice: User, bob: User
) -> None:
    team_a.monthly_budget_credits = Decimal("10")
    team_a.save()
    Membership.objects.filter(user=alice).update(monthly_cap_credits=Decimal("4"))
    jobs = {
        user.pk: make_generation(user, state=State.RUNNING, estimated_credits=Decimal(0))
        for user in (alice, bob)
    }
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def finish(user: User) -> None:
        try:
            start.wait(timeout=10)
            # The worker's path: the charge is written, the signal sent on commit.
            Generation.objects.transition(
                jobs[user.pk].pk,
                State.RUNNING,
                state=State.COMPLETED,
                credits_charged=Decimal("4.5"),
            )
            # And a direct check at the same moment (the sweep, a second worker).
            crossings.check_spend(team_a.pk, user.pk)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=finish, args=(u,)) for u in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    # 9 of 10: 50 % and 80 % once each; alice's cap (4.5 of 4) 50, 80 and 100 once each.
    budget = SpendAlert.objects.filter(kind="budget")
    assert sorted(budget.values_list("threshold", flat=True)) == [50, 80]
    cap = SpendAlert.objects.filter(kind="cap", member=alice)
    assert sorted(cap.values_list("threshold", flat=True)) == [50, 80, 100]
    # The highest threshold of each notifies, once (ada's e-mail; no webhook set).
    assert Delivery.objects.filter(alert__kind="budget").count() == 1
    assert Delivery.objects.filter(alert__kind="cap").count() == 1
    assert AuditEntry.objects.filter(action=Action.SPEND_ALERT).count() == 5
