"""Shared fixtures: the three personas of every permission test, and the simulator.

alice owns things, bob is a teammate (teams arrive in a later issue; today he is just
another user), charlie is a stranger who must see nothing of alice's.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytest_plugins = ["tests.fixtures_simulator"]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def charlie(db: None) -> User:
    return User.objects.create_user("charlie", "charlie@example.com", PASSWORD)


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every test writes media into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_queue(request: pytest.FixtureRequest) -> None:
    """Each test starts with an empty task queue (the Redis broker outlives transactions)."""
    from django_q.brokers import get_broker

    uses_db = "django_db" in request.keywords or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if not uses_db:
        return
    get_broker().purge_queue()


@pytest.fixture
def fast_jobs(settings, evolink_settings):  # type: ignore[no-untyped-def]
    """Jobs against the simulator, with a polling cadence fit for tests."""
    settings.PLAYGROUND_FIRST_POLL_SECONDS = 0
    settings.PLAYGROUND_POLL_SECONDS = 0.05
    settings.PLAYGROUND_POLLER_LOOP_SECONDS = 1
    settings.PLAYGROUND_POLLER_TICK_SECONDS = 0.05
    return evolink_settings
