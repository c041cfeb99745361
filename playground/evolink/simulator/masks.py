"""gpt-image-2's masked edits (`mask_url`, reference of August 2026), as the simulator
plays them.

EvoLink downloads the mask like a reference and checks it against the first image:
a PNG with an alpha channel, exactly that image's width × height; otherwise the task
fails with the documented messages. The simulator's result then shows what a mask
does: the first reference, its masked (transparent) region filled with a flat colour
derived from the prompt, at the requested size. What arrived is recorded on the World
(`masks`, `mask_images`) so tests and the demo can see it.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from dataclasses import dataclass

import httpx
from PIL import Image

from playground import catalogue
from playground.evolink.simulator.images import FORMATS
from playground.evolink.simulator.state import Task, World

# EvoLink's documented messages (reference, August 2026). The codes are INFERRED.
MISSING_ALPHA = "Invalid mask image format - mask image missing alpha channel"
SIZE_MISMATCH = "Invalid mask image format - mask size does not match image size"
NOT_A_PNG = "Invalid mask image format - mask image must be a PNG"


@dataclass(frozen=True)
class MaskFailure:
    code: str
    message: str


def fetch(client: httpx.Client, url: str, what: str) -> bytes | MaskFailure:
    """The bytes at `url` (at most 50 MB, as for references), or why not."""
    try:
        with client.stream("GET", url) as response:
            if not response.is_success:
                return MaskFailure(
                    "image_processing_error", f"The {what} answered HTTP {response.status_code}."
                )
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > catalogue.MAX_REFERENCE_BYTES:
                    return MaskFailure(
                        "image_processing_error", f"The {what} is larger than 50 MB."
                    )
    except httpx.HTTPError as exc:
        return MaskFailure(
            "image_processing_error",
            f"The {what} could not be downloaded ({exc.__class__.__name__}).",
        )
    return bytes(data)


def apply_mask(world: World, task: Task) -> MaskFailure | None:
    """Fetch the first reference and the mask, check the mask, and make the task's
    edited result (`task.edited`); None when all went well."""
    if not task.mask_url or not task.image_urls:
        return None  # documented: ignored without image_urls
    timeout = httpx.Timeout(world.reference_timeout, connect=5.0)
    with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
        mask_data = fetch(client, task.mask_url, "mask image")
        if isinstance(mask_data, MaskFailure):
            return mask_data
        first = fetch(client, task.image_urls[0], "first reference image")
        if isinstance(first, MaskFailure):
            return first
    try:
        with Image.open(io.BytesIO(mask_data), formats=["PNG"]) as opened:
            opened.load()
            mask = opened.copy()
        with Image.open(io.BytesIO(first), formats=catalogue.REFERENCE_FORMATS) as opened:
            opened.load()
            reference = opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return MaskFailure("image_processing_error", NOT_A_PNG)
    has_alpha = "A" in mask.getbands() or "transparency" in mask.info
    with world.lock:
        if task.generation == world.generation:
            world.masks.append(
                {
                    "task_id": task.id,
                    "url": task.mask_url,
                    "width": mask.width,
                    "height": mask.height,
                    "mode": mask.mode,
                    "has_alpha": has_alpha,
                    "bytes": len(mask_data),
                }
            )
            world.mask_images[task.id] = mask_data
    if not has_alpha:
        return MaskFailure("image_processing_error", MISSING_ALPHA)
    if mask.size != reference.size:
        return MaskFailure("image_dimension_mismatch", SIZE_MISMATCH)
    task.edited = edited(task, reference, mask.convert("RGBA").getchannel("A"))
    return None


def edited(task: Task, reference: Image.Image, alpha: Image.Image) -> bytes:
    """The reference with its transparent region (alpha < 255) filled with the
    prompt's colour, at the task's size and in its output format."""
    hue = hashlib.sha256(task.prompt.encode()).digest()[0] / 255
    colour = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.8, 0.95))
    flat = Image.new("RGB", reference.size, colour)
    keep = alpha.point(lambda value: 255 if value >= 255 else 0)
    image = Image.composite(reference, flat, keep)
    if image.size != (task.width, task.height):
        image = image.resize((task.width, task.height))
    buffer = io.BytesIO()
    pillow_format, _ext = FORMATS[task.output_format]
    image.save(buffer, pillow_format)
    return buffer.getvalue()
