"""Real worker processes for tests: a `manage.py qcluster` sharing the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from playground.evolink.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database this process uses, for the worker processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def start_cluster(simulator: Simulator, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EVOLINK_BASE_URL": simulator.base_url,
        "EVOLINK_API_KEY": simulator.api_key,
        "PLAYGROUND_FIRST_POLL_SECONDS": "0.2",
        "PLAYGROUND_POLL_SECONDS": "0.3",
        "PLAYGROUND_POLLER_TICK_SECONDS": "0.1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # As the test process (tests/conftest.py): the cluster sends what the page offers.
        "PLAYGROUND_OFFER_WITHDRAWN_MODELS": "1"
        if settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS
        else "0",
        **extra_env,
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
    """SIGKILL the whole cluster (main process and workers): no clean-up of any kind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    """A graceful stop as Docker and systemd's main-PID mode send it: SIGTERM to the
    main process only. Returns whether it exited in time; whatever is left is SIGKILLed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        graceful = True
    except subprocess.TimeoutExpired:
        graceful = False
    kill(process)
    return graceful
