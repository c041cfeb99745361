"""Pytest fixtures that run the EvoLink simulator as a real server on loopback.

- `simulator_server` (session): one `Simulator` on 127.0.0.1 and a free port, with
  test timings (tasks finish in 0.3 s, callbacks retry after 0.05/0.1/0.2 s) and
  plain-http callbacks allowed so tests can receive them on loopback.
- `simulator`: the same object, reset before and after each test (tasks, files,
  faults, counters, credits, `task_seconds` / `result_ttl`). It has `.base_url`,
  `.api_key` and the fault-injection / inspection API of playground.evolink.simulator.
- `evolink_settings`: points settings.EVOLINK_BASE_URL / EVOLINK_FILES_BASE_URL /
  EVOLINK_API_KEY at it (it plays the Files API host too) and returns the simulator.
- `evolink_client`: an `evolink.Client` for it with fast backoff.
- `api`: a plain `httpx.Client` for it with its key, for tests of the wire itself.
- `local_server`: a tiny loopback HTTP server (a `LocalServer`) that serves
  `files`, records every request and answers POSTs with queued `statuses`: a
  reference-image host or a callback receiver.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from playground.evolink.client import Client
from playground.evolink.simulator import Simulator

TEST_TASK_SECONDS = 0.3


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[Simulator]:
    simulator = Simulator(
        "127.0.0.1",
        0,  # a free port chosen by the OS
        task_seconds=TEST_TASK_SECONDS,
        result_ttl=600,
        allow_http_callbacks=True,
        callback_delays=(0.05, 0.1, 0.2),
        callback_timeout=2.0,
        reference_timeout=5.0,
        # gpt-image-1 stays online here so the tests written for it keep testing what
        # they were written for; tests of its withdrawal call `take_offline`.
        offline_models=(),
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(simulator_server: Simulator) -> Iterator[Simulator]:
    simulator_server.reset()
    yield simulator_server
    simulator_server.reset()


@pytest.fixture
def evolink_settings(settings: Any, simulator: Simulator) -> Simulator:
    settings.EVOLINK_BASE_URL = simulator.base_url
    # So no test can upload to EvoLink's real Files API by accident.
    settings.EVOLINK_FILES_BASE_URL = simulator.base_url
    settings.EVOLINK_API_KEY = simulator.api_key
    return simulator


@pytest.fixture
def evolink_client(simulator: Simulator) -> Iterator[Client]:
    # Short backoff keeps retry tests fast; the rules under test are unchanged.
    with Client(simulator.api_key, simulator.base_url, backoff=0.01, max_retry_after=5) as client:
        yield client


@pytest.fixture
def api(simulator: Simulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {simulator.api_key}"}
    with httpx.Client(base_url=simulator.base_url, headers=headers, timeout=10) as client:
        yield client


def free_port() -> int:
    """A port nothing listens on (for "connection refused" cases)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    """A loopback HTTP server: GET serves `files` (path -> (content type, bytes)), POST
    answers the next of `statuses` (200 when none are queued); all are recorded."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self.statuses: list[int] = []
        self.requests: list[SeenRequest] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    SeenRequest(self.command, self.path, dict(self.headers.items()), body)
                )

            def do_GET(self) -> None:
                self._record()
                content_type, data = outer.files.get(self.path, ("text/plain", b"Not Found"))
                self.send_response(200 if self.path in outer.files else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._record()
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def posts(self) -> list[Any]:
        """The JSON bodies of the POSTs received so far."""
        return [r.json() for r in self.requests if r.method == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()
