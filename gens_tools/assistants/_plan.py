"""What the planner decided: the frames to send (:class:`PlannedImage`, encoded and labelled) and the figures
of the whole request (:class:`FramePlan`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from gens_tools._imaging import JPEG_MIME_TYPE, jpeg_data_url
from gens_tools.assistants._image_rules import setting_names
from gens_tools.assistants._limits import ModelLimits
from gens_tools.frames import Frame


def _settings_by_name(settings: dict[str, str]) -> dict[str, str | None]:
    """Every registered image setting by name (``None`` when not used), for JSON reports."""
    return {name: settings.get(name) for name in [*setting_names(), *settings]}


@dataclass(slots=True)
class PlannedImage:
    """One frame as it will be sent: its label, encoded JPEG, size, image settings and estimated tokens."""

    frame: Frame
    label: str
    width: int
    height: int
    tokens: int
    jpeg: bytes = field(repr=False)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def timestamp(self) -> float:
        """The frame's time in seconds."""
        return self.frame.timestamp

    @property
    def detail(self) -> str | None:
        """The OpenAI ``detail`` it is sent with (``None`` for models that take none)."""
        return self.settings.get("detail")

    @property
    def media_resolution(self) -> str | None:
        """The Gemini 3 ``media_resolution`` level it is sent at (``None`` for models that take none)."""
        return self.settings.get("media_resolution")

    @property
    def mime_type(self) -> str:
        """Always ``image/jpeg``."""
        return JPEG_MIME_TYPE

    def to_base64(self) -> str:
        """The JPEG as base64 text."""
        return base64.b64encode(self.jpeg).decode("ascii")

    def to_data_url(self) -> str:
        """The JPEG as a ``data:image/jpeg;base64,…`` URL."""
        return jpeg_data_url(self.jpeg)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the image bytes)."""
        return {
            "timestamp": round(self.frame.timestamp, 3),
            "label": self.label,
            "score": self.frame.score,
            "width": self.width,
            "height": self.height,
            **_settings_by_name(self.settings),
            "tokens": self.tokens,
            "bytes": len(self.jpeg),
        }


@dataclass(slots=True)
class FramePlan:
    """What :func:`~gens_tools.assistants.plan_frames` decided.

    ``images`` are in time order. ``dropped`` are the frames left out (lowest scores first to go).
    Token figures are estimates: ``image_tokens`` + ``text_tokens`` = ``input_tokens``; ``budget`` is the
    input budget they had to fit in. ``request_bytes`` counts images as base64 plus the text. ``settings``
    are the image rule's settings every image is sent with (``{"detail": "high"}``…).
    """

    model: str
    limits: ModelLimits
    images: list[PlannedImage]
    dropped: list[Frame]
    image_tokens: int
    text_tokens: int
    budget: int
    image_bytes: int
    request_bytes: int
    max_side: int | None
    jpeg_quality: int
    settings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """Estimated input tokens of the whole request."""
        return self.image_tokens + self.text_tokens

    @property
    def frames(self) -> list[Frame]:
        """The frames sent, in time order."""
        return [im.frame for im in self.images]

    @property
    def detail(self) -> str | None:
        """The OpenAI ``detail`` of the images (``None`` for models that take none)."""
        return self.settings.get("detail")

    @property
    def media_resolution(self) -> str | None:
        """The Gemini 3 ``media_resolution`` level of the images (``None`` for models that take none)."""
        return self.settings.get("media_resolution")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the estimate reported next to the provider's actual usage)."""
        return {
            "model": self.model,
            "family": self.limits.family,
            "n_frames": len(self.images),
            "n_dropped": len(self.dropped),
            "input_tokens": self.input_tokens,
            "image_tokens": self.image_tokens,
            "text_tokens": self.text_tokens,
            "budget": self.budget,
            "context_window": self.limits.context_window,
            "output_reserve": self.limits.output_reserve,
            "image_bytes": self.image_bytes,
            "request_bytes": self.request_bytes,
            "max_side": self.max_side,
            **_settings_by_name(self.settings),
            "image_settings": dict(self.settings),
            "jpeg_quality": self.jpeg_quality,
            "notes": list(self.notes),
        }
