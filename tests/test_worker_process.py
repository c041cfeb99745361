"""A real django-q2 cluster, killed mid-job: nothing is lost and nothing is paid twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from playground import jobs
from playground.models import Generation, State
from playground.simulator import Simulator
from tests.queue import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database this process uses, for the worker processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    return (
        f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def start_cluster(simulator: Simulator) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EVOLINK_BASE_URL": simulator.base_url,
        "EVOLINK_API_KEY": simulator.api_key,
        "PLAYGROUND_FIRST_POLL_SECONDS": "0.2",
        "PLAYGROUND_POLL_SECONDS": "0.3",
        "PLAYGROUND_POLLER_LOOP_SECONDS": "2",
        "PLAYGROUND_POLLER_TICK_SECONDS": "0.1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_worker_loses_nothing_and_submits_nothing_twice(
    alice, simulator: Simulator, settings
) -> None:
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.slow_tasks(4)
    payload = {
        "model": "gpt-image-2",
        "prompt": "survive a crash",
        "size": "1024x640",
        "quality": "low",
        "n": 1,
    }
    generation = Generation.objects.create(
        owner=alice,
        model="gpt-image-2",
        prompt=payload["prompt"],
        size="1024x640",
        quality="low",
        request_payload=payload,
    )
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
