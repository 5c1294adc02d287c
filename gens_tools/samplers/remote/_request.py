"""The chat request for one window in the GenS layout: a single user message interleaving ``[i]`` labels
with the frames as JPEG data URLs, then the question and the instruction, serialized once."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from gens_tools._imaging import JPEG_DATA_URL_PREFIX, encode_jpeg, jpeg_data_url
from gens_tools.samplers._prompt import GENS_INSTRUCTION, split_prompt


def jpeg_data_urls(images: Sequence[Image.Image], side: int, quality: int) -> list[str]:
    """Each image as a ``data:image/jpeg;base64,…`` URL, shrunk to at most ``side`` px."""
    return [jpeg_data_url(encode_jpeg(im, quality=quality, max_side=side)) for im in images]


def images_in_body(body: bytes) -> list[Image.Image]:
    """The frames of a request body built by :meth:`RequestFormat.body`, decoded back from their JPEGs."""
    images = []
    for item in json.loads(body)["messages"][0]["content"]:
        if item.get("type") == "image_url":
            data = base64.b64decode(item["image_url"]["url"][len(JPEG_DATA_URL_PREFIX) :])
            with Image.open(io.BytesIO(data)) as im:
                images.append(im.convert("RGB"))
    return images


@dataclass(frozen=True, slots=True)
class RequestFormat:
    """What every request of a sampler carries besides its frames and question.

    ``max_tokens=None`` sizes the answer limit to the window (``16 + 4 × frames``, 128 … 1024);
    ``max_tokens_param`` names the field that carries it. ``temperature`` and ``image_detail`` are left out
    when ``None``; ``extra_body`` fields are added last (they override the others).
    """

    model: str
    instruction: str = GENS_INSTRUCTION
    max_tokens: int | None = None
    max_tokens_param: str = "max_tokens"
    temperature: float | None = 0.0
    image_detail: str | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    def max_tokens_for(self, n_frames: int) -> int:
        """The answer length limit for a request of ``n_frames`` frames."""
        if self.max_tokens is not None:
            return self.max_tokens
        return min(1024, max(128, 16 + 4 * n_frames))

    def messages(self, image_urls: Sequence[str], question: str) -> list[dict[str, Any]]:
        """The chat messages: one user message of ``[i]`` labels and images, then the question and the
        instruction (frames first, so a server's prefix cache shares the images across questions)."""
        pieces = split_prompt(len(image_urls), question, instruction=self.instruction)
        content: list[dict[str, Any]] = []
        for piece, url in zip(pieces, image_urls, strict=False):
            content.append({"type": "text", "text": piece})
            image: dict[str, Any] = {"url": url}
            if self.image_detail is not None:
                image["detail"] = self.image_detail
            content.append({"type": "image_url", "image_url": image})
        content.append({"type": "text", "text": pieces[-1]})
        return [{"role": "user", "content": content}]

    def body(self, image_urls: Sequence[str], question: str) -> bytes:
        """The request body, serialized once: it is both what the size guard measures and what is sent."""
        fields: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages(image_urls, question),
            self.max_tokens_param: self.max_tokens_for(len(image_urls)),
        }
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        fields.update(self.extra_body)
        return json.dumps(fields, separators=(",", ":")).encode("ascii")
