"""A real django-q2 cluster, killed mid-job: nothing is lost and nothing is paid twice."""

from __future__ import annotations

import time

import pytest

from playground.evolink.simulator import Simulator
from playground.generations import jobs
from playground.generations.models import Generation, State
from tests.factories import make_generation
from tests.processes import kill, start_cluster
from tests.queue import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_killed_worker_loses_nothing_and_submits_nothing_twice(
    alice, simulator: Simulator, settings
) -> None:
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.slow_tasks(4)
    generation = make_generation(alice, prompt="survive a crash", size="1024x640")
    jobs.enqueue_submit(generation.pk)

    first = start_cluster(simulator)
    try:
        wait_for(
            lambda: Generation.objects.get(pk=generation.pk).state == State.RUNNING,
            timeout=30,
            step=0.1,
        )
        time.sleep(0.5)  # let its poller start polling the slow task
    finally:
        kill(first)  # SIGKILL: no clean-up of any kind
    assert Generation.objects.get(pk=generation.pk).state == State.RUNNING

    second = start_cluster(simulator)
    try:
        # The sweep finds the job whose poller died and wakes a new one once the dead
        # poller's lease has lapsed.
        def swept() -> bool:
            jobs.reconcile()
            return Generation.objects.get(pk=generation.pk).state == State.COMPLETED

        wait_for(swept, timeout=60, step=1.0)
    finally:
        kill(second)
    generation.refresh_from_db()
    assert generation.images.count() == 1
    assert simulator.request_count("POST /v1/images/generations") == 1
