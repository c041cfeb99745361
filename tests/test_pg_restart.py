"""PostgreSQL restarted in the middle of a run: the web and the workers carry on
without anyone's help, and nothing is lost or sent twice.

Runs in the PostgreSQL pass of the test command (it restarts the local server with
pg_ctlcluster, as root); on SQLite there is no server to restart."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from playground.evolink.simulator import Simulator
from playground.generations.models import FINAL_STATES, Generation, State
from tests.processes import kill, start_cluster
from tests.queue import wait_for

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
        reason="restarts a PostgreSQL server; runs in the PostgreSQL pass",
    ),
    pytest.mark.django_db(transaction=True),
]
JOBS = 8


def restart_postgresql() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    subprocess.run(  # noqa: S603 - fixed arguments
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],  # noqa: S607
        check=True,
        timeout=60,
    )
    wait_for(
        lambda: (
            subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode  # noqa: S607
            == 0
        ),
        timeout=30,
    )


@pytest.fixture
def cluster(simulator: Simulator, settings) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    simulator.task_seconds = 6.0  # every job is still running when the server restarts
    process = start_cluster(simulator)
    yield simulator
    kill(process)


def test_a_postgresql_restart_mid_run_heals_itself_and_pays_once(
    alice: User, alice_client: Client, cluster: Simulator, live_server
) -> None:
    for i in range(JOBS):
        response = alice_client.post(
            "/t/a/",
            {
                "model": "gpt-image-1",
                "prompt": f"through a database restart {i}",
                "size": "1024x1024",
                "quality": "low",
                "n": "1",
                "client_token": str(uuid.uuid4()),
            },
        )
        assert response.status_code == 302
    wait_for(lambda: Generation.objects.filter(state=State.RUNNING).count() == JOBS, timeout=30)
    # A web server that holds a persistent connection from before the restart.
    web = httpx.Client(
        base_url=live_server.url, cookies={"sessionid": alice_client.cookies["sessionid"].value}
    )
    assert web.get("/t/a/history/").status_code == 200

    restart_postgresql()
    connection.close()  # this test's own connection died with the server too

    # The web carries on: its dropped connection is noticed and reopened, no error.
    assert web.get("/t/a/history/").status_code == 200
    # The workers carry on: every job finishes, each sent exactly once.
    wait_for(lambda: Generation.objects.filter(state__in=FINAL_STATES).count() == JOBS, timeout=90)
    states = list(Generation.objects.values_list("state", flat=True))
    assert states == [State.COMPLETED] * JOBS, states
    assert cluster.request_count("POST /v1/images/generations") == JOBS
    assert cluster.tasks_created == JOBS
    connection.close()
