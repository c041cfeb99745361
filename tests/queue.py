"""Run what the views and jobs really enqueued, through django-q2's broker API.

Tests drive the pipeline step by step instead of running a cluster (one test in
test_worker_process.py runs a real one), but they execute the enqueued task payloads
themselves, so enqueueing is tested for real on the ORM broker and on Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from playground.generations import poller
from playground.generations.models import Generation


def queued_tasks() -> list[dict[str, Any]]:
    broker = get_broker()
    tasks = []
    # Ask the size first: an empty dequeue blocks (Redis) or sleeps (ORM).
    while broker.queue_size() > 0:
        for ack_id, payload in broker.dequeue() or []:
            tasks.append(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)
    return tasks


def drain(max_rounds: int = 20) -> list[str]:
    """Run every queued task, and whatever they enqueue, until the queue is empty."""
    ran = []
    for _ in range(max_rounds):
        tasks = queued_tasks()
        if not tasks:
            break
        for task in tasks:
            import_string(task["func"])(*task["args"], **task["kwargs"])
            ran.append(task["func"].rsplit(".", 1)[-1])
    return ran


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def run_to_the_end(job: Generation) -> Generation:
    """Poll the job and run what the polls enqueue until it is no longer in flight."""
    with poller.Clients() as clients:

        def done() -> bool:
            poller.poll_due(clients)
            drain()
            return not Generation.objects.get(pk=job.pk).is_in_flight

        wait_for(done)
    return Generation.objects.get(pk=job.pk)
