"""The image formats we store, send and serve: one table for their names.

An image's format has three spellings: Pillow's (`JPEG`, what ResultImage.format and
ReferenceImage.format keep), EvoLink's `output_format` value (`jpeg`), and the file
extension and MIME type a download carries (`jpg`, `image/jpeg`). Every place that
turns one into another reads this table.

A core module like catalogue.py: it imports nothing from the playground, so every
layer may use it, the simulator too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    pillow: str  # Pillow's name: Image.format, and what the models store
    output: str  # EvoLink's `output_format` value
    extension: str  # without the dot
    mime_type: str
    label: str  # how the studio's form names it


PNG = ImageFormat("PNG", "png", "png", "image/png", "PNG")
JPEG = ImageFormat("JPEG", "jpeg", "jpg", "image/jpeg", "JPEG")
WEBP = ImageFormat("WEBP", "webp", "webp", "image/webp", "WebP")

FORMATS = (PNG, JPEG, WEBP)
BY_PILLOW = {f.pillow: f for f in FORMATS}
BY_OUTPUT = {f.output: f for f in FORMATS}
PILLOW_NAMES = tuple(f.pillow for f in FORMATS)


def extension(pillow_format: str, default: str) -> str:
    """`jpg` for `JPEG`; `default` for a format not in the table."""
    known = BY_PILLOW.get(pillow_format)
    return known.extension if known else default


def mime_type(pillow_format: str, default: str = "application/octet-stream") -> str:
    """`image/jpeg` for `JPEG`; `default` for a format not in the table."""
    known = BY_PILLOW.get(pillow_format)
    return known.mime_type if known else default
