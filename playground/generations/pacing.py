"""How fast each EvoLink key may be sent creates: in flight at once, per second, and
a rest after a 429.

EvoLink's rate limits are per key and unpublished. So the submitter (submitter.py)
asks `KEYS.try_start(key)` before each create and says `KEYS.finished(key)` after it;
a 429 on a key (reported by payers.noting_requests, whoever sent the create) rests
that key for the Retry-After it gave, while the other keys' jobs go on.

The state is this process's memory: the submitter runs in one process at a time (it
holds a lease), and a process that takes over starts with every key fresh; the next
429 teaches it again. `None` is the environment's key (EVOLINK_API_KEY).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from django.conf import settings

# How long a key rests after a 429 that gave no Retry-After.
DEFAULT_REST_SECONDS = 5.0
# After a 429 a key goes on at half the rate it had (never under the floor), and
# gains this much per second back towards its cap: a limit found is not hit again at once.
SLOWEST_PER_SECOND = 0.5
RECOVERY_PER_SECOND = 0.5


def creates_in_flight_per_key() -> int:
    """Creates waiting on EvoLink at once with one key."""
    return int(settings.PLAYGROUND_CREATES_IN_FLIGHT_PER_KEY)


def creates_per_second_per_key() -> float:
    """The most creates started per second with one key (0: no cap)."""
    return float(settings.PLAYGROUND_CREATES_PER_SECOND_PER_KEY)


class KeyPace:
    """Per key: creates in flight, a token bucket for the rate, and a rest after a 429.
    Thread-safe: the submitter's pool threads report to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[int | None] = Counter()
        # Token buckets: (tokens, when they were counted); a second's worth at most.
        self._tokens: dict[int | None, tuple[float, float]] = {}
        self._resting_until: dict[int | None, float] = {}
        # After a 429: (the rate the key went on at, from when).
        self._slowed: dict[int | None, tuple[float, float]] = {}

    def try_start(self, key: int | None) -> bool:
        """Whether a create may start with `key` now (counted in flight if so)."""
        with self._lock:
            now = time.monotonic()
            if self._resting_until.get(key, 0.0) > now:
                return False
            if self._in_flight[key] >= creates_in_flight_per_key():
                return False
            rate = self._rate(key, now)
            if rate > 0:
                burst = max(1.0, rate)
                tokens, counted_at = self._tokens.get(key, (burst, now))
                tokens = min(burst, tokens + (now - counted_at) * rate)
                if tokens < 1.0:
                    self._tokens[key] = (tokens, now)
                    return False
                self._tokens[key] = (tokens - 1.0, now)
            self._in_flight[key] += 1
            return True

    def finished(self, key: int | None) -> None:
        with self._lock:
            if self._in_flight[key] > 0:
                self._in_flight[key] -= 1

    def rate_limited(self, key: int | None, retry_after: float | None) -> None:
        """EvoLink answered 429 for `key`: no create starts with it before Retry-After."""
        rest = retry_after if retry_after is not None and retry_after > 0 else None
        with self._lock:
            until = time.monotonic() + (rest if rest is not None else DEFAULT_REST_SECONDS)
            self._resting_until[key] = max(until, self._resting_until.get(key, 0.0))
            # No burst on waking up, and half the rate it had.
            self._tokens[key] = (0.0, until)
            slower = self._rate(key, until) / 2 if creates_per_second_per_key() > 0 else 1.0
            self._slowed[key] = (max(SLOWEST_PER_SECOND, slower), until)

    def _rate(self, key: int | None, now: float) -> float:
        """The creates per second `key` may start now (0: no cap). Under the lock."""
        cap = creates_per_second_per_key()
        if key not in self._slowed:
            return cap
        slowed, since = self._slowed[key]
        rate = slowed + max(0.0, now - since) * RECOVERY_PER_SECOND
        if cap > 0 and rate >= cap:
            del self._slowed[key]
            return cap
        return rate

    def resting(self, key: int | None) -> bool:
        with self._lock:
            return self._resting_until.get(key, 0.0) > time.monotonic()

    def in_flight(self, key: int | None) -> int:
        with self._lock:
            return self._in_flight[key]

    def reset(self) -> None:
        """Forget every key (a new holder of the submitter's lease; tests)."""
        with self._lock:
            self._in_flight.clear()
            self._tokens.clear()
            self._resting_until.clear()
            self._slowed.clear()


# The one pacing of this process.
KEYS = KeyPace()
