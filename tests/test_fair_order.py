"""The order queued jobs are sent in (round-robin between people and between teams,
oldest first within a person) and the per-member limits of a team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from playground.generations import fair_order
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.conftest import member
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(minutes=10)


def queue(
    owner: User, count: int, *, start: int, team: Team | None = None, **fields: Any
) -> list[Generation]:
    """`count` queued jobs of `owner`, made one second apart from `start` s after T0."""
    return [
        make_generation(
            owner,
            prompt=f"{owner.username} {i}",
            created_at=T0 + timedelta(seconds=start + i),
            team=team,
            **fields,
        )
        for i in range(count)
    ]


def names(jobs: list[Generation]) -> list[str]:
    return [job.prompt for job in jobs]


def test_two_people_take_turns_oldest_first_within_each(alice: User, bob: User) -> None:
    queue(alice, 4, start=0)  # alice's matrix run
    queue(bob, 2, start=5)  # bob presses Generate twice, later

    assert names(fair_order.waiting()) == [
        "alice 0",
        "bob 0",
        "alice 1",
        "bob 1",
        "alice 2",
        "alice 3",
    ]


def test_three_people_take_turns_in_the_order_their_jobs_were_made(
    alice: User, bob: User, ada: User
) -> None:
    queue(alice, 3, start=0)
    queue(ada, 1, start=30)
    queue(bob, 2, start=20)

    assert names(fair_order.waiting()) == [
        "alice 0",
        "bob 0",
        "ada 0",
        "alice 1",
        "bob 1",
        "alice 2",
    ]


def test_teams_take_turns_and_people_take_turns_within_a_team(
    alice: User, bob: User, charlie: User, team_b: Team
) -> None:
    queue(alice, 3, start=0)
    queue(bob, 1, start=10)
    queue(charlie, 2, start=20)

    # Team A's own order is alice 0, bob 0, alice 1, alice 2; team B's charlie 0, 1.
    assert names(fair_order.waiting()) == [
        "alice 0",
        "charlie 0",
        "bob 0",
        "charlie 1",
        "alice 1",
        "alice 2",
    ]
    assert names(fair_order.waiting(team_b)) == ["charlie 0", "charlie 1"]
    assert names(fair_order.waiting(limit=2)) == ["alice 0", "charlie 0"]


def test_a_colleagues_single_job_is_second_behind_a_matrix_run(alice: User, bob: User) -> None:
    queue(alice, 200, start=0)
    (single,) = queue(bob, 1, start=300)

    assert fair_order.ahead_of(single) == 1
    assert fair_order.waiting()[1] == single


def test_only_queued_jobs_due_now_wait(alice: User) -> None:
    later = timezone.now() + timedelta(seconds=30)
    sent, retrying, due = queue(alice, 3, start=0)
    Generation.objects.filter(pk=sent.pk).update(state=State.RUNNING)
    Generation.objects.filter(pk=retrying.pk).update(not_before=later)

    assert fair_order.waiting() == [due]
    retrying.refresh_from_db()
    assert fair_order.ahead_of(retrying) == 1  # after everything waiting now
    sent.refresh_from_db()
    assert fair_order.ahead_of(sent) == 0


def test_no_limits_hold_nothing_back(alice: User) -> None:
    jobs = queue(alice, 3, start=0)
    Generation.objects.filter(pk=jobs[0].pk).update(state=State.RUNNING)

    assert fair_order.held_back(jobs[2]) is None
    assert len(fair_order.waiting()) == 2


def test_the_in_flight_limit_holds_jobs_back_and_releases_them(
    alice: User, bob: User, team_a: Team
) -> None:
    Team.objects.filter(pk=team_a.pk).update(member_jobs_in_flight_limit=2)
    first, second, third, fourth = queue(alice, 4, start=0)
    (bobs,) = queue(bob, 1, start=10)
    Generation.objects.filter(pk=first.pk).update(state=State.RUNNING)

    # Alice has 1 job in flight: one more of hers may go, the others wait; bob's goes.
    assert fair_order.waiting() == [second, bobs]
    held = fair_order.held_back(third)
    assert held == fair_order.HeldBack(
        reason="Waiting: you have 2 jobs in flight, your team's limit", limit=2, kind="in_flight"
    )
    assert fair_order.held_back(fourth) == held
    assert fair_order.held_back(second) is None
    assert fair_order.held_back(bobs) is None
    assert fair_order.ahead_of(third) == 2

    # Her second job is sent: still two in flight, so nothing more of hers goes.
    Generation.objects.filter(pk=second.pk).update(state=State.SUBMITTING)
    assert fair_order.waiting() == [bobs]

    # One ends: the oldest held job is released, the next still waits.
    Generation.objects.filter(pk=first.pk).update(state=State.COMPLETED)
    assert fair_order.waiting() == [third, bobs]
    assert fair_order.held_back(third) is None
    assert fair_order.held_back(fourth) is not None

    # The admin lifts the limit: everything goes.
    Team.objects.filter(pk=team_a.pk).update(member_jobs_in_flight_limit=None)
    assert fair_order.waiting() == [third, bobs, fourth]
    assert fair_order.held_back(fourth) is None


def test_the_hourly_limit_counts_images_sent_in_the_last_hour(
    alice: User, bob: User, team_a: Team
) -> None:
    Team.objects.filter(pk=team_a.pk).update(member_images_per_hour_limit=6)
    now = timezone.now()
    (old,) = queue(alice, 1, start=0, n=4)
    (recent,) = queue(alice, 1, start=1, n=3)
    Generation.objects.filter(pk=old.pk).update(
        state=State.COMPLETED, submitted_at=now - timedelta(minutes=61)
    )
    Generation.objects.filter(pk=recent.pk).update(
        state=State.COMPLETED, submitted_at=now - timedelta(minutes=30)
    )
    two, four = queue(alice, 1, start=2, n=2) + queue(alice, 1, start=3, n=1)
    (bobs,) = queue(bob, 1, start=4, n=4)

    # 3 images in the hour (the 4 of 61 minutes ago no longer count): 2 more fit (5),
    # then 1 more (6); bob has sent nothing.
    assert fair_order.waiting() == [two, bobs, four]

    (big,) = queue(alice, 1, start=5, n=2)
    held = fair_order.held_back(big)
    assert held is not None
    assert (held.kind, held.limit) == ("per_hour", 6)
    assert "6 images" in held.reason
    assert big not in fair_order.waiting()

    # A claimed job counts before it is answered; the hour moving on releases.
    Generation.objects.filter(pk=two.pk).update(state=State.SUBMITTING)
    assert fair_order.held_back(big) is not None
    Generation.objects.filter(pk=recent.pk).update(submitted_at=now - timedelta(minutes=61))
    assert fair_order.held_back(big) is None
    assert big in fair_order.waiting()


def test_a_job_bigger_than_the_hourly_limit_goes_when_nothing_else_was_sent(
    alice: User, team_a: Team
) -> None:
    Team.objects.filter(pk=team_a.pk).update(member_images_per_hour_limit=2)
    (big,) = queue(alice, 1, start=0, n=4)

    assert fair_order.waiting() == [big]
    assert fair_order.held_back(big) is None


def test_a_limit_holds_back_only_its_own_teams_members(
    alice: User, team_a: Team, team_b: Team
) -> None:
    # Alice belongs to both teams; only team A limits her.
    from playground.teams.models import Membership

    Membership.objects.create(user=alice, team=team_b)
    Team.objects.filter(pk=team_a.pk).update(member_jobs_in_flight_limit=1)
    (running,) = queue(alice, 1, start=0, team=team_a)
    Generation.objects.filter(pk=running.pk).update(state=State.RUNNING)
    (in_a,) = queue(alice, 1, start=1, team=team_a)
    (in_b,) = queue(alice, 1, start=2, team=team_b)

    assert fair_order.waiting() == [in_b]
    assert fair_order.held_back(in_a) is not None
    assert fair_order.held_back(in_b) is None


def test_people_in_other_teams_do_not_count(team_b: Team) -> None:
    carol = member("carol", team_b)
    queue(carol, 2, start=0)
    assert len(fair_order.waiting()) == 2
