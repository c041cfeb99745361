"""The simulator's side of EvoLink's Files API: its envelope, its refusals, injected
faults, and uploads that leave its disk when they expire or are cut off.
"""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from playground.evolink.files import FILES_UPLOAD_PATH
from playground.evolink.simulator import Simulator, read_multipart
from tests.files_api import UPLOAD, image_bytes, upload

# --- the simulator's side of the wire -------------------------------------------------


@pytest.fixture
def files_api(simulator: Simulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {simulator.api_key}"}
    with httpx.Client(base_url=simulator.base_url, headers=headers, timeout=10) as client:
        yield client


def test_a_bad_key_gets_the_files_api_envelope(simulator):
    response = httpx.post(
        simulator.base_url + FILES_UPLOAD_PATH,
        headers={"Authorization": "Bearer nope"},
        files={"file": ("a.png", image_bytes(), "image/png")},
    )

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["code"] == 401
    assert body["msg"]
    assert body["data"] is None


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"json": {"file": "a.png"}}, "multipart/form-data"),
        ({"files": {"image": ("a.png", image_bytes(), "image/png")}}, "no file field"),
        (
            {
                "files": [
                    ("file", ("a.png", image_bytes(), "image/png")),
                    ("file", ("b.png", image_bytes(), "image/png")),
                ]
            },
            "only one file",
        ),
    ],
)
def test_a_malformed_upload_is_a_400_envelope(simulator, files_api, request_args, message):
    response = files_api.post(FILES_UPLOAD_PATH, **request_args)

    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["code"], body["data"]) == (False, 400, None)
    assert message in body["msg"]
    assert simulator.stats()["uploads"] == 0


def test_the_answer_has_evolinks_fields(simulator, files_api):
    data = image_bytes()
    response = files_api.post(
        FILES_UPLOAD_PATH, files={"file": ("photo.png", data, "application/octet-stream")}
    )

    body = response.json()
    assert (response.status_code, body["success"], body["code"]) == (200, True, 200)
    assert body["data"]["file_id"].startswith("file_")
    assert body["data"]["original_name"] == "photo.png"
    assert body["data"]["file_size"] == body["data"]["size"] == len(data)
    assert body["data"]["mime_type"] == "image/png"  # sniffed, not the declared type
    expires = datetime.fromisoformat(body["data"]["expires_at"])
    uploaded = datetime.fromisoformat(body["data"]["upload_time"])
    assert expires - uploaded == timedelta(hours=72)


def test_upload_faults_can_be_injected_over_http(simulator, files_api):
    faults = [
        {"fault": "upload_error", "status": 200, "code": 429, "msg": "slow down"},
        {"fault": "upload_drop"},
    ]
    response = files_api.post("/_simulator/faults", json=faults)
    assert response.json()["pending_faults"]["upload"] == 2

    refused = files_api.post(FILES_UPLOAD_PATH, files={"file": ("a.png", image_bytes())})
    assert refused.status_code == 200
    assert refused.json() == {"success": False, "code": 429, "msg": "slow down", "data": None}
    with pytest.raises(httpx.RemoteProtocolError):
        files_api.post(FILES_UPLOAD_PATH, files={"file": ("a.png", image_bytes())})

    stored = files_api.post(FILES_UPLOAD_PATH, files={"file": ("a.png", image_bytes())})
    url = stored.json()["data"]["file_url"]
    assert files_api.post("/_simulator/faults", json={"fault": "expire_uploads"}).is_success
    assert httpx.get(url).status_code == 404
    assert simulator.request_count(UPLOAD) == 3


def uploaded_files_on_disk(simulator: Simulator) -> list[str]:
    return os.listdir(simulator.upload_dir)


def test_expired_uploads_leave_the_disk(simulator, evolink_client):
    upload(evolink_client, simulator, image_bytes())
    upload(evolink_client, simulator, image_bytes())
    assert len(uploaded_files_on_disk(simulator)) == 2

    simulator.expire_uploads()
    upload(evolink_client, simulator, image_bytes())  # each upload sweeps expired ones
    assert len(uploaded_files_on_disk(simulator)) == 1

    simulator.reset()
    assert uploaded_files_on_disk(simulator) == []


def test_an_upload_cut_off_midway_leaves_nothing_behind(simulator):
    head = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + b"\0" * 5000
    )
    with socket.create_connection(("127.0.0.1", simulator.port)) as sock:
        sock.sendall(
            f"POST {FILES_UPLOAD_PATH} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {simulator.api_key}\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + head
        )
        deadline = time.monotonic() + 5
        while not uploaded_files_on_disk(simulator):  # the part has started
            assert time.monotonic() < deadline
            time.sleep(0.01)

    deadline = time.monotonic() + 5
    while uploaded_files_on_disk(simulator):
        assert time.monotonic() < deadline, "the partial upload was not removed"
        time.sleep(0.01)
    assert simulator.stats()["uploads"] == 0


def test_the_multipart_reader_survives_any_chunking():
    boundary = b"b0uNd"
    # The content holds the bare boundary and a CR LF: only CR LF + "--" + boundary ends it.
    content = b"\x00--b0uNd\r\n--b0uN" * 50
    body = (
        b"preamble\r\n--b0uNd\r\n"
        b'Content-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        b"--b0uNd\r\n"
        b'Content-Disposition: form-data; name="file"; filename="x.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--b0uNd--\r\nepilogue"
    )
    for size in (1, 2, 3, 7, 64, len(body)):
        parts: list[tuple[Any, io.BytesIO]] = []

        def sink_for(headers: Any, parts: list[tuple[Any, io.BytesIO]] = parts) -> io.BytesIO:
            parts.append((headers, io.BytesIO()))
            return parts[-1][1]

        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        read_multipart(chunks, boundary, sink_for)

        assert [h.get_param("name", header="content-disposition") for h, _ in parts] == [
            "note",
            "file",
        ]
        assert parts[0][1].getvalue() == b"hello"
        assert parts[1][1].getvalue() == content, size
        assert parts[1][0].get_filename() == "x.bin"
