"""Monthly budgets and caps: refused on the page with the numbers, nothing sent, and
never passed by two people pressing Generate at the same moment."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from playground.generations import budgets
from playground.generations.creation import create_generation
from playground.generations.forms import form_for
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.factories import make_generation
from tests.queue import queued_tasks

pytestmark = pytest.mark.django_db

# gpt-image-1, low, 1024×1024: 272 output tokens at 2.448 credits / 1K (see
# test_pricing.py), plus the prompt "a budget test" (3 tokens at 0.306 / 1K, once a job).
JOB = (Decimal(272) * Decimal("2.448") + 3 * Decimal("0.306")) / 1000
JOB = JOB.quantize(Decimal("0.00001"))


def form(**data: str) -> dict[str, str]:
    return {
        "model": "gpt-image-1",
        "prompt": "a budget test",
        "size": "1024x1024",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
        **data,
    }


def test_a_job_past_the_team_budget_is_refused_with_the_numbers_and_nothing_is_sent(
    alice: User, alice_client: Client, team_a: Team
) -> None:
    team_a.monthly_budget_credits = Decimal("5")
    team_a.save()
    # 4.5 spent this month: a charge, a hold of a job in flight, an estimate; failed
    # jobs and last month's spend do not count.
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("2"))
    make_generation(alice, state=State.RUNNING, credits_reserved=Decimal("1.5"))
    make_generation(alice, state=State.QUEUED, estimated_credits=Decimal("1"))
    make_generation(alice, state=State.FAILED, credits_reserved=Decimal("9"))
    old = make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("50"))
    Generation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert budgets.spent(team_a) == Decimal("4.5")

    html = alice_client.post("/t/a/", form(n="1")).content.decode()
    assert Generation.objects.count() == 5  # the five above: nothing new
    assert "This job needs ≈ 0.67 credits; the team has 0.50 left this month" in html
    assert 'name="prompt"' in html and "a budget test" in html  # nothing lost
    assert queued_tasks() == []


def test_a_job_within_the_budget_goes_ahead(alice_client: Client, team_a: Team) -> None:
    team_a.monthly_budget_credits = Decimal("1")
    team_a.save()
    assert alice_client.post("/t/a/", form()).status_code == 302
    assert Generation.objects.get().estimated_credits == JOB
    assert alice_client.post("/t/a/", form()).status_code == 200  # 1.33 > 1
    assert Generation.objects.count() == 1


def test_a_members_monthly_cap_is_theirs_alone(
    alice: User, alice_client: Client, bob_client: Client, team_a: Team
) -> None:
    Membership.objects.filter(user=alice).update(monthly_cap_credits=Decimal("1"))
    assert alice_client.post("/t/a/", form()).status_code == 302
    html = alice_client.post("/t/a/", form()).content.decode()
    assert "you have 0.33 left this month in this team (your cap is 1.00)" in html
    assert bob_client.post("/t/a/", form()).status_code == 302  # bob has no cap
    assert Generation.objects.count() == 2


def test_rerun_is_refused_too(alice: User, alice_client: Client, team_a: Team) -> None:
    job = make_generation(
        alice,
        model="gpt-image-1",
        size="1024x1024",
        state=State.COMPLETED,
        credits_charged=Decimal("3"),
    )
    team_a.monthly_budget_credits = Decimal("3")
    team_a.save()
    response = alice_client.post(f"/generations/{job.public_id}/resubmit/", follow=True)
    assert "the team has 0.00 left this month" in response.content.decode()
    assert Generation.objects.count() == 1


def test_admins_are_warned_at_80_percent(
    alice: User, ada_client: Client, alice_client: Client, team_a: Team
) -> None:
    team_a.monthly_budget_credits = Decimal("10")
    team_a.save()
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("7.9"))
    assert "of its monthly budget" not in ada_client.get("/t/a/").content.decode()
    make_generation(alice, state=State.COMPLETED, credits_charged=Decimal("0.2"))
    assert "The team has used 81% of its monthly budget: 8.10 of 10.00 credits." in (
        ada_client.get("/t/a/").content.decode()
    )
    assert "monthly budget" not in alice_client.get("/t/a/").content.decode()


def test_team_admins_set_the_budget_and_caps_in_the_app(
    ada_client: Client, bob: User, team_a: Team
) -> None:
    ada_client.post("/t/a/budget/", {"monthly_budget_credits": "250.5"})
    team_a.refresh_from_db()
    assert team_a.monthly_budget_credits == Decimal("250.5")
    bob_membership = Membership.objects.get(user=bob)
    ada_client.post(
        f"/t/a/members/{bob_membership.pk}/role/", {"role": "member", "monthly_cap_credits": "20"}
    )
    bob_membership.refresh_from_db()
    assert bob_membership.monthly_cap_credits == Decimal("20")
    assert ada_client.post("/t/a/budget/", {"monthly_budget_credits": "-1"}).status_code == 400
    ada_client.post("/t/a/budget/", {"monthly_budget_credits": ""})
    team_a.refresh_from_db()
    assert team_a.monthly_budget_credits is None


@pytest.mark.django_db(transaction=True)
def test_two_people_pressing_generate_at_once_cannot_pass_the_budget(
    team_a: Team, alice: User, bob: User
) -> None:
    """Room for one job: two threads (two database connections) create at once."""
    team_a.monthly_budget_credits = JOB * Decimal("1.5")
    team_a.save()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def press(user: User) -> None:
        try:
            membership = Membership.objects.select_related("team", "user").get(user=user)
            bound = form_for("gpt-image-1")(form(), references=[])
            assert bound.is_valid(), bound.errors
            start.wait(timeout=10)
            create_generation(membership, bound)
            outcomes.append("created")
        except budgets.OverBudget:
            outcomes.append("refused")
        finally:
            connection.close()  # each thread's own connection, or teardown waits on it

    threads = [threading.Thread(target=press, args=(u,)) for u in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "refused"]
    assert Generation.objects.count() == 1
