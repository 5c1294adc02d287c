"""Pictures: the one rule for shrinking a frame to a size bound and the one JPEG encoder.

Every JPEG gens-tools writes (the frame cache, requests to a served GenS, images sent to an assistant, tool
results, saved selections) is made here, so every place resizes the same way and encodes the same way.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

#: The mime type of every image gens-tools sends or stores.
JPEG_MIME_TYPE = "image/jpeg"
#: How a JPEG data URL begins.
JPEG_DATA_URL_PREFIX = "data:image/jpeg;base64,"


def fit_within(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size ``(width, height)`` shrunk, aspect ratio kept, so the longer side is at most ``max_side``.

    Never enlarges; ``max_side=None`` keeps the size.
    """
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_jpeg(
    image: Image.Image,
    *,
    quality: int = 85,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> bytes:
    """``image`` as JPEG bytes.

    ``size`` resizes to exactly that ``(width, height)``; otherwise ``max_side`` shrinks the image (never
    enlarges) so its longer side is at most that many pixels. Resizing is bicubic; the image is converted to
    RGB when it is not already.
    """
    target = size if size is not None else fit_within(image.width, image.height, max_side)
    if image.size != target:
        image = image.resize(target, Image.Resampling.BICUBIC)
    if image.mode != "RGB":
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def jpeg_data_url(jpeg: bytes) -> str:
    """JPEG bytes as a ``data:image/jpeg;base64,…`` URL."""
    return JPEG_DATA_URL_PREFIX + base64.b64encode(jpeg).decode("ascii")


def decode_image(data: bytes) -> Image.Image:
    """Encoded image bytes as an RGB PIL image (raises ``OSError``/``ValueError`` for unreadable data)."""
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")
