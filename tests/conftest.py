"""Shared fixtures: the personas of every permission test, and the simulator.

Team A (`/t/a/`): alice makes things (member), bob is her teammate (member), vera is a
viewer, ada is the team's admin. charlie is a member of team B only: a stranger who
must see nothing of team A's. Anonymous visitors use pytest-django's `client`.
"""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.teams.models import Membership, Role, Team

pytest_plugins = [
    "tests.fixtures_simulator",
    "tests.fixtures_keys",
    "tests.fixtures_access",
    "tests.webhook_receiver",
]

PASSWORD = "correct horse battery staple"


STUDIO_A = "/t/a/"


def member(username: str, team: Team, role: str = Role.MEMBER) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    Membership.objects.create(user=user, team=team, role=role)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team_a(db: None) -> Team:
    return Team.objects.create(name="Team A", slug="a")


@pytest.fixture
def team_b(db: None) -> Team:
    return Team.objects.create(name="Team B", slug="b")


@pytest.fixture
def alice(team_a: Team) -> User:
    return member("alice", team_a)


@pytest.fixture
def bob(team_a: Team) -> User:
    return member("bob", team_a)


@pytest.fixture
def vera(team_a: Team) -> User:
    return member("vera", team_a, Role.VIEWER)


@pytest.fixture
def ada(team_a: Team) -> User:
    return member("ada", team_a, Role.ADMIN)


@pytest.fixture
def charlie(team_b: Team) -> User:
    return member("charlie", team_b)


@pytest.fixture
def alice_client(alice: User) -> Client:
    return logged_in(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return logged_in(bob)


@pytest.fixture
def vera_client(vera: User) -> Client:
    return logged_in(vera)


@pytest.fixture
def ada_client(ada: User) -> Client:
    return logged_in(ada)


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    return logged_in(charlie)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every test writes media into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests make many users: a deliberately slow hash would dominate their time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache(settings) -> None:  # type: ignore[no-untyped-def]
    """Each test counts from zero (password-reset throttling lives in the cache). A
    fresh key prefix (and locmem location) rather than cache.clear(): on Redis that
    would flush the database django-q2's queue shares."""
    import uuid

    fresh = uuid.uuid4().hex
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{fresh}", "LOCATION": config.get("LOCATION", "")}
        if "redis" in config["BACKEND"]
        else {**config, "LOCATION": f"test-{fresh}"}
        for name, config in settings.CACHES.items()
    }


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
    settings.PLAYGROUND_POLLER_TICK_SECONDS = 0.05
    return evolink_settings


@pytest.fixture
def context(context):  # type: ignore[no-untyped-def]
    """pytest-playwright's browser context, watched for CSP violations."""
    from tests.browser import watch_csp

    watch_csp(context)
    return context


@pytest.fixture(autouse=True)
def _no_csp_violations(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if "browser" not in request.keywords:
        yield
        return
    from tests.browser import CSP_VIOLATIONS

    CSP_VIOLATIONS.clear()
    yield
    assert not CSP_VIOLATIONS, f"CSP violations: {CSP_VIOLATIONS}"


@pytest.fixture(autouse=True)
def _a_fallback_key_pays(settings) -> None:  # type: ignore[no-untyped-def]
    """A server with EVOLINK_API_KEY set, as every deployment that generates has: Generate
    is refused when no key can pay (playground/billing/paying.py). Tests of the jobs
    against the simulator replace it (`evolink_settings`); tests of a team without any
    key set it to "" themselves. Nothing is sent with it: sending takes a worker, and
    the tests that run one point it at the simulator."""
    if not settings.EVOLINK_API_KEY:
        settings.EVOLINK_API_KEY = "sk-evo-test-fallback"


@pytest.fixture(autouse=True)
def _offer_withdrawn_models(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests written before EvoLink withdrew gpt-image-1 keep testing it as they were
    written; the tests of the withdrawal (test_model_availability.py) switch this off."""
    settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS = True


# Fixtures through which a test reaches the database (pytest-django blocks every other
# way in, so a test with none of them and no `django_db` mark cannot touch it).
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The scale-out pass (`.ci/test` runs the suite again on PostgreSQL + Redis) skips
    the tests that cannot reach a database or a broker: they would only repeat, on the
    same code, what the first pass just showed."""
    if not os.environ.get("DATABASE_URL"):
        return
    kept, repeated = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        reaches = item.get_closest_marker("django_db") is not None or fixtures & DATABASE_FIXTURES
        (kept if reaches else repeated).append(item)
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = kept
