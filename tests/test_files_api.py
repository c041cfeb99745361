"""EvoLink's Files API: `Client.upload_file` against the simulator over real HTTP.

Only the tests of what the simulator cannot show (a default host that is not
reachable from here, answer shapes it never sends) use httpx.MockTransport. The
simulator's own side of the wire is tested in test_files_api_simulator.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from playground import catalogue
from playground.evolink.client import Client, EvoLinkError, Task
from playground.evolink.files import DEFAULT_FILES_BASE_URL, FILES_UPLOAD_PATH, UploadedFile
from playground.evolink.simulator import Simulator
from tests.files_api import UPLOAD, OneWayStream, image_bytes, upload
from tests.fixtures_simulator import free_port

FILE_GET = "GET /files-api/{name}"
REFUSED = "EvoLink's file storage refused the reference image: "
FORMATS = [
    ("PNG", "image/png", "png"),
    ("JPEG", "image/jpeg", "jpg"),
    ("WEBP", "image/webp", "webp"),
]


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: side² × 3 bytes, give or take."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def recording_client(simulator: Simulator, key: str | None = None) -> tuple[Client, list[float]]:
    """A client whose backoff waits are recorded instead of slept."""
    sleeps: list[float] = []
    client = Client(key or simulator.api_key, simulator.base_url, sleep=sleeps.append)
    return client, sleeps


def small_payload(**extra: object) -> dict[str, object]:
    return {"model": "gpt-image-2", "prompt": "x", "size": "1024x640", "quality": "low", **extra}


def wait_for(client: Client, task_id: str, timeout: float = 10.0) -> Task:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get_task(task_id)
        if task.is_terminal or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


class ReadRecorder(io.BytesIO):
    """A file that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


# --- the happy path -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime_type", "extension"), FORMATS)
def test_an_uploaded_image_downloads_back_byte_identical(
    simulator, evolink_client, fmt, mime_type, extension
):
    data = image_bytes(fmt)

    uploaded = upload(evolink_client, simulator, data, f"ref.{extension}", mime_type)

    assert re.fullmatch(
        rf"{re.escape(simulator.base_url)}/files-api/[\w-]+\.{extension}", uploaded.file_url
    )
    assert uploaded.expires_at is not None
    expected_expiry = datetime.now(UTC) + timedelta(hours=72)
    assert abs(uploaded.expires_at - expected_expiry) < timedelta(minutes=1)
    assert uploaded.raw["mime_type"] == mime_type
    assert uploaded.raw["size"] == len(data)
    assert uploaded.raw["file_name"] == f"ref.{extension}"
    # Fetched like EvoLink's servers fetch it: no key.
    response = httpx.get(uploaded.file_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == mime_type
    assert response.content == data
    assert simulator.request_count(UPLOAD) == 1
    assert simulator.stats()["uploads"] == 1


def test_a_large_image_is_streamed_through_intact_from_wherever_the_file_was(
    simulator, evolink_client
):
    data = noise_png(1200)  # ~4.3 MB: many chunks on both sides
    file = ReadRecorder(data)
    file.seek(0, io.SEEK_END)  # as after a caller checked the size: upload_file rewinds

    uploaded = upload(evolink_client, simulator, file)

    assert httpx.get(uploaded.file_url).content == data
    # Streamed in chunks, never read whole into memory.
    assert file.reads
    assert all(0 < size <= 64 * 1024 for size in file.reads)


def test_a_file_that_cannot_be_rewound_is_sent_chunked(simulator, evolink_client):
    data = image_bytes("WEBP", (300, 200))

    uploaded = upload(evolink_client, simulator, OneWayStream(data), "ref.webp", "image/webp")

    assert httpx.get(uploaded.file_url).content == data


def test_the_files_host_comes_from_the_setting(settings, simulator):
    settings.EVOLINK_FILES_BASE_URL = simulator.base_url + "/"
    with Client(simulator.api_key, "http://127.0.0.1:9") as client:  # the API host is unused
        uploaded = client.upload_file(
            io.BytesIO(image_bytes()), filename="a.png", content_type="image/png"
        )

    assert uploaded.file_url.startswith(simulator.base_url + "/files-api/")


def test_without_the_setting_it_uploads_to_evolinks_files_host(settings):
    del settings.EVOLINK_FILES_BASE_URL
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        data = {"file_url": "https://files.evolink.ai/photos/a.png"}
        return httpx.Response(200, json={"success": True, "code": 200, "msg": "ok", "data": data})

    client = Client("sk-evo-key", "https://api.evolink.ai", transport=httpx.MockTransport(answer))
    with client:
        uploaded = client.upload_file(
            io.BytesIO(b"\x89PNG..."), filename="a.png", content_type="image/png"
        )

    assert uploaded.file_url == "https://files.evolink.ai/photos/a.png"
    (request,) = seen
    assert str(request.url) == DEFAULT_FILES_BASE_URL + FILES_UPLOAD_PATH
    assert request.headers["Authorization"] == "Bearer sk-evo-key"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'Content-Disposition: form-data; name="file"; filename="a.png"' in request.content
    assert b"Content-Type: image/png\r\n\r\n\x89PNG..." in request.content


# --- refusals -------------------------------------------------------------------------


def test_a_text_file_is_refused_with_a_clear_error(simulator):
    client, sleeps = recording_client(simulator)

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, b"just some text\n", "notes.txt", "text/plain")

    error = caught.value
    assert (error.status, error.code) == (400, "upload_refused")
    assert error.message == REFUSED + "unsupported file."
    assert not error.retryable
    assert sleeps == []
    assert simulator.request_count(UPLOAD) == 1
    assert simulator.stats()["uploads"] == 0


def test_a_bad_key_is_refused_and_not_retried(simulator):
    client, sleeps = recording_client(simulator, key="not-a-key")

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, image_bytes())

    error = caught.value
    assert (error.status, error.code) == (401, "unauthorized")
    assert error.message.startswith(REFUSED + "EvoLink did not accept this team's API key")
    assert not error.retryable
    assert sleeps == []
    assert simulator.request_count(UPLOAD) == 1


def test_a_file_over_50_mb_is_refused_as_too_large(simulator, evolink_client):
    too_big = b"\0" * (catalogue.MAX_REFERENCE_BYTES + 1)

    with pytest.raises(EvoLinkError) as caught:
        upload(evolink_client, simulator, too_big)

    error = caught.value
    assert (error.status, error.code) == (413, "request_too_large")
    assert error.message.startswith(REFUSED)
    assert not error.retryable
    assert simulator.request_count(UPLOAD) == 1


def test_a_refusal_behind_http_200_is_read_from_the_envelope(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_uploads(200, code=400, msg="Upload quota exhausted")

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, image_bytes())

    error = caught.value
    assert (error.status, error.code) == (200, "upload_refused")
    assert error.message == REFUSED + "Upload quota exhausted."
    assert not error.retryable
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "upload_refused", False),
        (401, "unauthorized", False),
        (402, "insufficient_quota", False),
        (403, "upload_refused", False),  # not "this key may not use this model"
        (404, "upload_refused", False),
        (413, "request_too_large", False),
        (429, "rate_limited", True),
        (500, "server_error", True),
        (502, "bad_gateway", True),
        (503, "service_unavailable", True),
    ],
)
def test_every_status_reads_as_a_failed_upload(simulator, status, code, retryable):
    client, _ = recording_client(simulator)
    simulator.fail_uploads(status, times=3, msg="Storage says no")

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, image_bytes())

    error = caught.value
    assert (error.status, error.code, error.retryable) == (status, code, retryable)
    assert error.message.startswith(REFUSED)
    assert error.detail == "Storage says no"
    if code in ("upload_refused", "insufficient_quota", "request_too_large"):
        assert "Storage says no." in error.message  # which quota, which limit
    assert simulator.request_count(UPLOAD) == (3 if retryable else 1)


# --- retries --------------------------------------------------------------------------


def test_a_503_is_retried_and_the_upload_succeeds(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_uploads(503)

    with client:
        uploaded = upload(client, simulator, image_bytes())

    assert httpx.get(uploaded.file_url).status_code == 200
    assert simulator.request_count(UPLOAD) == 2
    assert len(sleeps) == 1


def test_a_server_error_behind_http_200_is_retried(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_uploads(200, code=500)

    with client:
        upload(client, simulator, image_bytes())

    assert simulator.request_count(UPLOAD) == 2
    assert len(sleeps) == 1


def test_a_429_waits_as_long_as_retry_after_says(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_uploads(429, retry_after=1.5)

    with client:
        upload(client, simulator, image_bytes())

    assert sleeps == [1.5]


def test_a_dropped_connection_is_retried(simulator):
    client, sleeps = recording_client(simulator)
    simulator.drop_uploads()

    with client:
        upload(client, simulator, image_bytes())

    assert simulator.request_count(UPLOAD) == 2
    assert len(sleeps) == 1


def test_persistent_server_errors_give_up_with_a_retryable_error(simulator):
    client, sleeps = recording_client(simulator)
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    simulator.fail_uploads(502, times=3, body=html, content_type="text/html")

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, image_bytes())

    error = caught.value
    assert (error.status, error.code) == (502, "bad_gateway")
    assert error.retryable
    assert "502 Bad Gateway" in error.detail
    assert simulator.request_count(UPLOAD) == 3
    assert len(sleeps) == 2


def test_an_unreachable_files_host_is_a_retryable_network_error():
    sleeps: list[float] = []
    client = Client("sk-evo-key", "http://127.0.0.1:9", sleep=sleeps.append)
    with client, pytest.raises(EvoLinkError) as caught:
        client.upload_file(
            io.BytesIO(image_bytes()),
            filename="a.png",
            content_type="image/png",
            files_base_url=f"http://127.0.0.1:{free_port()}",
        )

    assert caught.value.code == "network_error"
    assert caught.value.retryable
    assert "file storage" in caught.value.message
    assert len(sleeps) == 2


def test_a_file_that_cannot_be_rewound_is_sent_only_once(simulator):
    client, sleeps = recording_client(simulator)
    simulator.fail_uploads(503)

    with client, pytest.raises(EvoLinkError) as caught:
        upload(client, simulator, OneWayStream(image_bytes()))

    assert caught.value.retryable  # the caller may try again with a fresh file
    assert simulator.request_count(UPLOAD) == 1
    assert sleeps == []


# --- expiry and use in tasks ----------------------------------------------------------


def test_an_expired_upload_answers_404(simulator, evolink_client):
    first = upload(evolink_client, simulator, image_bytes())
    assert httpx.get(first.file_url).status_code == 200

    simulator.expire_uploads()

    assert httpx.get(first.file_url).status_code == 404
    assert simulator.stats()["uploads"] == 0


def test_uploads_live_for_files_ttl(simulator, evolink_client):
    simulator.files_ttl = 0.3

    uploaded = upload(evolink_client, simulator, image_bytes())

    assert uploaded.expires_at is not None
    assert uploaded.expires_at - datetime.now(UTC) < timedelta(seconds=2)
    assert httpx.get(uploaded.file_url).status_code == 200
    time.sleep(0.35)
    assert httpx.get(uploaded.file_url).status_code == 404
    assert simulator.request_count(FILE_GET) == 2


def test_a_task_can_use_an_uploaded_reference(simulator, evolink_client):
    uploaded = upload(evolink_client, simulator, image_bytes("JPEG"), "ref.jpg", "image/jpeg")

    created = evolink_client.create_task(small_payload(image_urls=[uploaded.file_url]))
    task = wait_for(evolink_client, created.id)

    assert task.status == "completed", task.error
    assert simulator.request_count(FILE_GET) == 1  # the simulator fetched it like EvoLink


def test_a_task_whose_uploaded_reference_expired_fails(simulator, evolink_client):
    uploaded = upload(evolink_client, simulator, image_bytes())
    simulator.expire_uploads()

    created = evolink_client.create_task(small_payload(image_urls=[uploaded.file_url]))
    task = wait_for(evolink_client, created.id)

    assert task.status == "failed"
    assert task.error is not None
    assert task.error.code == "image_processing_error"
    assert "404" in task.error.detail


# --- answers the simulator never sends ------------------------------------------------


def mock_client(body: Any, status: int = 200) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content)

    return Client(
        "sk-evo-key",
        "https://api.evolink.ai",
        transport=httpx.MockTransport(answer),
        sleep=lambda _: None,
    )


def mock_upload(body: Any, status: int = 200) -> UploadedFile:
    with mock_client(body, status) as client:
        return client.upload_file(
            io.BytesIO(b"x"),
            filename="a.png",
            content_type="image/png",
            files_base_url="https://files-api.evolink.ai",
        )


def test_expires_at_is_read_in_any_offset_and_defaults_to_72_hours():
    envelope = {"success": True, "code": 200, "msg": "ok"}
    url = "https://files.evolink.ai/photos/a.png"

    with_offset = mock_upload(
        {**envelope, "data": {"file_url": url, "expires_at": "2025-10-12T00:00:00+08:00"}}
    )
    assert with_offset.expires_at == datetime(2025, 10, 11, 16, tzinfo=UTC)

    without = mock_upload({**envelope, "data": {"file_url": url}})
    assert without.expires_at is not None
    expected = datetime.now(UTC) + timedelta(hours=72)
    assert abs(without.expires_at - expected) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "code": 200, "msg": "ok", "data": {}},
        {"success": True, "code": 200, "msg": "ok", "data": None},
        b"<html>ok</html>",
    ],
)
def test_a_success_without_a_file_url_is_an_invalid_response(body):
    with pytest.raises(EvoLinkError) as caught:
        mock_upload(body)

    assert caught.value.code == "invalid_response"
    assert "file URL" in caught.value.message


def test_an_error_in_the_api_hosts_shape_is_understood():
    body = {"error": {"code": "file_too_large", "message": "File exceeds 50MB.", "type": "x"}}

    with pytest.raises(EvoLinkError) as caught:
        mock_upload(body, status=400)

    assert caught.value.code == "upload_refused"
    assert caught.value.message == REFUSED + "File exceeds 50MB."
