"""The simulator's credits (each key its own account) and its fault injection, over
loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from playground.evolink.client import Client, EvoLinkError
from playground.evolink.simulator import Simulator
from tests.simulator_http import CREATE, wait_until_finished

# --- credits per key ------------------------------------------------------------------

ALICE, BOB = "sk-evo-alice-0001", "sk-evo-bob-0002"
SMALL = {"model": "gpt-image-2", "prompt": "x", "size": "1024x640", "quality": "low"}


@pytest.fixture
def as_key(simulator: Simulator) -> Iterator[Any]:
    """`as_key(key)`: an evolink Client for the simulator with that key."""
    clients: list[Client] = []

    def make(key: str) -> Client:
        clients.append(Client(key, simulator.base_url, backoff=0.01, max_retry_after=5))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def only_alice_and_bob(simulator: Simulator) -> Iterator[Simulator]:
    simulator.api_keys = frozenset({ALICE, BOB})
    yield simulator
    simulator.api_keys = None


def remaining(client: Client) -> float:
    credits = client.get_credits()
    # Each key is its own account: both parts describe the key.
    assert credits["user"]["remaining_credits"] == credits["token"]["remaining_credits"]
    return credits["user"]["remaining_credits"]


def used(client: Client) -> float:
    credits = client.get_credits()
    assert credits["user"]["used_credits"] == credits["token"]["used_credits"]
    return credits["token"]["used_credits"]


def wait_until_terminal(client: Client, task_id: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (task := client.get_task(task_id)).is_terminal:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return task


def test_each_key_keeps_its_own_credits(simulator, as_key):
    alice, bob = as_key(ALICE), as_key(BOB)
    start = float(simulator.credits_of(ALICE))
    assert remaining(alice) == remaining(bob) == start == 10_000

    task = alice.create_task(SMALL)
    reserved = task.usage["credits_reserved"]
    assert reserved > 0

    assert remaining(alice) == pytest.approx(start - reserved)
    assert remaining(bob) == start
    assert float(simulator.credits_of(BOB)) == start

    finished = wait_until_terminal(alice, task.id)
    assert finished.is_completed
    assert remaining(alice) == pytest.approx(start - finished.usage["credits_used"])
    assert used(alice) == pytest.approx(finished.usage["credits_used"])
    assert (remaining(bob), used(bob)) == (start, 0)


def test_a_key_whose_credits_run_out_gets_402_and_nothing_is_created(simulator, as_key):
    alice, bob = as_key(ALICE), as_key(BOB)
    cost = alice.create_task(SMALL).usage["credits_reserved"]
    simulator.set_credits(cost * 1.5, key=ALICE)  # enough for one more, not two

    alice.create_task(SMALL)
    assert simulator.tasks_created == 2
    with pytest.raises(EvoLinkError) as caught:
        alice.create_task(SMALL)

    assert (caught.value.status, caught.value.code) == (402, "insufficient_quota")
    assert simulator.tasks_created == 2
    assert remaining(alice) == pytest.approx(cost * 0.5, abs=1e-5)
    # Another key is not affected.
    bob.create_task(SMALL)
    assert simulator.tasks_created == 3


def test_an_empty_key_gets_402_on_its_first_create(simulator, as_key):
    empty = as_key("sk-evo-empty-demo")

    assert remaining(empty) == 0
    with pytest.raises(EvoLinkError) as caught:
        empty.create_task(SMALL)

    assert (caught.value.status, caught.value.code) == (402, "insufficient_quota")
    assert simulator.tasks_created == 0
    assert remaining(as_key(ALICE)) == 10_000  # other keys keep the default


def test_an_unknown_key_is_401_when_the_keys_are_listed(only_alice_and_bob, as_key):
    with pytest.raises(EvoLinkError) as caught:
        as_key("sk-evo-mallory-0003").create_task(SMALL)

    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    with pytest.raises(EvoLinkError) as caught:
        as_key("sk-evo-mallory-0003").get_credits()
    assert caught.value.status == 401
    assert only_alice_and_bob.tasks_created == 0
    assert as_key(ALICE).create_task(SMALL).status == "pending"


def test_settling_returns_unused_credits_to_the_key_that_reserved_them(simulator, as_key):
    alice, bob = as_key(ALICE), as_key(BOB)
    wait_until_terminal(bob, bob.create_task(SMALL).id)
    bob_left, bob_used = remaining(bob), used(bob)
    assert bob_used > 0

    simulator.task_seconds = 1.0  # so both holds are seen before they settle
    simulator.limit_results(1)  # 1 image of 2: half the hold is returned
    partial = alice.create_task({**SMALL, "n": 2})
    simulator.fail_tasks("service_error")  # failed: the whole hold is returned
    failed = alice.create_task(SMALL)
    held = partial.usage["credits_reserved"] + failed.usage["credits_reserved"]
    assert remaining(alice) == pytest.approx(10_000 - held)

    partial = wait_until_terminal(alice, partial.id)
    assert wait_until_terminal(alice, failed.id).is_failed
    assert partial.usage["credits_used"] == pytest.approx(partial.usage["credits_reserved"] / 2)

    assert remaining(alice) == pytest.approx(10_000 - partial.usage["credits_used"])
    assert used(alice) == pytest.approx(partial.usage["credits_used"])
    assert (remaining(bob), used(bob)) == (bob_left, bob_used)


def test_set_credits_without_a_key_sets_every_key_and_reset_forgets_them(simulator, as_key):
    alice = as_key(ALICE)
    alice.create_task(SMALL)
    simulator.set_credits(5, key=BOB)
    assert (float(simulator.credits_of(BOB)), float(simulator.credits_of("sk-new"))) == (5, 10_000)

    simulator.set_credits(7)

    assert remaining(alice) == remaining(as_key(BOB)) == remaining(as_key("sk-new")) == 7
    assert simulator.credits_of("sk-evo-empty-x") == 0  # the convention still holds
    stats = simulator.stats()["credits"]
    assert stats["remaining"] == 7
    assert {entry["remaining"] for entry in stats["keys"]} == {7}
    assert not any(ALICE in str(entry) for entry in stats["keys"])  # masked

    simulator.reset()
    assert simulator.credits_of(ALICE) == simulator.credits_of(BOB) == 10_000
    assert simulator.stats()["credits"]["keys"] == []


def test_one_keys_credits_can_be_set_over_http(simulator, api, as_key):
    fault = {"fault": "credits", "remaining": 0, "key": BOB}
    assert api.post("/_simulator/faults", json=fault).status_code == 200

    assert remaining(as_key(BOB)) == 0
    assert remaining(as_key(ALICE)) == 10_000


def test_prompt_directives_trigger_faults(simulator, api):
    failing = api.post(
        CREATE, json={"model": "gpt-image-2", "prompt": "a cat [fail:content_policy_violation]"}
    ).json()
    slow = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "a dog [slow:30]"}).json()
    short = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "[results:1]", "n": 3}).json()

    failed = wait_until_finished(api, failing["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "content_policy_violation"
    assert failed["error"]["message"]
    assert slow["task_info"]["estimated_time"] == 30
    assert len(wait_until_finished(api, short["id"])["results"]) == 1
    assert api.get(f"/v1/tasks/{slow['id']}").json()["status"] in ("pending", "processing")


def test_faults_can_be_injected_over_http(simulator, api):
    response = api.post(
        "/_simulator/faults",
        json=[
            {"fault": "create_error", "status": 429, "retry_after": 3},
            {"fault": "task_fail", "code": "generation_timeout"},
        ],
    )
    assert response.status_code == 200

    limited = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()
    assert wait_until_finished(api, task["id"])["error"]["code"] == "generation_timeout"

    stats = api.get("/_simulator/stats").json()
    assert stats["requests"]["POST /v1/images/generations"] == 2
    assert stats["tasks_created"] == 1
    assert api.post("/_simulator/faults", json={"fault": "nope"}).status_code == 400

    assert api.post("/_simulator/reset").status_code == 200
    assert api.get("/_simulator/stats").json()["tasks_created"] == 0


def test_a_dropped_read_closes_the_connection_without_an_answer(simulator, api):
    task_id = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()["id"]
    simulator.drop_reads()

    with pytest.raises(httpx.RemoteProtocolError):
        api.get(f"/v1/tasks/{task_id}")
    assert api.get(f"/v1/tasks/{task_id}").status_code == 200
