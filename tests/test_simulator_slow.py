"""A slow upstream: creates answered seconds late, and per-key rate limits (429).

Plain HTTP to the simulator on loopback (the `api` fixture), and EvoLink's client for
how a 429 reads. Slow creates must not hold up the simulator's other requests: the
tests wait until a create has arrived and is still unanswered, then ask something else.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from playground.evolink.client import Client, EvoLinkError
from playground.evolink.management.commands.simulate_evolink import Command
from playground.evolink.simulator import Simulator
from tests.simulator_http import CREATE, wait_for

PAYLOAD = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "size": "1024x1024"}
OTHER_KEY = "sk-evo-other-key"


def post_in_background(
    simulator: Simulator, key: str, answers: list[httpx.Response]
) -> threading.Thread:
    def send() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        answers.append(
            httpx.post(simulator.base_url + CREATE, json=PAYLOAD, headers=headers, timeout=30)
        )

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def pending_creates(simulator: Simulator) -> list[dict[str, Any]]:
    """Creates that arrived and made no task yet (a slow create still waiting)."""
    return [c for c in simulator.creates if c["task_id"] is None]


# --- slow creates --------------------------------------------------------------------


def test_a_slow_create_is_answered_late_while_other_requests_are_answered(simulator, api):
    response = api.post(
        "/_simulator/faults", json={"fault": "create_slow", "seconds": 3, "times": 1}
    )
    assert response.json()["pending_faults"]["create_slow"] == 1
    answers: list[httpx.Response] = []
    thread = post_in_background(simulator, simulator.api_key, answers)
    wait_for(lambda: len(pending_creates(simulator)) == 1, timeout=20)

    # The slow create waits on its own thread: reads, credits and creates go on.
    assert api.get("/v1/credits").status_code == 200
    quick = api.post(CREATE, json=PAYLOAD)
    assert quick.status_code == 200  # the fault was for one create only
    answered_meanwhile = time.time()

    thread.join(timeout=30)
    assert answers[0].status_code == 200
    assert answers[0].elapsed.total_seconds() >= 3
    slow_task = next(t for t in simulator.stats()["tasks"] if t["id"] == answers[0].json()["id"])
    # Made (and answered) only after the other requests had their answers.
    assert slow_task["created_at"] > answered_meanwhile
    assert simulator.tasks_created == 2


def test_two_slow_creates_wait_at_the_same_time(simulator, api):
    simulator.create_seconds = 2
    answers: list[httpx.Response] = []
    threads = [post_in_background(simulator, simulator.api_key, answers) for _ in range(2)]

    # Both arrived before either was answered: they wait side by side, not in turn.
    wait_for(lambda: len(pending_creates(simulator)) == 2 or len(answers) > 0, timeout=20)
    assert answers == []
    for thread in threads:
        thread.join(timeout=10)
    assert [a.status_code for a in answers] == [200, 200]
    assert simulator.tasks_created == 2
    assert all(a.elapsed.total_seconds() >= 2 for a in answers)


def test_create_seconds_delays_every_create_until_reset(simulator, api):
    simulator.create_seconds = 0.4
    assert api.get("/_simulator/stats").json()["create_seconds"] == 0.4
    started = time.monotonic()
    response = api.post(CREATE, json=PAYLOAD)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4
    created = simulator.creates[0]
    assert created["task_id"] == response.json()["id"]
    assert created["received_at"] <= time.time()

    simulator.reset()
    assert simulator.create_seconds == 0.0


def test_a_refused_create_is_not_slow(simulator, api):
    simulator.create_seconds = 30
    started = time.monotonic()
    response = api.post(CREATE, json={**PAYLOAD, "size": "16:9"})
    assert response.status_code == 400
    assert time.monotonic() - started < 10  # validation answers at once


# --- rate limits per key -------------------------------------------------------------


def test_past_the_rate_a_create_answers_429_with_retry_after_and_creates_nothing(simulator, api):
    api.post("/_simulator/faults", json={"fault": "rate_limit", "per_second": 2})
    answers = [api.post(CREATE, json=PAYLOAD) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    refused = answers[2]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1  # whole seconds (HTTP delta-seconds)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert simulator.tasks_created == 2
    assert len(simulator.creates) == 2  # a 429 is not a create
    stats = api.get("/_simulator/stats").json()
    assert list(stats["rate_limited"].values()) == [1]
    assert stats["rate_per_key"] == 2

    # Once the wait it asked for is over, the key may create again.
    time.sleep(float(refused.headers["Retry-After"]))
    assert api.post(CREATE, json=PAYLOAD).status_code == 200


def test_a_rate_limit_on_one_key_leaves_another_key_alone(simulator, api):
    api.post(
        "/_simulator/faults",
        json={"fault": "rate_limit", "per_second": 1, "key": simulator.api_key},
    )
    assert api.post(CREATE, json=PAYLOAD).status_code == 200
    assert api.post(CREATE, json=PAYLOAD).status_code == 429

    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    statuses = [api.post(CREATE, json=PAYLOAD, headers=other).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]


def test_the_client_reads_the_429_as_rate_limited_and_retryable(simulator):
    simulator.limit_rate(1)
    with Client(simulator.api_key, simulator.base_url, max_attempts=1) as client:
        client.create_task(PAYLOAD)
        with pytest.raises(EvoLinkError) as refused:
            client.create_task(PAYLOAD)
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.retryable
    assert not refused.value.uncertain  # nothing was created: safe to send again
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1
    assert simulator.tasks_created == 1


def test_the_client_honours_retry_after_and_creates_once(simulator):
    simulator.limit_rate(1)
    with Client(simulator.api_key, simulator.base_url, max_attempts=3) as client:
        first = client.create_task(PAYLOAD)
        second = client.create_task(PAYLOAD)  # 429, waits Retry-After, then succeeds
    assert first.id != second.id
    assert simulator.tasks_created == 2
    assert simulator.request_count("POST /v1/images/generations") == 3


def test_a_rate_below_one_per_second_is_refused(simulator, api):
    response = api.post("/_simulator/faults", json={"fault": "rate_limit", "per_second": 0})
    assert response.status_code == 400
    with pytest.raises(ValueError, match="at least 1"):
        Simulator(port=0, rate_per_key=0)


def test_the_command_takes_create_seconds_and_a_rate_per_key():
    options = (
        Command()
        .create_parser("manage.py", "simulate_evolink")
        .parse_args(["--create-seconds", "2", "--rate-per-key", "8"])
    )
    assert options.create_seconds == 2.0
    assert options.rate_per_key == 8
