"""The simulator's HTTP plumbing: the threaded server and the request handler.

`_Handler` reads each request, routes it to the `Simulator` (or to the `/_simulator/`
control routes), and has the helpers the simulator reads requests and answers with
(`read_json`, `receive_file`, `send_json`, `send_fault`, `drop`, ...).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playground import catalogue
from playground.evolink.simulator.faults import _FAULT_BODIES, _HttpFault
from playground.evolink.simulator.files import (
    MAX_DISCARD_BYTES,
    MAX_UPLOAD_BODY_BYTES,
    UPLOAD_PATH,
    UPLOAD_ROUTE,
    _envelope_body,
    _unlink,
)
from playground.evolink.simulator.multipart import (
    _FileTooLarge,
    _LimitedFile,
    _MultipartError,
    _Sink,
    read_multipart,
)

if TYPE_CHECKING:
    from playground.evolink.simulator.server import Simulator

# The package's name ("playground.evolink.simulator"), as before the split into modules.
logger = logging.getLogger(__package__)

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: under a burst of connections the kernel
    # dropped some after the client had sent its request, which then read as a reset:
    # a "submission uncertain" no real server would cause.
    request_queue_size = 1024
    simulator: Simulator


_TASK_ROUTE = re.compile(r"^/v1/tasks/([^/]+)$")
_FILE_ROUTE = re.compile(r"^/files/([A-Za-z0-9_-]+\.(?:png|jpg|webp))$")
_UPLOADED_FILE_ROUTE = re.compile(r"^/files-api/([A-Za-z0-9_-]+\.(?:jpg|png|webp))$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections upstream
    server_version = "EvoLinkSimulator/1.0"
    timeout = 30  # an idle keep-alive connection frees its thread after this
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waited
    # for the client's delayed ACK, ~40 ms on every keep-alive request (a stall no real
    # server has, which made each read of a task cost 40 ms instead of 1).
    disable_nagle_algorithm = True
    server: _Server
    _body: bytes = b""

    # --- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        sim = self.server.simulator
        path = urlsplit(self.path).path
        route = self._route_name(method, path)
        try:
            # Read the whole body before any answer: on a keep-alive connection an
            # unread body would be parsed as the next request. Uploads (up to 50 MB)
            # are the exception: handle_upload streams them to disk.
            self._body = b"" if route == UPLOAD_ROUTE else self._read_body()
            if path.startswith("/_simulator/"):
                self._control(method, path)
                return
            with sim._lock:
                sim._requests[route] += 1
            if method == "GET" and (match := _FILE_ROUTE.match(path)):
                sim.handle_file(self, match.group(1))
                return
            if method == "GET" and (match := _UPLOADED_FILE_ROUTE.match(path)):
                sim.handle_uploaded_file(self, match.group(1))
                return
            if route == UPLOAD_ROUTE:
                # Before the generic auth check: the Files API answers in its own shape.
                sim.handle_upload(self)
                return
            if route.endswith(" ?"):
                self.send_error_json(404, 404, "Not found.", "not_found_error")
                return
            key = self._bearer()
            if key is None or not sim._accepts(key):
                self.send_error_json(
                    401, "unauthorized", "Invalid or missing API key.", "authentication_error"
                )
                return
            if route == "POST /v1/images/generations":
                sim.handle_create(self, key)
            elif route == "GET /v1/tasks/{id}":
                match = _TASK_ROUTE.match(path)
                assert match is not None
                sim.handle_get_task(self, key, match.group(1))
            elif route == "GET /v1/credits":
                sim.handle_credits(self, key)
        except _BodyTooLarge:
            self.close_connection = True  # the unread rest of the body is discarded
            self.send_error_json(
                413, "request_too_large", "Request body too large.", "invalid_request_error"
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timed out)
        except Exception:
            logger.exception("simulator: %s %s failed", method, self.path)
            self.close_connection = True  # an upload's body may be partly unread
            with contextlib.suppress(OSError):
                self.send_error_json(500, "internal_error", "Simulator error.", "server_error")

    @staticmethod
    def _route_name(method: str, path: str) -> str:
        if method == "POST" and path == "/v1/images/generations":
            return "POST /v1/images/generations"
        if method == "GET" and _TASK_ROUTE.match(path):
            return "GET /v1/tasks/{id}"
        if method == "GET" and path == "/v1/credits":
            return "GET /v1/credits"
        if method == "GET" and _FILE_ROUTE.match(path):
            return "GET /files/{name}"
        if method == "POST" and path == UPLOAD_PATH:
            return UPLOAD_ROUTE
        if method == "GET" and _UPLOADED_FILE_ROUTE.match(path):
            return "GET /files-api/{name}"
        return f"{method} ?"

    def _control(self, method: str, path: str) -> None:
        sim = self.server.simulator
        if not sim.control:
            self.send_error_json(404, 404, "Not found.", "not_found_error")
        elif method == "GET" and path == "/_simulator/stats":
            self.send_json(200, sim.stats())
        elif method == "POST" and path == "/_simulator/reset":
            sim.reset()
            self.send_json(200, {"ok": True})
        elif method == "POST" and path == "/_simulator/faults":
            body = self.read_json()
            specs = body if isinstance(body, list) else [body]
            try:
                for spec in specs:
                    if not isinstance(spec, dict):
                        raise ValueError("each fault must be a JSON object")
                    sim.apply_fault(spec)
            except (KeyError, TypeError, ValueError) as exc:
                self.send_error_json(
                    400, "invalid_request", f"Bad fault: {exc}", "invalid_request_error"
                )
                return
            self.send_json(200, {"ok": True, "pending_faults": sim.stats()["pending_faults"]})
        else:
            self.send_error_json(404, 404, "Not found.", "not_found_error")

    # --- helpers used by Simulator ----------------------------------------------------

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def origin(self) -> str:
        """The origin the client used, so result URLs work behind any host name."""
        sim = self.server.simulator
        host = self.headers.get("Host")
        if sim.public_url != sim.base_url or not host or not re.fullmatch(r"[\w.\-:\[\]]+", host):
            return sim.public_url
        return f"http://{host}"

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def body_chunks(self, limit: int) -> Iterator[bytes]:
        """The body chunk by chunk (Content-Length or chunked); _BodyTooLarge past `limit`."""
        if self._chunked():
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _MultipartError("bad chunked encoding") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                total += size
                if total > limit:
                    raise _BodyTooLarge
                yield from self._read_exactly(size)
                self.rfile.readline(1024)  # the CRLF after each chunk
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise _BodyTooLarge
        yield from self._read_exactly(length)

    def _read_exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            # read1: what has arrived (up to a chunk), not a wait for a full chunk.
            data = self.rfile.read1(min(size, _CHUNK))
            if not data:
                raise ConnectionResetError("the client closed the connection mid-body")
            size -= len(data)
            yield data

    def discard_body(self, chunks: Iterator[bytes] | None = None) -> None:
        """Read an unwanted upload body (or the rest of `chunks`) to its end.

        So that a client still sending gets the answer rather than a reset connection,
        and the connection can be reused. Past MAX_DISCARD_BYTES it is closed instead.
        """
        try:
            for _ in self.body_chunks(MAX_DISCARD_BYTES) if chunks is None else chunks:
                pass
        except (_BodyTooLarge, _MultipartError):
            self.close_connection = True  # the rest is never read

    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def receive_file(self, directory: str) -> tuple[str, str, int] | None:
        """Stream the multipart field `file` into `directory`: (path, file name, size).

        None when the request was refused here (the answer has been sent).
        """
        boundary = self.headers.get_param("boundary")
        if self.headers.get_content_type() != "multipart/form-data" or not isinstance(
            boundary, str
        ):
            self.discard_body()
            self.send_envelope(400, 400, "expected multipart/form-data with a file field")
            return None
        files: list[tuple[_LimitedFile, str]] = []

        def sink_for(headers: Message) -> _Sink | None:
            if headers.get_param("name", header="content-disposition") != "file":
                return None  # other fields (upload_path, file_name) are not simulated
            if files:
                raise _MultipartError("only one file per request")
            sink = _LimitedFile(directory, catalogue.MAX_REFERENCE_BYTES)
            files.append((sink, os.path.basename(headers.get_filename() or "")))
            return sink

        problem: tuple[int, str] | None = None
        chunks = self.body_chunks(MAX_UPLOAD_BODY_BYTES)
        too_large = (413, "file too large (at most 50 MB)")
        complete = False
        try:
            read_multipart(chunks, boundary.encode(), sink_for)
            complete = True
        except _BodyTooLarge:
            if self._chunked():
                self.close_connection = True  # found out mid-stream: the rest stays unread
            else:
                self.discard_body()  # declared too large: nothing was read yet
            problem = too_large
        except _FileTooLarge:
            self.discard_body(chunks)
            problem = too_large
        except _MultipartError as exc:
            self.discard_body(chunks)
            self.close_connection = True  # the framing is in doubt
            problem = (400, str(exc))
        finally:
            # Also when the client went away mid-body (the exception goes on up).
            for sink, _name in files:
                sink.file.close()
                if not complete:
                    _unlink(sink.file.name)
        if problem is None and not files:
            problem = (400, "no file field in the request")
        if problem is not None:
            self.send_envelope(problem[0], problem[0], problem[1])
            return None
        sink, filename = files[0]
        return sink.file.name, filename, sink.size

    def send_envelope(self, status: int, code: int, msg: str) -> None:
        self.send_json(status, _envelope_body(False, code, msg, None))

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        # Every answer carries a request id, as EvoLink's do (its support asks for it).
        # Here, where every answer starts, so that no route can forget it.
        request_id = f"req_{secrets.token_hex(12)}"
        self.server.simulator.last_request_id = request_id
        if self.server.simulator.drift != "no-request-id":
            self.send_header("x-request-id", request_id)

    def send_file(
        self, handle: IO[bytes], size: int, content_type: str, *, cache_seconds: int = 0
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        if cache_seconds > 0:
            self.send_header("Cache-Control", f"private, max-age={cache_seconds}")
        self.end_headers()
        shutil.copyfileobj(handle, self.wfile, _CHUNK)

    def read_json(self) -> Any:
        try:
            return json.loads(self._body or b"null")
        except (ValueError, UnicodeDecodeError):
            return None

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers=headers)

    def send_error_json(
        self, status: int, code: str | int, message: str, type_: str, *, param: str | None = None
    ) -> None:
        if self.server.simulator.drift == "integer-error-code":
            code = status  # as some of EvoLink's endpoints once did
        error: dict[str, Any] = {"code": code, "message": message, "type": type_}
        if param:
            error["param"] = param
        self.send_json(status, {"error": error})

    def send_fault(self, fault: _HttpFault) -> None:
        content_type, body = _FAULT_BODIES.get(
            fault.status,
            (
                "application/json",
                json.dumps(
                    {"error": {"code": fault.status, "message": "Injected error.", "type": "error"}}
                ),
            ),
        )
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self.send_bytes(
            fault.status,
            (fault.body if fault.body is not None else body).encode(),
            fault.content_type or content_type,
            headers=headers,
        )

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        cache_seconds: int = 0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if cache_seconds:
            self.send_header("Cache-Control", f"private, max-age={cache_seconds}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        """Close the connection without a byte of answer (a reset after the request)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: " + format, *args)


class _BodyTooLarge(Exception):
    pass
