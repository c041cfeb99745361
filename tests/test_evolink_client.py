"""playground.evolink against the simulator over real HTTP: no patched internals."""

from __future__ import annotations

import io
import pickle
import time

import httpx
import pytest
from PIL import Image

from playground import catalogue, pricing, request_rules
from playground.evolink.client import (
    ERRORS,
    HTTP_STATUS_CODES,
    Client,
    EvoLinkError,
    Task,
)
from playground.evolink.simulator import Simulator
from tests.fixtures_simulator import free_port

CREATE = "POST /v1/images/generations"
READ = "GET /v1/tasks/{id}"
PROMPT = "A lighthouse at dusk, watercolour"


def small_payload(**extra: object) -> dict[str, object]:
    # gpt-image-2's smallest legal size keeps image rendering fast.
    return {"model": "gpt-image-2", "prompt": PROMPT, "size": "1024x640", "quality": "low", **extra}


def wait_for(client: Client, task_id: str, timeout: float = 10.0) -> Task:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get_task(task_id)
        if task.is_terminal or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def recording_client(simulator: Simulator, **kwargs: object) -> tuple[Client, list[float]]:
    """A client whose backoff waits are recorded instead of slept."""
    sleeps: list[float] = []
    client = Client(simulator.api_key, simulator.base_url, sleep=sleeps.append, **kwargs)
    return client, sleeps


# --- the happy path -------------------------------------------------------------------


def test_it_creates_polls_and_downloads_an_image(simulator, evolink_client):
    created = evolink_client.create_task(small_payload(n=2))

    assert created.id.startswith("task-unified-")
    assert created.status == "pending"
    assert created.progress == 0
    assert created.results == ()
    expected = pricing.estimate(
        catalogue.get_model("gpt-image-2"), quality="low", size="1024x640", n=2
    )
    assert created.usage["credits_reserved"] == float(expected.total_credits)
    assert created.raw["object"] == "image.generation.task"

    task = wait_for(evolink_client, created.id)
    assert task.status == "completed"
    assert task.progress == 100
    assert task.error is None
    assert len(task.results) == 2
    assert "credits_used" in task.usage

    data = evolink_client.download(task.results[0], max_bytes=20_000_000)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (1024, 640)


def test_it_reads_credits(simulator, evolink_client):
    credits = evolink_client.get_credits()

    assert set(credits) == {"user", "token"}
    assert credits["user"]["remaining_credits"] == 10_000
    assert "unlimited_credits" in credits["token"]


def test_the_app_builds_its_client_from_settings(evolink_settings):
    from playground.evolink import upstream

    with upstream.client() as client:
        assert client.base_url == evolink_settings.base_url
        assert client.get_task(client.create_task(small_payload()).id).id


def test_it_reports_fewer_results_than_asked(simulator, evolink_client):
    simulator.limit_results(1)

    task = wait_for(evolink_client, evolink_client.create_task(small_payload(n=3)).id)

    assert task.status == "completed"
    assert len(task.results) == 1


# --- error shapes ---------------------------------------------------------------------


def test_a_400_carries_the_validation_message(simulator, evolink_client):
    payload = small_payload(size="1000x1000")

    with pytest.raises(EvoLinkError) as caught:
        evolink_client.create_task(payload)

    error = caught.value
    assert (error.status, error.code, error.param) == (400, "invalid_request", "size")
    expected = request_rules.request_errors(payload)["width"][0]
    assert expected in error.message
    assert not error.retryable
    assert not error.uncertain
    assert simulator.request_count(CREATE) == 1
    assert simulator.tasks_created == 0


def test_a_bad_key_is_401(simulator):
    with Client("not-a-key", simulator.base_url) as client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert not caught.value.retryable
    assert "API key" in caught.value.message
    assert simulator.tasks_created == 0


def test_too_few_credits_is_402(simulator, evolink_client):
    simulator.set_credits(0)

    with pytest.raises(EvoLinkError) as caught:
        evolink_client.create_task(small_payload())

    assert (caught.value.status, caught.value.code) == (402, "insufficient_quota")
    assert not caught.value.retryable
    assert "balance" in caught.value.message  # a balance problem says so


def test_an_unknown_task_is_404_with_an_integer_code(simulator, evolink_client):
    with pytest.raises(EvoLinkError) as caught:
        evolink_client.get_task("task-unified-0-missing0")

    assert (caught.value.status, caught.value.code) == (404, "task_not_found")
    assert not caught.value.retryable
    assert simulator.request_count(READ) == 1  # a 404 is not retried


def test_another_keys_task_is_404(simulator, evolink_client):
    task = evolink_client.create_task(small_payload())

    other = Client("sk-evo-someone-else", simulator.base_url)
    with other, pytest.raises(EvoLinkError) as caught:
        other.get_task(task.id)

    assert caught.value.status == 404


def test_a_non_json_error_body_is_understood(simulator):
    client, _ = recording_client(simulator)
    simulator.fail_reads(502, times=3)  # the simulator's 502 is a proxy's HTML page

    with client, pytest.raises(EvoLinkError) as caught:
        client.get_task("task-unified-0-whatever")

    assert (caught.value.status, caught.value.code) == (502, "bad_gateway")
    assert caught.value.retryable
    assert "502 Bad Gateway" in caught.value.detail
    assert simulator.request_count(READ) == 3


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (402, False),
        (403, False),
        (404, False),
        (413, False),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
    ],
)
def test_every_http_status_has_a_message(simulator, status, retryable):
    client, _ = recording_client(simulator)
    # An integer code (the HTTP status), the other documented error shape.
    simulator.fail_reads(
        status, times=3, body=f'{{"error": {{"code": {status}, "message": "x", "type": "t"}}}}'
    )

    with client, pytest.raises(EvoLinkError) as caught:
        client.get_task("task-unified-0-whatever")

    error = caught.value
    expected_code = "task_not_found" if status == 404 else HTTP_STATUS_CODES[status]
    assert (error.status, error.code, error.retryable) == (status, expected_code, retryable)
    assert error.message.startswith(ERRORS[expected_code].message)


def test_a_documented_string_code_is_kept_and_has_its_own_sentence(simulator, evolink_client):
    simulator.fail_reads(
        403, body='{"error": {"code": "model_access_denied", "message": "no", "type": "x"}}'
    )

    with pytest.raises(EvoLinkError) as caught:
        evolink_client.get_task("task-unified-0-whatever")

    assert caught.value.code == "model_access_denied"
    assert caught.value.message == ERRORS["model_access_denied"].message


def test_every_failure_code_and_status_has_a_sentence():
    for code in catalogue.FAILURE_CODES:
        assert ERRORS[code].retryable is catalogue.FAILURE_CODES[code]
    for code in [*catalogue.FAILURE_CODES, *HTTP_STATUS_CODES.values()]:
        assert ERRORS[code].message.endswith("."), code
    assert set(HTTP_STATUS_CODES) >= {400, 401, 402, 403, 404, 413, 429, 500, 502, 503}


# --- create: never pay twice ----------------------------------------------------------


def test_create_retries_a_429_and_honours_retry_after(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_creates(429, retry_after=1)

    with client:
        task = client.create_task(small_payload())

    assert task.status == "pending"
    assert sleeps == [1.0]
    assert simulator.request_count(CREATE) == 2
    assert simulator.tasks_created == 1


def test_create_gives_up_on_persistent_429_as_retryable(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_creates(429, times=3, retry_after=2)

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("rate_limit_exceeded", 429, 2.0)
    assert error.message == ERRORS["rate_limited"].message
    assert error.retryable
    assert not error.uncertain
    assert sleeps == [2.0, 2.0]
    assert simulator.request_count(CREATE) == 3
    assert simulator.tasks_created == 0


def test_create_hands_a_long_retry_after_to_the_caller(simulator):
    client, sleeps = recording_client(simulator, max_retry_after=20)
    simulator.fail_creates(429, retry_after=120)

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    assert caught.value.retry_after == 120
    assert caught.value.retryable
    assert sleeps == []
    assert simulator.request_count(CREATE) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_create_is_uncertain_and_not_resent(simulator, status):
    client, sleeps = recording_client(simulator)
    simulator.fail_creates(status)

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    error = caught.value
    assert error.uncertain
    assert not error.retryable
    assert error.status == status
    assert error.message.startswith("EvoLink may have received this request")
    assert simulator.request_count(CREATE) == 1
    assert sleeps == []


def test_a_dropped_connection_after_create_is_uncertain(simulator):
    client, _ = recording_client(simulator)
    simulator.drop_creates()

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    assert caught.value.uncertain
    assert not caught.value.retryable
    assert caught.value.code == "submission_uncertain"
    assert simulator.request_count(CREATE) == 1
    assert simulator.tasks_created == 1  # the upstream did create (and bill) it


def test_a_read_timeout_after_create_is_uncertain(simulator):
    client, _ = recording_client(simulator, timeout=httpx.Timeout(0.3, connect=2.0))
    simulator.delay_creates(1.0)

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    assert caught.value.uncertain
    assert simulator.request_count(CREATE) == 1
    assert simulator.tasks_created == 1


def test_connection_refused_is_retryable_and_certain():
    sleeps: list[float] = []
    client = Client("sk-evo-x", f"http://127.0.0.1:{free_port()}", sleep=sleeps.append)

    with client, pytest.raises(EvoLinkError) as caught:
        client.create_task(small_payload())

    error = caught.value
    assert error.code == "network_error"
    assert error.retryable
    assert not error.uncertain
    assert error.status is None
    assert len(sleeps) == 2  # three attempts in all


# --- reads ----------------------------------------------------------------------------


def test_get_task_retries_429_and_5xx_then_succeeds(simulator):
    client, sleeps = recording_client(simulator, max_attempts=4)
    with client:
        task = client.create_task(small_payload())
        simulator.fail_reads(429, retry_after=0)
        simulator.fail_reads(500)
        simulator.fail_reads(503)

        read = client.get_task(task.id)

    assert read.id == task.id
    assert simulator.request_count(READ) == 4
    assert len(sleeps) == 3
    assert sleeps[0] == 0


def test_get_task_retries_a_dropped_connection(simulator, evolink_client):
    task = evolink_client.create_task(small_payload())
    simulator.drop_reads()

    assert evolink_client.get_task(task.id).id == task.id
    assert simulator.request_count(READ) == 2


# --- task failures --------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(catalogue.FAILURE_CODES))
def test_each_failure_code_maps_to_a_message_and_retry_advice(simulator, evolink_client, code):
    simulator.task_seconds = 0.05
    simulator.fail_tasks(code)

    task = wait_for(evolink_client, evolink_client.create_task(small_payload()).id)

    assert task.status == "failed"
    assert task.is_failed
    assert task.error is not None
    assert task.error.code == code
    assert task.error.message == ERRORS[code].message
    assert task.error.retryable is catalogue.FAILURE_CODES[code]
    assert task.error.detail  # the upstream's own words are kept


def test_the_content_filter_message_suggests_what_to_do():
    assert ERRORS["content_policy_violation"].message == (
        "The content filter blocked this prompt. Try rephrasing; illustrated styles are "
        "blocked less often."
    )


# --- downloads ------------------------------------------------------------------------


def test_an_expired_result_is_404(simulator, evolink_client):
    task = wait_for(evolink_client, evolink_client.create_task(small_payload()).id)
    assert evolink_client.download(task.results[0], max_bytes=20_000_000)

    simulator.expire_results()  # as if 24 h had passed (test_simulator checks the TTL)

    with pytest.raises(EvoLinkError) as caught:
        evolink_client.download(task.results[0], max_bytes=20_000_000)
    assert (caught.value.code, caught.value.status) == ("result_expired", 404)
    assert not caught.value.retryable


def test_download_stops_at_the_byte_cap(simulator, evolink_client):
    task = wait_for(evolink_client, evolink_client.create_task(small_payload()).id)

    with pytest.raises(EvoLinkError) as caught:
        evolink_client.download(task.results[0], max_bytes=1000)

    assert caught.value.code == "download_too_large"


def test_download_never_sends_the_api_key(local_server):
    # The upstream's own origin is the only http origin a client downloads from.
    local_server.files["/r.png"] = ("image/png", b"\x89PNG fake")
    client = Client("sk-evo-secret", local_server.url)

    with client:
        assert client.download(f"{local_server.url}/r.png", max_bytes=1000) == b"\x89PNG fake"

    headers = {k.lower(): v for k, v in local_server.requests[0].headers.items()}
    assert "authorization" not in headers


def test_download_follows_no_redirect_off_origin(local_server):
    local_server.files["/r.png"] = ("image/png", b"x")
    client = Client("sk-evo-secret", local_server.url)

    with client, pytest.raises(EvoLinkError) as caught:
        # The simulator's origin is not this client's upstream: plain http is refused.
        client.download("http://127.0.0.1:1/r.png", max_bytes=1000)

    assert caught.value.code == "download_refused"
    assert local_server.requests == []


def test_download_requires_an_image(simulator, evolink_client):
    with pytest.raises(EvoLinkError) as caught:
        evolink_client.download(f"{simulator.base_url}/_simulator/stats", max_bytes=10_000)

    assert caught.value.code == "download_not_image"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/result.png",  # plain http off the upstream's origin
        "https://127.0.0.1:9/result.png",  # a loopback address
        "https://10.1.2.3/result.png",  # a private address
        "file:///etc/passwd",
    ],
)
def test_download_refuses_unsafe_urls(simulator, evolink_client, url):
    with pytest.raises(EvoLinkError) as caught:
        evolink_client.download(url, max_bytes=10_000)

    assert caught.value.code == "download_refused"
    assert not caught.value.retryable


def test_download_retries_network_errors_then_reports_retryable():
    # Nothing listens on the upstream's port, so its own origin is allowed and every
    # attempt fails before connecting.
    sleeps: list[float] = []
    base_url = f"http://127.0.0.1:{free_port()}"

    client = Client("sk-evo-x", base_url, sleep=sleeps.append)
    with client, pytest.raises(EvoLinkError) as caught:
        client.download(f"{base_url}/files/x.png", max_bytes=10_000)

    assert caught.value.code == "network_error"
    assert caught.value.retryable
    assert len(sleeps) == 2


# --- parsing --------------------------------------------------------------------------


def test_task_parsing_tolerates_extra_fields_and_unknown_statuses():
    task = Task.from_json(
        {"id": "t1", "status": "queued_for_gpu", "progress": "12", "new_field": {"a": 1}}
    )

    assert (task.id, task.status, task.progress, task.is_terminal) == (
        "t1",
        "queued_for_gpu",
        12,
        False,
    )
    assert task.raw["new_field"] == {"a": 1}


def test_task_parsing_accepts_a_data_wrapper_and_a_cancelled_status():
    task = Task.from_json({"data": {"id": "t2", "status": "cancelled"}})

    assert task.is_terminal
    assert task.is_failed
    assert task.error is not None
    assert task.error.code == "request_cancelled"


def test_task_parsing_rejects_an_envelope_without_id():
    with pytest.raises(EvoLinkError) as caught:
        Task.from_json({"status": "pending"})

    assert caught.value.code == "invalid_response"


def test_an_error_survives_pickling():
    error = EvoLinkError.from_code("rate_limited", status=429, retry_after=3.0)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert (copy.code, copy.status, copy.retryable, copy.retry_after, copy.message) == (
        "rate_limited",
        429,
        True,
        3.0,
        error.message,
    )
