"""The simulator's result images: `render_image` draws the prompt on a gradient, in the
output format asked for; with a transparent background the gradient is an ellipse on
fully transparent pixels (a real alpha channel, as EvoLink's PNG and WebP carry)."""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from playground import imageformats

_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


# Pillow's format names and the extension of each output format (the files' URLs end
# with it, as a real file link does).
FORMATS = {f.output: (f.pillow, f.extension) for f in imageformats.FORMATS}
CONTENT_TYPES = {f.output: f.mime_type for f in imageformats.FORMATS}


def render_png(
    prompt: str, model: str, quality: str, width: int, height: int, index: int, count: int
) -> bytes:
    """A PNG at exactly width x height showing the prompt, coloured by its hash."""
    return render_image(prompt, model, quality, width, height, index, count)


@lru_cache(maxsize=16)
def render_image(
    prompt: str,
    model: str,
    quality: str,
    width: int,
    height: int,
    index: int,
    count: int,
    output_format: str = "png",
    transparent: bool = False,
) -> bytes:
    """An image at exactly width x height showing the prompt, coloured by its hash, in
    `output_format` (png, jpeg or webp); `transparent` keeps only an ellipse opaque."""
    digest = hashlib.sha256(prompt.encode()).digest()
    hue = digest[0] / 255
    top = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.90))
    bottom = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.12) % 1, 0.75, 0.35))
    # A vertical gradient composed in C: fast even at 3840x2160.
    mask = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), mask
    )
    margin = max(8, min(width, height) // 20)
    if transparent:
        shape = Image.new("L", (width, height), 0)
        ImageDraw.Draw(shape).ellipse((margin, margin, width - margin, height - margin), fill=255)
        canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        canvas.paste(image, mask=shape)
        image = canvas
    draw = ImageDraw.Draw(image)

    size = max(10, min(width, height) // 16)
    font = _font(size)
    chars_per_line = max(8, int((width - 2 * margin) / (size * 0.55)))
    max_lines = max(1, int((height * 0.7 - margin) / (size * 1.25)))
    lines = textwrap.wrap(" ".join(prompt.split()), chars_per_line) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: chars_per_line - 1] + "…"]
    stroke = max(1, size // 14)
    y = margin
    for line in lines:
        draw.text(
            (margin, y), line, font=font, fill="white", stroke_width=stroke, stroke_fill="black"
        )
        y += int(size * 1.25)

    small = _font(max(9, size // 2))
    footer = f"{model} · {width}x{height} · {quality} · image {index + 1}/{count} · simulator"
    draw.text(
        (margin, height - margin - int(size * 0.6)),
        footer,
        font=small,
        fill="white",
        stroke_width=max(1, stroke // 2),
        stroke_fill="black",
    )
    buffer = io.BytesIO()
    pillow_format, _ext = FORMATS[output_format]
    if pillow_format == "PNG":
        image.save(buffer, "PNG", compress_level=1)
    elif pillow_format == "WEBP":
        image.save(buffer, "WEBP", quality=85, method=0)
    else:  # JPEG has no alpha; the catalogue refuses transparent + jpeg before this.
        image.convert("RGB").save(buffer, "JPEG", quality=88)
    return buffer.getvalue()
