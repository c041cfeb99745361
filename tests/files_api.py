"""Helpers for the Files API tests (test_files_api.py, test_files_api_simulator.py)."""

from __future__ import annotations

import io
from typing import BinaryIO

from PIL import Image

from playground.evolink.client import Client
from playground.evolink.files import UploadedFile
from playground.evolink.simulator import Simulator

UPLOAD = "POST /api/v1/files/upload/stream"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return buffer.getvalue()


class OneWayStream:
    """A file that can be read once and not rewound (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)

    def seekable(self) -> bool:
        return False


def upload(
    client: Client,
    simulator: Simulator,
    data: bytes | BinaryIO | OneWayStream,
    filename: str = "ref.png",
    content_type: str = "image/png",
) -> UploadedFile:
    file = io.BytesIO(data) if isinstance(data, bytes) else data
    return client.upload_file(
        file,  # type: ignore[arg-type]  # OneWayStream is file-like enough for httpx
        filename=filename,
        content_type=content_type,
        files_base_url=simulator.base_url,
    )
