"""The simulator speaks EvoLink's contract: checked with plain httpx over loopback.

Credits per key and injected faults are in test_simulator_credits.py, what the
simulator fetches and calls back in test_simulator_callbacks.py.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from playground import request_rules
from playground.evolink.client import Client, EvoLinkError
from playground.evolink.simulator import Simulator, render_png
from tests.fixtures_simulator import free_port
from tests.simulator_http import CREATE, LONG_TOKENS, TASK_ID, wait_for, wait_until_finished

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
