"""The simulator speaks EvoLink's contract: checked with plain httpx over loopback."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from playground import request_rules
from playground.evolink.client import Client, EvoLinkError
from playground.evolink.simulator import Simulator, render_png
from tests.fixtures_simulator import free_port

CREATE = "/v1/images/generations"
TASK_ID = re.compile(r"^task-unified-\d{10}-[a-z0-9]{8}$")
LONG_TOKENS = "lighthouse " * 2100  # > 2000 tokens for gpt-image-1 / 1.5


@pytest.fixture
def api(simulator: Simulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {simulator.api_key}"}
    with httpx.Client(base_url=simulator.base_url, headers=headers, timeout=10) as client:
        yield client


def wait_until_finished(api: httpx.Client, task_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/tasks/{task_id}").json()
        if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(buffer, fmt)
    return buffer.getvalue()


# --- validation -----------------------------------------------------------------------

REJECTED = [
    # (payload, param EvoLink names in its 400)
    ({"model": "gpt-image-3", "prompt": "x"}, "model"),
    ({"model": "gpt-image-1", "prompt": ""}, "prompt"),
    ({"model": "gpt-image-1", "prompt": LONG_TOKENS}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "x", "size": "16:9"}, "size"),
    ({"model": "gpt-image-1", "prompt": "x", "quality": "ultra"}, "quality"),
    ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
    ({"model": "gpt-image-1.5", "prompt": "x", "size": "2048x2048"}, "size"),
    ({"model": "gpt-image-1.5", "prompt": "x", "n": 0}, "n"),
    # reference, August 2026: one request of gpt-image-1.5 carries n = 1 only.
    ({"model": "gpt-image-1.5", "prompt": "x", "n": 2}, "n"),
    ({"model": "gpt-image-1.5", "prompt": "x", "image_urls": []}, "image_urls"),
    ({"model": "gpt-image-2", "prompt": "x" * 32_001}, "prompt"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "1000x1000"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "3840x640"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "512x512"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "7:5"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "resolution": "8K"}, "resolution"),
    ({"model": "gpt-image-2", "prompt": "x", "image_urls": ["ftp://a/b.png"]}, "image_urls"),
    ({"model": "gpt-image-2", "prompt": "x", "image_urls": ["https://a/b.png"] * 17}, "image_urls"),
    ({"model": "gpt-image-2", "prompt": "x", "callback_url": "ftp://host/hook"}, "callback_url"),
]


@pytest.mark.parametrize(("payload", "param"), REJECTED)
def test_it_rejects_what_the_catalogue_rejects(simulator, api, payload, param):
    expected = request_rules.request_errors(payload, upstream=True)
    assert expected  # the row is invalid by the catalogue's rules for one request

    response = api.post(CREATE, json=payload)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"  # a string code on this endpoint
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    first_messages = next(iter(expected.values()))
    assert first_messages[0] in error["message"]
    assert simulator.tasks_created == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "gpt-image-1", "prompt": "x", "size": "2:3", "quality": "low"},
        {"model": "gpt-image-1.5", "prompt": "x", "n": 1},
        {"model": "gpt-image-1", "prompt": "x", "n": 2},
        {"model": "gpt-image-2", "prompt": "x", "size": "21:9", "resolution": "2K"},
        {"model": "gpt-image-2", "prompt": "x", "size": "3840x2160", "quality": "high"},
    ],
)
def test_it_accepts_what_the_catalogue_accepts(simulator, api, payload):
    assert request_rules.request_errors(payload, upstream=True) == {}

    assert api.post(CREATE, json=payload).status_code == 200


def test_a_non_json_body_is_400(simulator, api):
    response = api.post(CREATE, content=b"not json", headers={"Content-Type": "text/plain"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_oversized_body_is_413(simulator, api):
    response = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x" * 1_100_000})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Basic sk-evo-x", "Bearer evo-no-prefix"])
def test_it_requires_a_bearer_sk_key(simulator, header):
    headers = {"Authorization": header} if header else {}

    response = httpx.post(
        simulator.base_url + CREATE, json={"model": "gpt-image-2", "prompt": "x"}, headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_accepted_keys_are_configurable():
    with Simulator(port=0, api_keys={"sk-evo-alice"}) as simulator:
        for key, status in (("sk-evo-alice", 200), ("sk-evo-bob", 401)):
            response = httpx.get(
                simulator.base_url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == status


def test_a_task_is_private_to_its_key(simulator, api):
    task_id = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()["id"]

    response = httpx.get(
        f"{simulator.base_url}/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-evo-bob"}
    )

    assert response.status_code == 404
    # A string code, as EvoLink's reference (August 2026) documents for task reads.
    assert response.json()["error"]["code"] == "task_not_found"


# --- tasks ----------------------------------------------------------------------------


def test_a_task_goes_from_pending_through_processing_to_completed(simulator, api):
    simulator.task_seconds = 0.6
    created = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "n": 2}).json()

    assert TASK_ID.match(created["id"])
    assert created["object"] == "image.generation.task"
    assert (created["status"], created["progress"], created["type"]) == ("pending", 0, "image")
    assert created["task_info"] == {"can_cancel": True, "estimated_time": 1}
    assert set(created["usage"]) == {"billing_rule", "credits_reserved", "user_group"}

    seen: list[tuple[str, int]] = []
    body = created
    while body["status"] != "completed":
        body = api.get(f"/v1/tasks/{created['id']}").json()
        seen.append((body["status"], body["progress"]))
        time.sleep(0.03)

    statuses = [status for status, _ in seen]
    assert "processing" in statuses
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    assert body["progress"] == 100
    assert len(body["results"]) == 2
    assert body["usage"]["credits_used"] == body["usage"]["credits_reserved"]


def test_credits_are_held_charged_and_refunded(simulator, api):
    def remaining() -> float:
        return api.get("/v1/credits").json()["data"]["user"]["remaining_credits"]

    start = remaining()
    done = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()
    simulator.fail_tasks("service_error")
    failed = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "y"}).json()
    held = done["usage"]["credits_reserved"] + failed["usage"]["credits_reserved"]
    assert remaining() == pytest.approx(start - held)

    wait_until_finished(api, done["id"])
    assert wait_until_finished(api, failed["id"])["status"] == "failed"

    assert remaining() == pytest.approx(start - done["usage"]["credits_reserved"])


def test_too_few_credits_is_402(simulator, api):
    simulator.set_credits(0.01)

    response = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "quality": "high"})

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_quota"
    assert simulator.tasks_created == 0


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


# --- result images --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "size"),
    [
        ({"model": "gpt-image-1", "size": "3:2"}, (1536, 1024)),
        ({"model": "gpt-image-2"}, (1024, 1024)),  # auto
        ({"model": "gpt-image-2", "size": "16:9"}, (1360, 768)),
        ({"model": "gpt-image-2", "size": "1024x640"}, (1024, 640)),
    ],
)
def test_results_are_pngs_at_the_requested_size(simulator, api, payload, size):
    task = api.post(CREATE, json={"prompt": "a harbour", **payload}).json()
    url = wait_until_finished(api, task["id"])["results"][0]

    response = httpx.get(url)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == ("PNG", size)


def test_different_prompts_look_different():
    first = Image.open(io.BytesIO(render_png("a red fox", "gpt-image-2", "low", 1024, 640, 0, 1)))
    second = Image.open(
        io.BytesIO(render_png("a blue whale", "gpt-image-2", "low", 1024, 640, 0, 1))
    )

    assert first.getpixel((1000, 320)) != second.getpixel((1000, 320))


def test_a_4k_image_renders_quickly():
    started = time.monotonic()
    png = render_png("a long " * 200, "gpt-image-2", "high", 3840, 2160, 0, 1)

    assert time.monotonic() - started < 3
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (3840, 2160)


def test_results_expire(simulator, api):
    simulator.result_ttl = 1.0
    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()
    url = wait_until_finished(api, task["id"])["results"][0]
    assert httpx.get(url).status_code == 200

    time.sleep(1.05)

    assert httpx.get(url).status_code == 404
    assert api.get(f"/v1/tasks/{task['id']}").status_code == 404


def test_results_can_be_expired_on_demand(simulator, api):
    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}).json()
    url = wait_until_finished(api, task["id"])["results"][0]

    assert api.post("/_simulator/faults", json={"fault": "expire_results"}).status_code == 200

    assert httpx.get(url).status_code == 404


# --- reference images -----------------------------------------------------------------


def test_reference_images_are_fetched_and_decoded(simulator, api, local_server):
    local_server.files["/a.png"] = ("image/png", image_bytes("PNG"))
    local_server.files["/b.jpg"] = ("image/jpeg", image_bytes("JPEG"))
    local_server.files["/c.webp"] = ("image/webp", image_bytes("WEBP"))
    urls = [f"{local_server.url}/{name}" for name in ("a.png", "b.jpg", "c.webp")]

    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "image_urls": urls})

    assert task.json()["usage"]["credits_reserved"] > 0
    assert wait_until_finished(api, task.json()["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "content_type", "data"),
    [
        ("/missing.png", None, None),  # 404
        ("/page.png", "text/html", b"<html>a viewer page, not a file</html>"),
        ("/anim.gif", "image/gif", image_bytes("GIF")),  # not JPEG/PNG/WEBP
    ],
)
def test_an_unusable_reference_fails_the_task(
    simulator, api, local_server, path, content_type, data
):
    if data is not None:
        local_server.files[path] = (content_type, data)

    task = api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "image_urls": [local_server.url + path]},
    ).json()

    body = wait_until_finished(api, task["id"])
    assert body["status"] == "failed"
    assert body["error"]["code"] == "image_processing_error"


def test_an_unreachable_reference_fails_the_task(simulator, api, local_server):
    url = local_server.url + "/a.png"
    local_server.close()  # nothing listens there any more

    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "image_urls": [url]})

    body = wait_until_finished(api, task.json()["id"])
    assert body["error"]["code"] == "image_processing_error"


# --- callbacks ------------------------------------------------------------------------


def test_callbacks_post_the_task_and_retry_on_errors(simulator, api, local_server):
    local_server.statuses = [500, 503]  # then 200

    task = api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    ).json()
    wait_for(lambda: len(local_server.posts) == 3)

    body = local_server.posts[-1]
    assert body == api.get(f"/v1/tasks/{task['id']}").json()
    assert body["status"] == "completed"
    attempts = [(c["attempt"], c.get("status")) for c in simulator.callbacks]
    assert attempts == [(1, 500), (2, 503), (3, 200)]


def test_a_failed_task_is_called_back_too(simulator, api, local_server):
    simulator.fail_tasks("quota_exceeded")

    api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    )
    wait_for(lambda: len(local_server.posts) == 1)

    assert local_server.posts[0]["status"] == "failed"
    assert local_server.posts[0]["error"]["code"] == "quota_exceeded"


def test_callbacks_give_up_after_three_retries(simulator, api, local_server):
    local_server.statuses = [500] * 10

    api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    )
    wait_for(lambda: len(simulator.callbacks) == 4)
    time.sleep(0.3)

    assert len(local_server.posts) == 4


def test_http_callbacks_are_refused_unless_allowed(local_server):
    with Simulator(port=0) as strict:
        response = httpx.post(
            strict.base_url + CREATE,
            json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/h"},
            headers={"Authorization": f"Bearer {strict.api_key}"},
        )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "callback_url"


# --- the management command -----------------------------------------------------------


def test_the_command_serves_and_stops_on_sigterm(tmp_path: Path):
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "simulate_evolink", "--port", str(port)],
        cwd=root,
        env={**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def is_up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/credits").status_code == 401
            except httpx.TransportError:
                return False

        wait_for(is_up, timeout=20)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read().decode() if process.stdout else ""
    assert "stopped" in output


def test_a_simulator_that_never_served_stops_at_once():
    Simulator(port=0).stop()


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        ("[fail:no_such_code] x", "Known codes: "),
        ("[slow:soon] x", "give the seconds as a number"),
        ("[results:many] x", "give a whole number of images"),
    ],
)
def test_a_directive_the_simulator_cannot_carry_out_is_refused(
    evolink_client: Client, simulator: Simulator, prompt: str, says: str
) -> None:
    with pytest.raises(EvoLinkError) as refused:
        evolink_client.create_task({"model": "gpt-image-1", "prompt": prompt})
    assert refused.value.status == 400 and says in refused.value.message
    assert simulator.tasks_created == 0
    if "fail" in prompt:
        assert "content_policy_violation" in refused.value.message
