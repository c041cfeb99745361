"""The submitter: queued jobs sent in the fair order, many creates at once, each key
paced on its own; one POST per task, also across a crash in the middle of a drain.

Against the simulator over real HTTP; the crash with a real `qcluster` (as
tests/test_recovery.py). Times are conditions waited for, never sleeps for luck.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from playground.evolink.simulator import Simulator
from playground.generations import jobs, pacing, submitter
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.factories import make_generation, stored_key
from tests.processes import kill, start_cluster
from tests.queue import queued_tasks, wait_for

CREATE = "POST /v1/images/generations"
SLOW_KEY, OTHER_KEY = "sk-evo-slowed-0001", "sk-evo-other-0002"


def states(pks: list[int]) -> collections.Counter[str]:
    return collections.Counter(
        Generation.objects.filter(pk__in=pks).values_list("state", flat=True)
    )


@pytest.fixture
def running_submitter() -> Iterator[submitter.SubmitterThread]:
    pacing.KEYS.reset()
    thread = submitter.SubmitterThread()
    thread.start()
    try:
        assert thread.holding.wait(10), "the submitter took its lease"
        yield thread
    finally:
        thread.stop()
        pacing.KEYS.reset()


# --- The pacing of keys ------------------------------------------------------------------


def test_a_429_rests_only_its_own_key(settings: Any) -> None:
    settings.PLAYGROUND_CREATES_PER_SECOND_PER_KEY = 0
    pace = pacing.KeyPace()
    pace.rate_limited(1, retry_after=30)

    assert pace.resting(1) and not pace.try_start(1)
    assert not pace.resting(2) and pace.try_start(2)
    assert pace.try_start(None)


def test_a_key_has_at_most_its_creates_in_flight(settings: Any) -> None:
    settings.PLAYGROUND_CREATES_PER_SECOND_PER_KEY = 0
    settings.PLAYGROUND_CREATES_IN_FLIGHT_PER_KEY = 2
    pace = pacing.KeyPace()

    assert pace.try_start(1) and pace.try_start(1)
    assert not pace.try_start(1)
    assert pace.try_start(2)
    pace.finished(1)
    assert pace.try_start(1)


def test_a_key_starts_at_most_its_creates_per_second(settings: Any) -> None:
    settings.PLAYGROUND_CREATES_PER_SECOND_PER_KEY = 5
    pace = pacing.KeyPace()

    started = 0
    while pace.try_start(1):
        started += 1
        pace.finished(1)
    assert started == 5  # a second's worth at once, then at the rate
    assert pace.try_start(2)


# --- The engine ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_queues_task_leaves_jobs_to_a_running_submitter(
    alice: User, evolink_settings: Simulator, running_submitter: submitter.SubmitterThread
) -> None:
    job = make_generation(alice, prompt="sent by the submitter", size="1024x640")
    assert jobs.submit(job.pk) in ("left to the submitter", "not claimed")
    wait_for(lambda: Generation.objects.get(pk=job.pk).state == State.RUNNING, timeout=10)
    assert evolink_settings.request_count(CREATE) == 1


@pytest.mark.django_db(transaction=True)
def test_a_colleagues_job_is_sent_before_a_matrix_run_drains(
    alice: User, bob: User, evolink_settings: Simulator, settings: Any
) -> None:
    settings.PLAYGROUND_CREATES_IN_FLIGHT = 4
    evolink_settings.create_seconds = 0.5
    matrix = [make_generation(alice, prompt=f"cell {i}", size="1024x640").pk for i in range(40)]
    pacing.KEYS.reset()
    thread = submitter.SubmitterThread()
    thread.start()
    try:
        wait_for(lambda: Generation.objects.filter(state=State.RUNNING).exists(), timeout=10)
        single = make_generation(bob, prompt="one job", size="1024x640").pk
        wait_for(lambda: Generation.objects.get(pk=single).state == State.RUNNING, timeout=10)
        # Sent while most of the matrix run still waits: it went ahead of it.
        assert states(matrix)[State.QUEUED] > 20
    finally:
        thread.stop()
        pacing.KEYS.reset()


@pytest.mark.django_db(transaction=True)
def test_a_members_limit_holds_their_jobs_back_until_one_ends(
    alice: User,
    bob: User,
    team_a: Team,
    evolink_settings: Simulator,
    running_submitter: submitter.SubmitterThread,
) -> None:
    Team.objects.filter(pk=team_a.pk).update(member_jobs_in_flight_limit=2)
    hers = [make_generation(alice, prompt=f"a {i}", size="1024x640").pk for i in range(5)]
    his = make_generation(bob, prompt="b", size="1024x640").pk

    wait_for(lambda: Generation.objects.get(pk=his).state == State.RUNNING, timeout=10)
    wait_for(lambda: states(hers)[State.RUNNING] == 2, timeout=10)
    # Several more passes over the queue: her other jobs still wait (no poller runs
    # here, so her two stay in flight).
    seen = running_submitter.passes
    wait_for(lambda: running_submitter.passes >= seen + 3, timeout=10)
    assert states(hers) == {State.RUNNING: 2, State.QUEUED: 3}

    # One of hers ends: exactly one more goes, the oldest waiting.
    first_running = Generation.objects.filter(pk__in=hers, state=State.RUNNING).order_by("pk")[0]
    Generation.objects.filter(pk=first_running.pk).update(state=State.COMPLETED)
    wait_for(lambda: states(hers)[State.RUNNING] == 2, timeout=10)
    seen = running_submitter.passes
    wait_for(lambda: running_submitter.passes >= seen + 3, timeout=10)
    assert states(hers) == {State.COMPLETED: 1, State.RUNNING: 2, State.QUEUED: 2}
    assert Generation.objects.get(pk=hers[2]).state == State.RUNNING
    assert evolink_settings.request_count(CREATE) == 4


@pytest.mark.django_db(transaction=True)
def test_a_429_slows_one_key_while_another_keys_jobs_proceed(
    alice: User,
    charlie: User,
    team_a: Team,
    team_b: Team,
    simulator: Simulator,
    settings: Any,
) -> None:
    settings.EVOLINK_BASE_URL = simulator.base_url
    settings.EVOLINK_API_KEY = ""
    stored_key("Slowed", SLOW_KEY, team_a)
    stored_key("Other", OTHER_KEY, team_b)
    simulator.limit_rate(1, key=SLOW_KEY)  # past one create a second: 429 + Retry-After
    simulator.create_seconds = 0.2
    slowed = [make_generation(alice, prompt=f"a {i}", size="1024x640").pk for i in range(6)]
    other = [make_generation(charlie, prompt=f"b {i}", size="1024x640").pk for i in range(6)]

    pacing.KEYS.reset()
    thread = submitter.SubmitterThread()
    thread.start()
    try:
        wait_for(lambda: states(other) == {State.RUNNING: 6}, timeout=15)
        # The other key's six went out while the slowed key's wait (none failed).
        assert states(slowed)[State.QUEUED] >= 3
        assert not states(slowed)[State.FAILED]
        wait_for(lambda: states(slowed) == {State.RUNNING: 6}, timeout=60, step=0.2)
    finally:
        thread.stop()
        pacing.KEYS.reset()

    refused = sum(simulator.stats()["rate_limited"].values())
    assert refused >= 1
    # A 429 created nothing and is not an attempt: one task per job, each sent once.
    creates = simulator.creates
    assert len(creates) == simulator.tasks_created == 12
    assert len({c["idempotency_key"] for c in creates}) == 12
    assert set(
        Generation.objects.filter(pk__in=slowed + other).values_list("submit_attempts", flat=True)
    ) == {1}
    # Resting the key kept the 429s few: not one per job per pass.
    assert refused <= 12, refused


@pytest.mark.django_db(transaction=True)
def test_a_crash_in_the_middle_of_a_concurrent_drain_sends_nothing_twice(
    alice: User, simulator: Simulator, settings: Any
) -> None:
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.create_seconds = 1.0
    pks = [make_generation(alice, prompt=f"cell {i}", size="1024x640").pk for i in range(40)]
    extra = {"PLAYGROUND_CREATES_IN_FLIGHT": "8", "PLAYGROUND_CREATES_PER_SECOND_PER_KEY": "0"}

    cluster = start_cluster(simulator, **extra)
    try:
        wait_for(lambda: simulator.request_count(CREATE) >= 12, timeout=60, step=0.02)
    finally:
        kill(cluster)
    at_kill = states(pks)
    # Several creates were under way at once, and much was still waiting.
    assert at_kill[State.SUBMITTING] >= 2, at_kill
    assert at_kill[State.QUEUED] >= 10, at_kill

    # The dead submitter's claims lapse (a whole SUBMITTING_STALE, made to have passed):
    # the reconciler ends them as uncertain, never sending them again.
    long_ago = timezone.now() - jobs.SUBMITTING_STALE - timedelta(seconds=1)
    Generation.objects.filter(pk__in=pks, state=State.SUBMITTING).update(
        lease_until=long_ago, updated_at=long_ago
    )
    assert jobs.reconcile()["uncertain"] == at_kill[State.SUBMITTING]
    queued_tasks()  # the reconciler's wake-ups: the new cluster's submitter sends them

    cluster = start_cluster(simulator, **extra)
    try:
        wait_for(
            lambda: not (states(pks)[State.QUEUED] or states(pks)[State.SUBMITTING]),
            timeout=90,
            step=0.2,
        )
    finally:
        kill(cluster)

    final = states(pks)
    assert final[State.UNCERTAIN] == at_kill[State.SUBMITTING]
    assert not final[State.FAILED], final
    # One POST per task: every job's Idempotency-Key reached EvoLink at most once, and
    # every job not left uncertain exactly once.
    sent = collections.Counter(c["idempotency_key"] for c in simulator.creates)
    assert max(sent.values()) == 1
    for job in Generation.objects.filter(pk__in=pks):
        # An uncertain job's create may or may not have left before the kill.
        expected = (0, 1) if job.state == State.UNCERTAIN else (1,)
        assert sent[jobs.idempotency_key(job)] in expected, job.state
    assert simulator.request_count(CREATE) == len(sent)
