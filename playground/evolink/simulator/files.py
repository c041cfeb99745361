"""The simulator's Files API, apart from its routes (routes.py): constants and limits,
the `{success, code, msg, data}` envelope, and the clean-up of uploaded files."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from playground import catalogue, imageformats
from playground.evolink.simulator.state import World

UPLOAD_PATH = "/api/v1/files/upload/stream"
UPLOAD_ROUTE = f"POST {UPLOAD_PATH}"
DEFAULT_FILES_TTL = 72 * 3600.0  # VERIFIED: uploaded files expire after 72 h
# A 50 MB file plus the multipart framing around it.
MAX_UPLOAD_BODY_BYTES = catalogue.MAX_REFERENCE_BYTES + 64 * 1024
# Pillow format -> (MIME type, extension) of what the Files API accepts: all three.
UPLOAD_FORMATS = {f.pillow: (f.mime_type, f.extension) for f in imageformats.FORMATS}
# A refused upload is still read to its end, up to this much (see discard_body).
MAX_DISCARD_BYTES = 4 * MAX_UPLOAD_BODY_BYTES


def envelope_body(success: bool, code: int, msg: str, data: Any) -> dict[str, Any]:
    """The Files API's answer shape, on success and on errors alike."""
    return {"success": success, "code": code, "msg": msg, "data": data}


def unlink(path: str) -> None:
    """Delete an uploaded file; one already gone (a reset, a sweep) is not an error."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sweep_uploads(world: World) -> None:
    """Delete expired uploads' files, so a long-running simulator does not fill the disk."""
    with world.lock:
        expired = [name for name, u in world.uploads.items() if world.upload_expired(u)]
        paths = [world.uploads.pop(name).path for name in expired]
    for path in paths:
        unlink(path)
