"""A real django-q2 cluster, SIGKILLed or stopped, then restarted: polling resumes within
seconds, an interrupted archive within 30 s, and nothing is lost or paid twice.

Times are measured by waiting for a condition with a deadline, never by sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db.models import Sum
from django.utils import timezone

from playground.evolink.simulator import Simulator
from playground.generations import jobs, poller
from playground.generations.models import Generation, Lease, State
from tests.factories import make_generation
from tests.processes import kill, start_cluster, stop
from tests.queue import queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = "POST /v1/images/generations"
JOBS = 20


def seconds_until(predicate: Callable[[], bool], timeout: float) -> float:
    """How long until `predicate()` holds; fails past `timeout`."""
    started = time.monotonic()
    while not predicate():
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise AssertionError(f"condition not reached within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def total_polls() -> int:
    return Generation.objects.aggregate(n=Sum("polls"))["n"] or 0


def polling_resumed() -> Callable[[], bool]:
    """True once every job has been read again since now (a whole pass, not one row)."""
    marks = dict(Generation.objects.values_list("pk", "polls"))
    return lambda: all(
        polls > marks[pk] for pk, polls in Generation.objects.values_list("pk", "polls")
    )


@pytest.fixture
def running(alice, simulator: Simulator, settings) -> list[int]:
    """JOBS jobs RUNNING upstream for minutes (sent from here, once each)."""
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    pks = []
    for i in range(JOBS):
        generation = make_generation(alice, prompt=f"long job {i} [slow:600]", size="1024x640")
        assert jobs.submit(generation.pk) == "submitted"
        pks.append(generation.pk)
    queued_tasks()  # drop the poller wake-ups: only the recovery path may start one
    return pks


def test_polling_resumes_within_seconds_after_the_cluster_is_sigkilled(
    running: list[int], simulator: Simulator
) -> None:
    cluster = start_cluster(simulator)
    try:
        # A fresh cluster with nothing in its queue starts polling on its own.
        seconds_until(polling_resumed(), timeout=20)
    finally:
        kill(cluster)
    for _ in range(2):
        killed_at = time.monotonic()
        assert not Lease.is_free(poller.LEASE)  # the dead poller's lease is held
        check = polling_resumed()
        cluster = start_cluster(simulator)
        try:
            resumed = seconds_until(check, timeout=30)
        finally:
            kill(cluster)
        print(f"polling resumed {resumed:.1f} s after the restart")
        assert resumed < 10, f"polling resumed {resumed:.1f} s after the restart"
        assert time.monotonic() - killed_at < 15
    states = set(Generation.objects.filter(pk__in=running).values_list("state", flat=True))
    assert states == {State.RUNNING}
    assert simulator.request_count(CREATE) == JOBS


def test_a_graceful_stop_hands_its_work_back_within_30_s(
    running: list[int], simulator: Simulator
) -> None:
    cluster = start_cluster(simulator)
    try:
        seconds_until(polling_resumed(), timeout=20)
        started = time.monotonic()
        assert stop(cluster, timeout=30), "qcluster did not stop within 30 s of SIGTERM"
        print(f"stopped {time.monotonic() - started:.1f} s after SIGTERM")
    finally:
        kill(cluster)
    assert Lease.is_free(poller.LEASE)  # handed back, not left to lapse
    check = polling_resumed()
    cluster = start_cluster(simulator)
    try:
        resumed = seconds_until(check, timeout=20)
    finally:
        kill(cluster)
    assert resumed < 10
    states = set(Generation.objects.filter(pk__in=running).values_list("state", flat=True))
    assert states == {State.RUNNING}
    assert simulator.request_count(CREATE) == JOBS


def test_an_archive_whose_worker_died_resumes_within_30_s(
    alice, simulator: Simulator, settings
) -> None:
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PLAYGROUND_FIRST_POLL_SECONDS = 0
    generation = make_generation(alice, prompt="saved when killed", size="1024x640", n=2)
    assert jobs.submit(generation.pk) == "submitted"
    with poller.Clients() as clients:

        def archiving() -> bool:
            poller.poll_due(clients)
            return Generation.objects.get(pk=generation.pk).state == State.ARCHIVING

        seconds_until(archiving, timeout=30)
    queued_tasks()  # the archive task died with its cluster
    # Its worker had just claimed (or renewed) the lease when the cluster was killed:
    # the worst case, a whole lease to wait out.
    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now() + jobs.ARCHIVE_LEASE, download_attempts=1
    )
    cluster = start_cluster(simulator)
    try:
        resumed = seconds_until(
            lambda: Generation.objects.get(pk=generation.pk).state == State.COMPLETED,
            timeout=45,
        )
    finally:
        kill(cluster)
    print(f"archive completed {resumed:.1f} s after the restart")
    assert resumed < 30
    generation.refresh_from_db()
    assert generation.images.count() == generation.images_returned >= 1
    assert simulator.request_count(CREATE) == 1
