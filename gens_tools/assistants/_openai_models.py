"""OpenAI's models as data: their rows of the model table and the two ways OpenAI prices an image.

* ``openai_tile`` (gpt-4o, gpt-4.1, gpt-5, o-series): ``detail="low"`` costs a flat base; ``"high"`` fits
  the image in 2048×2048, scales its short side down to 768, then costs base + per-tile × 512-px tiles.
* ``openai_patch`` (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32-px patches, capped at 1536 (the image
  is scaled down to fit), times a per-model multiplier.

Figures: provider documentation as collected in the project's reference notes; adjust a model with
``budget``/``overrides`` when OpenAI changes them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from gens_tools.assistants._image_rules import ImageRule, ImageSetting, side_steps
from gens_tools.assistants._limits import MB, ModelLimits

OPENAI_DETAILS = ("low", "high", "auto")
"""The ``detail`` values of an OpenAI image."""

_LOW_DETAIL_SIDE = 512  # a "low" image is seen at 512×512 at most: sending more is waste


class OpenAITileRule(ImageRule):
    """``openai_tile``: a flat base for ``detail="low"``; else base + per-tile × 512-px tiles of the image
    fitted in 2048² with its short side at most 768 (``auto`` and no detail are priced as ``high``)."""

    name: ClassVar[str] = "openai_tile"
    title: ClassVar[str] = "OpenAI 512-px tiles"
    settings: ClassVar[dict[str, tuple[str, ...]]] = {"detail": OPENAI_DETAILS}

    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        if setting.get("detail") == "low":
            return limits.tile_base
        w, h = float(width), float(height)
        if max(w, h) > 2048:
            s = 2048 / max(w, h)
            w, h = w * s, h * s
        if min(w, h) > 768:
            s = 768 / min(w, h)
            w, h = w * s, h * s
        tiles = math.ceil(w / 512 - 1e-9) * math.ceil(h / 512 - 1e-9)
        return limits.tile_base + limits.tile_tokens * tiles

    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        """``high`` at the default side then 512 px, then ``low``; a forced detail keeps to it."""
        detail, max_side = wanted.get("detail"), wanted.max_side
        low = ImageSetting.of(min(max_side or _LOW_DETAIL_SIDE, _LOW_DETAIL_SIDE), detail="low")
        if detail == "low":
            return [low]
        sides = side_steps(limits.default_max_side, max_side, [_LOW_DETAIL_SIDE])
        settings = [ImageSetting.of(side, detail=detail or "high") for side in sides]
        return settings if detail is not None else [*settings, low]


class OpenAIPatchRule(ImageRule):
    """``openai_patch``: 32-px patches, at most ``patch_cap`` of them (the image is scaled down to fit), times
    ``patch_multiplier``. ``detail`` is sent as given but does not change the price."""

    name: ClassVar[str] = "openai_patch"
    title: ClassVar[str] = "OpenAI 32-px patches"
    settings: ClassVar[dict[str, tuple[str, ...]]] = {"detail": OPENAI_DETAILS}

    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        patch, cap = 32, limits.patch_cap
        patches = math.ceil(width / patch) * math.ceil(height / patch)
        if patches > cap:
            shrink = math.sqrt(patch * patch * cap / (width * height))
            w, h = width * shrink, height * shrink
            # Make both sides a whole number of patches (scaling down a little more if needed).
            shrink *= min(math.floor(w / patch) / (w / patch), math.floor(h / patch) / (h / patch))
            w, h = width * shrink, height * shrink
            patches = min(cap, math.ceil(w / patch - 1e-9) * math.ceil(h / patch - 1e-9))
        return math.ceil(patches * limits.patch_multiplier)

    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        """Smaller and smaller sides (the price follows the pixels)."""
        sides = side_steps(limits.default_max_side, wanted.max_side, [512, 384, 256])
        return [ImageSetting.of(side, detail=wanted.get("detail")) for side in sides]


_OPENAI: dict[str, Any] = {"max_images": 500, "max_image_bytes": 20 * MB, "max_total_image_bytes": 50 * MB}
_TILE_128K: dict[str, Any] = {
    **_OPENAI,
    "context_window": 128_000,
    "output_reserve": 4_096,
    "image_rule": "openai_tile",
}
_GPT_41: dict[str, Any] = {**_OPENAI, "context_window": 1_047_576, "output_reserve": 8_192, "default_frames": 64}
_GPT_5: dict[str, Any] = {**_OPENAI, "context_window": 272_000, "output_reserve": 32_768, "default_frames": 64}
_O_SERIES: dict[str, Any] = {**_OPENAI, "context_window": 200_000, "output_reserve": 32_768}

#: OpenAI's model families by name prefix (the longest matching prefix wins).
OPENAI_MODELS: dict[str, dict[str, Any]] = {
    "gpt-4o": _TILE_128K,
    "gpt-4o-mini": {**_TILE_128K, "tile_base": 2_833, "tile_tokens": 5_667, "default_frames": 16},
    "chatgpt-4o": _TILE_128K,
    "gpt-4.1": {**_GPT_41, "image_rule": "openai_tile"},
    "gpt-4.1-mini": {**_GPT_41, "image_rule": "openai_patch", "patch_multiplier": 1.62},
    "gpt-4.1-nano": {**_GPT_41, "image_rule": "openai_patch", "patch_multiplier": 2.46},
    "gpt-4.5": _TILE_128K,
    "gpt-5": {**_GPT_5, "image_rule": "openai_tile", "tile_base": 70, "tile_tokens": 140},
    "gpt-5-mini": {**_GPT_5, "image_rule": "openai_patch", "patch_multiplier": 1.62},
    "gpt-5-nano": {**_GPT_5, "image_rule": "openai_patch", "patch_multiplier": 2.46},
    "o1": {**_O_SERIES, "image_rule": "openai_tile", "tile_base": 75, "tile_tokens": 150},
    "o3": {**_O_SERIES, "image_rule": "openai_tile", "tile_base": 75, "tile_tokens": 150},
    "o4-mini": {**_O_SERIES, "image_rule": "openai_patch", "patch_multiplier": 1.72},
}
