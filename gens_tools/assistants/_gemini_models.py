"""Gemini's models as data: their rows of the model table and the two ways Gemini prices an image.

* ``gemini_tile`` (Gemini 1.5/2.x): 258 tokens when both sides are ≤ 384 px, else 258 per 768×768 tile.
* ``gemini_level`` (Gemini 3 and later): a flat cost per ``media_resolution`` level.

Figures: provider documentation as collected in the project's reference notes; adjust a model with
``budget``/``overrides`` when Google changes them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from gens_tools._checks import optional_choice
from gens_tools.assistants._image_rules import ImageRule, ImageSetting, side_steps
from gens_tools.assistants._limits import MB, ModelLimits
from gens_tools.errors import InvalidArgumentError

GEMINI_LEVELS = ("low", "medium", "high", "ultra_high")
"""The ``media_resolution`` levels of Gemini 3-class models."""

_TILE_TOKENS = 258
_SMALL_SIDE = 384
_TILE_SIDE = 768


class GeminiTileRule(ImageRule):
    """``gemini_tile``: 258 tokens for an image with both sides ≤ 384 px, else 258 per 768×768 tile."""

    name: ClassVar[str] = "gemini_tile"
    title: ClassVar[str] = "Gemini 768-px tiles"

    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        if width <= _SMALL_SIDE and height <= _SMALL_SIDE:
            return _TILE_TOKENS
        return _TILE_TOKENS * math.ceil(width / _TILE_SIDE) * math.ceil(height / _TILE_SIDE)

    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        """The default side, then 384 px (one tile)."""
        return [ImageSetting(side) for side in side_steps(limits.default_max_side, wanted.max_side, [_SMALL_SIDE])]


class GeminiLevelRule(ImageRule):
    """``gemini_level``: the cost of the ``media_resolution`` level (``level_tokens``), whatever the size."""

    name: ClassVar[str] = "gemini_level"
    title: ClassVar[str] = "Gemini 3 media_resolution levels"
    settings: ClassVar[dict[str, tuple[str, ...]]] = {"media_resolution": GEMINI_LEVELS}

    def choices(self, limits: ModelLimits, name: str) -> tuple[str, ...]:
        return tuple(limits.level_tokens)

    def check_limits(self, limits: ModelLimits) -> None:
        if not limits.level_tokens:
            raise InvalidArgumentError("image_rule 'gemini_level' needs level_tokens")
        for name in ("default_level", "start_level"):
            optional_choice(f"budget.{name}", getattr(limits, name), tuple(limits.level_tokens))

    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        levels = limits.level_tokens
        key = setting.get("media_resolution") or limits.default_level or max(levels, key=lambda k: levels[k])
        try:
            return levels[key]
        except KeyError:
            raise InvalidArgumentError(f"media_resolution {key!r} is not one of {', '.join(levels)}") from None

    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        """The forced level alone; else every level from ``start_level`` down (always sent explicitly)."""
        side = wanted.max_side or limits.default_max_side
        level = wanted.get("media_resolution")
        if level is not None:
            return [ImageSetting.of(side, media_resolution=level)]
        levels = limits.level_tokens
        ordered = sorted(levels, key=lambda k: levels[k], reverse=True)
        start = limits.start_level or limits.default_level or ordered[0]
        return [ImageSetting.of(side, media_resolution=k) for k in ordered if levels[k] <= levels[start]]


_GEMINI: dict[str, Any] = {
    "max_images": 3000,
    "max_request_bytes": 20 * MB,
    "default_frames": 64,
    "context_window": 1_048_576,
}
_GEMINI3_LEVELS = {"low": 280, "medium": 560, "high": 1120, "ultra_high": 2240}

#: Gemini's model families by name prefix (the longest matching prefix wins).
GEMINI_MODELS: dict[str, dict[str, Any]] = {
    "gemini-1.5": {**_GEMINI, "output_reserve": 8_192, "image_rule": "gemini_tile"},
    "gemini-2": {**_GEMINI, "output_reserve": 32_768, "image_rule": "gemini_tile"},
    # Gemini 3 and anything newer or unlisted ("gemini-flash-latest"…): priced per media_resolution level.
    # Images default to "high" (1120 tokens), but these are video frames (≤ 448 px unless asked otherwise),
    # which Gemini 3 itself reads at 70 tokens a frame in native video: the planner starts at "low" (280,
    # about what Gemini 2.x charges for a small image). Ask for more with media_resolution="high".
    "gemini": {
        **_GEMINI,
        "output_reserve": 32_768,
        "image_rule": "gemini_level",
        "level_tokens": _GEMINI3_LEVELS,
        "default_level": "high",
        "start_level": "low",
    },
}
