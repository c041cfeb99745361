"""Streaming multipart/form-data parsing for the simulator's Files API uploads.

`read_multipart` reads a body part by part in bounded memory; `LimitedFile` is the
sink an upload's `file` field is written to, refusing to grow past a limit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Protocol


class MultipartError(Exception):
    """A malformed multipart body (or chunked framing around it)."""


class Sink(Protocol):
    """Where a part's content is written."""

    def write(self, data: bytes | bytearray, /) -> int: ...


def read_multipart(
    chunks: Iterable[bytes], boundary: bytes, sink_for: Callable[[Message], Sink | None]
) -> None:
    """Stream a multipart/form-data body part by part (RFC 7578), in bounded memory.

    `sink_for(headers)` is called at each part's start and returns where its content
    goes, or None to discard it. Everything after the closing delimiter is read and
    dropped, so the whole body is consumed. Raises MultipartError on a malformed body.
    """
    source = iter(chunks)
    buffer = bytearray()

    def more() -> bool:
        chunk = next(source, None)
        if chunk is None:
            return False
        buffer.extend(chunk)
        return True

    delimiter = b"--" + boundary
    # The preamble (usually empty) ends at the first delimiter.
    while (start := buffer.find(delimiter)) < 0:
        del buffer[: max(0, len(buffer) - len(delimiter))]
        if not more():
            raise MultipartError("no multipart boundary in the body")
    del buffer[: start + len(delimiter)]
    # Later delimiters start on a new line; a part's content may contain the bare
    # boundary text, but not CRLF + "--" + boundary.
    separator = b"\r\n" + delimiter
    while True:
        while len(buffer) < 2 and more():
            pass
        if buffer.startswith(b"--"):
            for _ in source:  # the epilogue
                pass
            return
        while (end_of_line := buffer.find(b"\r\n")) < 0:
            if len(buffer) > 1024 or not more():
                raise MultipartError("bad multipart delimiter line")
        del buffer[: end_of_line + 2]
        if buffer.startswith(b"\r\n"):
            header_end = 2  # a part without headers
        else:
            while (header_end := buffer.find(b"\r\n\r\n")) < 0:
                if len(buffer) > 16 * 1024 or not more():
                    raise MultipartError("bad multipart part headers")
            header_end += 4
        headers = BytesHeaderParser().parsebytes(bytes(buffer[:header_end]))
        del buffer[:header_end]
        sink = sink_for(headers)
        while (end := buffer.find(separator)) < 0:
            # Keep a tail that could be the start of a separator split across chunks.
            flush = len(buffer) - (len(separator) - 1)
            if flush > 0:
                if sink is not None:
                    sink.write(buffer[:flush])
                del buffer[:flush]
            if not more():
                raise MultipartError("the multipart body ends inside a part")
        if sink is not None:
            sink.write(buffer[:end])
        del buffer[: end + len(separator)]


class FileTooLarge(Exception):
    """A file part grew past its `LimitedFile`'s limit."""


class LimitedFile:
    """A temporary file that refuses to grow past `limit` bytes."""

    def __init__(self, directory: str, limit: int) -> None:
        self.file = tempfile.NamedTemporaryFile(dir=directory, delete=False)  # noqa: SIM115
        self.limit = limit
        self.size = 0

    def write(self, data: bytes | bytearray) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise FileTooLarge
        return self.file.write(data)
