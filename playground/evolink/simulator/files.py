"""The simulator's Files API: uploads kept in a temporary folder for `files_ttl` seconds.

The upload route's constants and limits, the `{success, code, msg, data}` envelope,
and `FilesApiMixin`, the part of `Simulator` that answers
`POST /api/v1/files/upload/stream` and `GET /files-api/<name>`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from PIL import Image

from playground import catalogue, imageformats

if TYPE_CHECKING:
    from playground.evolink.simulator.handler import _Handler

UPLOAD_PATH = "/api/v1/files/upload/stream"
UPLOAD_ROUTE = f"POST {UPLOAD_PATH}"
DEFAULT_FILES_TTL = 72 * 3600.0  # VERIFIED: uploaded files expire after 72 h
# A 50 MB file plus the multipart framing around it.
MAX_UPLOAD_BODY_BYTES = catalogue.MAX_REFERENCE_BYTES + 64 * 1024
# Pillow format -> (MIME type, extension) of what the Files API accepts: all three.
UPLOAD_FORMATS = {f.pillow: (f.mime_type, f.extension) for f in imageformats.FORMATS}
# A refused upload is still read to its end, up to this much (see discard_body).
MAX_DISCARD_BYTES = 4 * MAX_UPLOAD_BODY_BYTES


@dataclass
class _Upload:
    path: str  # in the simulator's temporary folder
    mime_type: str
    size: int
    uploaded_at: float  # time.monotonic(); -inf once expired by expire_uploads()


class FilesApiMixin:
    """The Files API part of `Simulator` (its state is set up in server.py)."""

    def handle_upload(self, request: _Handler) -> None:
        """POST /api/v1/files/upload/stream: store one image, answer its public URL."""
        key = request._bearer()
        if key is None or not self._accepts(key):
            request.discard_body()
            request.send_envelope(401, 401, "Invalid or missing API key.")
            return
        with self._lock:
            fault = self._upload_faults.popleft() if self._upload_faults else None
        if fault is not None:
            request.discard_body()
            if fault.kind == "drop":
                request.drop()
            else:
                request.send_fault(fault)
            return
        self._sweep_uploads()

        received = request.receive_file(self._upload_dir.name)
        if received is None:
            return  # the handler has answered (400 / 413)
        path, filename, size = received
        try:
            with Image.open(path, formats=catalogue.REFERENCE_FORMATS) as image:
                image.load()
                image_format = str(image.format)
        except (OSError, ValueError, Image.DecompressionBombError):
            _unlink(path)
            request.send_envelope(400, 400, "unsupported file")
            return
        mime_type, extension = UPLOAD_FORMATS[image_format]
        name = f"{secrets.token_urlsafe(18)}.{extension}"
        now = datetime.now(UTC)
        with self._lock:
            self._uploads[name] = _Upload(path, mime_type, size, time.monotonic())
            ttl = self.files_ttl
        data = {
            "file_id": f"file_{secrets.token_hex(8)}",
            "file_name": filename or name,
            "original_name": filename,
            "file_size": size,  # EvoLink's docs name it so
            "size": size,
            "mime_type": mime_type,
            "file_url": f"{request.origin()}/files-api/{name}",
            "upload_time": now.isoformat(timespec="seconds"),
            "expires_at": (now + timedelta(seconds=ttl)).isoformat(timespec="seconds"),
        }
        request.send_json(200, _envelope_body(True, 200, "ok", data))

    def handle_uploaded_file(self, request: _Handler, name: str) -> None:
        """GET /files-api/<name>: the uploaded bytes, no auth (EvoLink fetches them)."""
        with self._lock:
            upload = self._uploads.get(name)
            if upload is not None and self._upload_expired(upload):
                del self._uploads[name]
                _unlink(upload.path)
                upload = None
            if upload is not None:
                remaining = self.files_ttl - (time.monotonic() - upload.uploaded_at)
        if upload is not None:
            try:
                # Opened outside the lock; a file deleted meanwhile (reset) reads 404,
                # one deleted while being sent is still sent whole (POSIX unlink).
                with open(upload.path, "rb") as handle:
                    request.send_file(
                        handle, upload.size, upload.mime_type, cache_seconds=int(remaining)
                    )
                return
            except FileNotFoundError:
                pass
        request.send_bytes(404, b"Not Found", "text/plain; charset=utf-8")

    def _upload_expired(self, upload: _Upload) -> bool:
        return time.monotonic() - upload.uploaded_at >= self.files_ttl

    def _sweep_uploads(self) -> None:
        """Delete expired uploads' files, so a long-running simulator does not fill the disk."""
        with self._lock:
            expired = [name for name, u in self._uploads.items() if self._upload_expired(u)]
            paths = [self._uploads.pop(name).path for name in expired]
        for path in paths:
            _unlink(path)


def _envelope_body(success: bool, code: int, msg: str, data: Any) -> dict[str, Any]:
    """The Files API's answer shape, on success and on errors alike."""
    return {"success": success, "code": code, "msg": msg, "data": data}


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
