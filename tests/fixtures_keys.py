"""Pytest fixtures for tests of stored API keys (loaded from tests/conftest.py).

- `two_keys`: team A's two stored keys, FIRST tried before SECOND, and no key in the
  environment to fall back on; the simulator runs jobs fast (`fast_jobs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from playground.billing.models import ApiKey
from playground.evolink.simulator import Simulator
from playground.teams.models import Team
from tests.factories import stored_key

# The secrets of `two_keys` (the simulator's fault methods take a key's secret).
FIRST, SECOND = "sk-evo-first-0001", "sk-evo-second-0002"


@pytest.fixture
def two_keys(settings: Any, team_a: Team, fast_jobs: Simulator) -> Iterator[tuple[ApiKey, ApiKey]]:
    """Team A's two keys (no environment fallback), tried first then second."""
    settings.EVOLINK_API_KEY = ""
    yield (
        stored_key("First", FIRST, team_a, priority=1),
        stored_key("Second", SECOND, team_a, priority=2),
    )
