"""The simulator's HTTP plumbing: the threaded server and the request handler.

`RequestHandler` reads each request's body and hands the request to its server's
`app` (routes.py decides what each URL answers); it has the helpers the routes read
requests and answer with (`read_json`, `receive_file`, `send_json`, `send_fault`,
`drop`, ...). It knows the routes only through that one callable, so this module
does not import them.
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
from collections.abc import Callable, Iterator, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any
from urllib.parse import urlsplit

from playground import catalogue
from playground.evolink.simulator.faults import FAULT_BODIES
from playground.evolink.simulator.files import (
    MAX_DISCARD_BYTES,
    MAX_UPLOAD_BODY_BYTES,
    UPLOAD_PATH,
    envelope_body,
    unlink,
)
from playground.evolink.simulator.multipart import (
    FileTooLarge,
    LimitedFile,
    MultipartError,
    Sink,
    read_multipart,
)
from playground.evolink.simulator.state import HttpFault, World

# The package's name ("playground.evolink.simulator"), as before the split into modules.
logger = logging.getLogger(__package__)

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections upstream
    server_version = "EvoLinkSimulator/1.0"
    timeout = 30  # an idle keep-alive connection frees its thread after this
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waited
    # for the client's delayed ACK, ~40 ms on every keep-alive request (a stall no real
    # server has, which made each read of a task cost 40 ms instead of 1).
    disable_nagle_algorithm = True
    server: Server
    _body: bytes = b""

    # --- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            # Read the whole body before any answer: on a keep-alive connection an
            # unread body would be parsed as the next request. Uploads (up to 50 MB)
            # are the exception: their route streams them to disk (receive_file).
            is_upload = method == "POST" and path == UPLOAD_PATH
            self._body = b"" if is_upload else self._read_body()
            self.server.app(self, method, path)
        except BodyTooLarge:
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

    # --- helpers the routes read requests and answer with ------------------------------

    def bearer(self) -> str | None:
        """The API key sent as `Authorization: Bearer <key>`, if any."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def origin(self) -> str:
        """The origin the client used, so result URLs work behind any host name."""
        world = self.server.world
        host = self.headers.get("Host")
        if (
            world.public_url != world.base_url
            or not host
            or not re.fullmatch(r"[\w.\-:\[\]]+", host)
        ):
            return world.public_url
        return f"http://{host}"

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def body_chunks(self, limit: int) -> Iterator[bytes]:
        """The body chunk by chunk (Content-Length or chunked); BodyTooLarge past `limit`."""
        if self._chunked():
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise MultipartError("bad chunked encoding") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                total += size
                if total > limit:
                    raise BodyTooLarge
                yield from self._read_exactly(size)
                self.rfile.readline(1024)  # the CRLF after each chunk
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise BodyTooLarge
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
        except (BodyTooLarge, MultipartError):
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
        files: list[tuple[LimitedFile, str]] = []

        def sink_for(headers: Message) -> Sink | None:
            if headers.get_param("name", header="content-disposition") != "file":
                return None  # other fields (upload_path, file_name) are not simulated
            if files:
                raise MultipartError("only one file per request")
            sink = LimitedFile(directory, catalogue.MAX_REFERENCE_BYTES)
            files.append((sink, os.path.basename(headers.get_filename() or "")))
            return sink

        problem: tuple[int, str] | None = None
        chunks = self.body_chunks(MAX_UPLOAD_BODY_BYTES)
        too_large = (413, "file too large (at most 50 MB)")
        complete = False
        try:
            read_multipart(chunks, boundary.encode(), sink_for)
            complete = True
        except BodyTooLarge:
            if self._chunked():
                self.close_connection = True  # found out mid-stream: the rest stays unread
            else:
                self.discard_body()  # declared too large: nothing was read yet
            problem = too_large
        except FileTooLarge:
            self.discard_body(chunks)
            problem = too_large
        except MultipartError as exc:
            self.discard_body(chunks)
            self.close_connection = True  # the framing is in doubt
            problem = (400, str(exc))
        finally:
            # Also when the client went away mid-body (the exception goes on up).
            for sink, _name in files:
                sink.file.close()
                if not complete:
                    unlink(sink.file.name)
        if problem is None and not files:
            problem = (400, "no file field in the request")
        if problem is not None:
            self.send_envelope(problem[0], problem[0], problem[1])
            return None
        sink, filename = files[0]
        return sink.file.name, filename, sink.size

    def send_envelope(self, status: int, code: int, msg: str) -> None:
        self.send_json(status, envelope_body(False, code, msg, None))

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        # Every answer carries a request id, as EvoLink's do (its support asks for it).
        # Here, where every answer starts, so that no route can forget it.
        request_id = f"req_{secrets.token_hex(12)}"
        self.server.world.last_request_id = request_id
        if self.server.world.drift != "no-request-id":
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
        if self.server.world.drift == "integer-error-code":
            code = status  # as some of EvoLink's endpoints once did
        error: dict[str, Any] = {"code": code, "message": message, "type": type_}
        if param:
            error["param"] = param
        self.send_json(status, {"error": error})

    def send_fault(self, fault: HttpFault) -> None:
        content_type, body = FAULT_BODIES.get(
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


class BodyTooLarge(Exception):
    """A request body past its route's limit."""


# What the server hands each request to, with its method and path (routes.dispatch).
App = Callable[[RequestHandler, str, str], None]


class Server(ThreadingHTTPServer):
    """The threaded HTTP server; each request goes to `app`, which reads `world`."""

    daemon_threads = True
    # socketserver's default backlog is 5: under a burst of connections the kernel
    # dropped some after the client had sent its request, which then read as a reset:
    # a "submission uncertain" no real server would cause.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], world: World, app: App) -> None:
        self.world = world
        self.app = app
        super().__init__(address, RequestHandler)
