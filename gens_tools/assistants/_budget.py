"""How many frames, at what size and detail, fit into one request to a given model.

The limits of each model family are data (:data:`MODEL_TABLE`): context window, tokens kept free for the
answer, the rule that prices an image in tokens, and the most images and bytes a request may carry. The
image rules are the providers' published ones:

* ``openai_tile`` (gpt-4o, gpt-4.1, gpt-5, o-series): ``detail="low"`` costs a flat base; ``"high"`` fits
  the image in 2048×2048, scales its short side down to 768, then costs base + per-tile × 512-px tiles.
* ``openai_patch`` (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32-px patches, capped at 1536 (the image
  is scaled down to fit), times a per-model multiplier.
* ``gemini_tile`` (Gemini 1.5/2.x): 258 tokens when both sides are ≤ 384 px, else 258 per 768×768 tile.
* ``gemini_level`` (Gemini 3 and later): a flat cost per ``media_resolution`` level.

These are estimates; the providers' ``usage`` figures are the truth, and :class:`~gens_tools.assistants.
base.Answer` reports both. Unknown models get :data:`UNKNOWN_MODEL` (small context, few images, costly
images) unless overridden.

:func:`plan_frames` keeps the highest-scored frames first (ties spread evenly over time), lowers the image
size/detail before dropping frames, encodes the chosen frames as JPEG and checks the byte limits, and
returns them in time order with the estimate.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

from gens_tools._imaging import encode_jpeg, fit_within
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection, format_timestamp

ImageRule = Literal["openai_tile", "openai_patch", "gemini_tile", "gemini_level"]

MB = 1_000_000
"""Byte limits are taken in decimal megabytes (the smaller reading of the providers' "MB")."""

OPENAI_DETAILS = ("low", "high", "auto")
GEMINI_LEVELS = ("low", "medium", "high", "ultra_high")


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What one request to a model family may hold, and how its images are priced.

    Attributes:
        family: the table entry this came from (``"gpt-4o"``, ``"gemini-2"``, ``"unknown"``…).
        provider: ``"openai"``, ``"gemini"`` or ``"unknown"``.
        context_window: input + output tokens the model accepts.
        output_reserve: tokens kept free for the answer (and thinking).
        image_rule: how an image is priced (see the module docs).
        max_images: most images per request.
        max_image_bytes: largest single image (encoded bytes), or ``None``.
        max_total_image_bytes: most image bytes per request (OpenAI: 50 MB), or ``None``.
        max_request_bytes: largest request body, base64 included (Gemini inline data: < 20 MB), or ``None``.
        tile_base, tile_tokens: ``openai_tile`` prices (``low`` costs ``tile_base``).
        patch_multiplier, patch_cap: ``openai_patch`` prices.
        level_tokens: ``gemini_level`` price per ``media_resolution`` level; ``default_level`` is what the
            model uses when none is sent; ``start_level`` is the best level the planner tries (it always
            sends the level it picks).
        default_frames: frames to ask the sampler for when the caller gives no ``k``.
        default_max_side: longest image side sent at the best setting the planner tries.
        chars_per_token: conservative characters-per-token for text estimates.
    """

    family: str
    provider: str
    context_window: int
    output_reserve: int
    image_rule: ImageRule
    max_images: int
    max_image_bytes: int | None = None
    max_total_image_bytes: int | None = None
    max_request_bytes: int | None = None
    tile_base: int = 85
    tile_tokens: int = 170
    patch_multiplier: float = 1.0
    patch_cap: int = 1536
    level_tokens: Mapping[str, int] = field(default_factory=dict)
    default_level: str | None = None
    start_level: str | None = None
    default_frames: int = 32
    default_max_side: int = 768
    chars_per_token: float = 3.0

    @property
    def input_budget(self) -> int:
        """Tokens available for the request itself."""
        return max(0, self.context_window - self.output_reserve)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = dataclasses.asdict(self)
        data["level_tokens"] = dict(self.level_tokens)
        return data


_OPENAI: dict[str, Any] = {
    "provider": "openai",
    "max_images": 500,
    "max_image_bytes": 20 * MB,
    "max_total_image_bytes": 50 * MB,
}
_GEMINI: dict[str, Any] = {
    "provider": "gemini",
    "max_images": 3000,
    "max_request_bytes": 20 * MB,
    "default_frames": 64,
}
_GEMINI3_LEVELS = {"low": 280, "medium": 560, "high": 1120, "ultra_high": 2240}

#: Model families by name prefix (the longest matching prefix wins). Figures: provider documentation as
#: collected in the project's reference notes; adjust with ``overrides`` when a provider changes them.
MODEL_TABLE: dict[str, dict[str, Any]] = {
    "gpt-4o": {**_OPENAI, "context_window": 128_000, "output_reserve": 4_096, "image_rule": "openai_tile"},
    "gpt-4o-mini": {
        **_OPENAI, "context_window": 128_000, "output_reserve": 4_096, "image_rule": "openai_tile",
        "tile_base": 2_833, "tile_tokens": 5_667, "default_frames": 16,
    },
    "chatgpt-4o": {**_OPENAI, "context_window": 128_000, "output_reserve": 4_096, "image_rule": "openai_tile"},
    "gpt-4.1": {
        **_OPENAI, "context_window": 1_047_576, "output_reserve": 8_192, "image_rule": "openai_tile",
        "default_frames": 64,
    },
    "gpt-4.1-mini": {
        **_OPENAI, "context_window": 1_047_576, "output_reserve": 8_192, "image_rule": "openai_patch",
        "patch_multiplier": 1.62, "default_frames": 64,
    },
    "gpt-4.1-nano": {
        **_OPENAI, "context_window": 1_047_576, "output_reserve": 8_192, "image_rule": "openai_patch",
        "patch_multiplier": 2.46, "default_frames": 64,
    },
    "gpt-4.5": {**_OPENAI, "context_window": 128_000, "output_reserve": 4_096, "image_rule": "openai_tile"},
    "gpt-5": {
        **_OPENAI, "context_window": 272_000, "output_reserve": 32_768, "image_rule": "openai_tile",
        "tile_base": 70, "tile_tokens": 140, "default_frames": 64,
    },
    "gpt-5-mini": {
        **_OPENAI, "context_window": 272_000, "output_reserve": 32_768, "image_rule": "openai_patch",
        "patch_multiplier": 1.62, "default_frames": 64,
    },
    "gpt-5-nano": {
        **_OPENAI, "context_window": 272_000, "output_reserve": 32_768, "image_rule": "openai_patch",
        "patch_multiplier": 2.46, "default_frames": 64,
    },
    "o1": {
        **_OPENAI, "context_window": 200_000, "output_reserve": 32_768, "image_rule": "openai_tile",
        "tile_base": 75, "tile_tokens": 150,
    },
    "o3": {
        **_OPENAI, "context_window": 200_000, "output_reserve": 32_768, "image_rule": "openai_tile",
        "tile_base": 75, "tile_tokens": 150,
    },
    "o4-mini": {
        **_OPENAI, "context_window": 200_000, "output_reserve": 32_768, "image_rule": "openai_patch",
        "patch_multiplier": 1.72,
    },
    "gemini-1.5": {
        **_GEMINI, "context_window": 1_048_576, "output_reserve": 8_192, "image_rule": "gemini_tile",
    },
    "gemini-2": {
        **_GEMINI, "context_window": 1_048_576, "output_reserve": 32_768, "image_rule": "gemini_tile",
    },
    # Gemini 3 and anything newer or unlisted ("gemini-flash-latest"…): priced per media_resolution level.
    # Images default to "high" (1120 tokens), but these are video frames (≤ 448 px unless asked otherwise),
    # which Gemini 3 itself reads at 70 tokens a frame in native video: the planner starts at "low" (280,
    # about what Gemini 2.x charges for a small image). Ask for more with media_resolution="high".
    "gemini": {
        **_GEMINI, "context_window": 1_048_576, "output_reserve": 32_768, "image_rule": "gemini_level",
        "level_tokens": _GEMINI3_LEVELS, "default_level": "high", "start_level": "low",
    },
}

#: The conservative default for models not in the table (e.g. an OpenAI-compatible server): 32 K context,
#: 50 images of at most 20 MB in all, each priced like a gpt-4o ``high`` image.
UNKNOWN_MODEL = ModelLimits(
    family="unknown",
    provider="unknown",
    context_window=32_000,
    output_reserve=4_096,
    image_rule="openai_tile",
    max_images=50,
    max_image_bytes=20 * MB,
    max_total_image_bytes=20 * MB,
    default_frames=16,
)


def _normalise_model(model: str) -> str:
    name = model.strip().lower()
    for prefix in ("models/", "openai/", "google/", "gemini:", "openai:"):
        name = name.removeprefix(prefix)
    return name


def resolve_limits(
    model: str, overrides: Mapping[str, Any] | None = None, *, limits: ModelLimits | None = None
) -> ModelLimits:
    """The limits for ``model`` (longest table prefix, else :data:`UNKNOWN_MODEL`), with ``overrides``
    (any :class:`ModelLimits` field by name) applied on top. ``limits`` replaces the table lookup."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidArgumentError("model must be a non-empty model name such as 'gpt-4o'")
    base = limits
    if base is None:
        name = _normalise_model(model)
        matches = [p for p in MODEL_TABLE if name.startswith(p)]
        if matches:
            family = max(matches, key=len)
            base = ModelLimits(family=family, **MODEL_TABLE[family])
        else:
            base = UNKNOWN_MODEL
    if overrides:
        names = {f.name for f in dataclasses.fields(ModelLimits)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InvalidArgumentError(
                f"unknown budget override(s) {unknown}; valid: {', '.join(sorted(names))}"
            )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "context_window" in clean and "output_reserve" not in clean and isinstance(clean["context_window"], int):
            # A smaller context keeps a proportionate answer reserve unless one is given.
            clean["output_reserve"] = min(base.output_reserve, clean["context_window"] // 4)
        base = dataclasses.replace(base, **clean)
    _check_limits(base)
    return base


def _check_limits(limits: ModelLimits) -> None:
    for name in ("context_window", "max_images"):
        value = getattr(limits, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidArgumentError(f"budget {name} must be a positive integer, got {value!r}")
    if not isinstance(limits.output_reserve, int) or not 0 <= limits.output_reserve < limits.context_window:
        raise InvalidArgumentError(
            f"budget output_reserve must be >= 0 and below the context window ({limits.context_window}), "
            f"got {limits.output_reserve!r}"
        )
    for name in ("max_image_bytes", "max_total_image_bytes", "max_request_bytes"):
        value = getattr(limits, name)
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise InvalidArgumentError(f"budget {name} must be a positive integer or None, got {value!r}")
    if limits.image_rule not in ("openai_tile", "openai_patch", "gemini_tile", "gemini_level"):
        raise InvalidArgumentError(f"unknown image_rule {limits.image_rule!r}")
    if limits.image_rule == "gemini_level":
        if not limits.level_tokens:
            raise InvalidArgumentError("image_rule 'gemini_level' needs level_tokens")
        for name in ("default_level", "start_level"):
            value = getattr(limits, name)
            if value is not None and value not in limits.level_tokens:
                raise InvalidArgumentError(
                    f"budget {name} must be one of {', '.join(limits.level_tokens)}, got {value!r}"
                )


# --- image token rules --------------------------------------------------------------------------------------


def _openai_tile_tokens(limits: ModelLimits, width: int, height: int, detail: str | None) -> int:
    if detail == "low":
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


def _openai_patch_tokens(limits: ModelLimits, width: int, height: int) -> int:
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


def _gemini_tile_tokens(width: int, height: int) -> int:
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


def _image_tokens(limits: ModelLimits, width: int, height: int, detail: str | None, level: str | None) -> int:
    if width <= 0 or height <= 0:
        raise InvalidArgumentError(f"image size must be positive, got {width}×{height}")
    rule = limits.image_rule
    if rule == "openai_tile":
        return _openai_tile_tokens(limits, width, height, detail)
    if rule == "openai_patch":
        return _openai_patch_tokens(limits, width, height)
    if rule == "gemini_tile":
        return _gemini_tile_tokens(width, height)
    key = level or limits.default_level or max(limits.level_tokens, key=lambda k: limits.level_tokens[k])
    try:
        return limits.level_tokens[key]
    except KeyError:
        raise InvalidArgumentError(
            f"media_resolution {key!r} is not one of {', '.join(limits.level_tokens)}"
        ) from None


def estimate_image_tokens(
    model: str,
    width: int,
    height: int,
    detail: str | None = None,
    *,
    media_resolution: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> int:
    """Tokens one ``width``×``height`` image costs ``model``.

    ``detail`` (``low``/``high``/``auto``) applies to OpenAI tile-priced models (``auto`` and ``None`` are
    priced as ``high``, the upper bound); ``media_resolution`` (``low``/``medium``/``high``/``ultra_high``)
    to Gemini 3-class models. Example: gpt-4o, 1280×720, high → 1105; low → 85.
    """
    limits = resolve_limits(model, overrides)
    if detail is not None and detail not in OPENAI_DETAILS:
        raise InvalidArgumentError(f"detail must be one of {', '.join(OPENAI_DETAILS)}, got {detail!r}")
    return _image_tokens(limits, int(width), int(height), detail, media_resolution)


def estimate_text_tokens(text: str, limits: ModelLimits) -> int:
    """A conservative token count for ``text`` (no tokenizer needed)."""
    return math.ceil(len(text) / limits.chars_per_token) if text else 0


# --- the plan -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedImage:
    """One frame as it will be sent: its label, encoded JPEG, size, detail/level and estimated tokens."""

    frame: Frame
    label: str
    width: int
    height: int
    tokens: int
    jpeg: bytes = field(repr=False)
    detail: str | None = None
    media_resolution: str | None = None

    @property
    def timestamp(self) -> float:
        """The frame's time in seconds."""
        return self.frame.timestamp

    @property
    def mime_type(self) -> str:
        """Always ``image/jpeg``."""
        return "image/jpeg"

    def to_base64(self) -> str:
        """The JPEG as base64 text."""
        return base64.b64encode(self.jpeg).decode("ascii")

    def to_data_url(self) -> str:
        """The JPEG as a ``data:image/jpeg;base64,…`` URL."""
        return "data:image/jpeg;base64," + self.to_base64()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the image bytes)."""
        return {
            "timestamp": round(self.frame.timestamp, 3),
            "label": self.label,
            "score": self.frame.score,
            "width": self.width,
            "height": self.height,
            "detail": self.detail,
            "media_resolution": self.media_resolution,
            "tokens": self.tokens,
            "bytes": len(self.jpeg),
        }


@dataclass(slots=True)
class FramePlan:
    """What :func:`plan_frames` decided.

    ``images`` are in time order. ``dropped`` are the frames left out (lowest scores first to go).
    Token figures are estimates: ``image_tokens`` + ``text_tokens`` = ``input_tokens``; ``budget`` is the
    input budget they had to fit in. ``request_bytes`` counts images as base64 plus the text.
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
    detail: str | None
    media_resolution: str | None
    jpeg_quality: int
    notes: list[str] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """Estimated input tokens of the whole request."""
        return self.image_tokens + self.text_tokens

    @property
    def frames(self) -> list[Frame]:
        """The frames sent, in time order."""
        return [im.frame for im in self.images]

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
            "detail": self.detail,
            "media_resolution": self.media_resolution,
            "jpeg_quality": self.jpeg_quality,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class _Setting:
    max_side: int | None
    detail: str | None
    level: str | None

    def describe(self) -> str:
        parts = [f"max side {self.max_side}px" if self.max_side else "full size"]
        if self.detail:
            parts.append(f"detail={self.detail}")
        if self.level:
            parts.append(f"media_resolution={self.level}")
        return ", ".join(parts)


def _sides(default: int, max_side: int | None, extra: Sequence[int]) -> list[int]:
    if max_side is not None:
        return [max_side]
    return sorted({default, *[s for s in extra if s < default]}, reverse=True)


def _ladder(
    limits: ModelLimits, detail: str | None, max_side: int | None, level: str | None
) -> list[_Setting]:
    """Settings from best to cheapest; the planner takes the first at which every wanted frame fits."""
    rule = limits.image_rule
    if rule == "openai_tile":
        if detail == "low":
            return [_Setting(min(max_side or 512, 512), "low", None)]
        settings = [_Setting(s, detail or "high", None) for s in _sides(limits.default_max_side, max_side, [512])]
        if detail is None:
            settings.append(_Setting(min(max_side or 512, 512), "low", None))
        return settings
    if rule == "openai_patch":
        sides = _sides(limits.default_max_side, max_side, [512, 384, 256])
        return [_Setting(s, detail, None) for s in sides]
    if rule == "gemini_tile":
        return [_Setting(s, None, None) for s in _sides(limits.default_max_side, max_side, [384])]
    side = max_side or limits.default_max_side
    if level is not None:
        return [_Setting(side, None, level)]
    tokens = limits.level_tokens
    ordered = sorted(tokens, key=lambda k: tokens[k], reverse=True)
    start = limits.start_level or limits.default_level or ordered[0]
    return [_Setting(side, None, k) for k in ordered if tokens[k] <= tokens[start]]


def _van_der_corput(i: int) -> float:
    x, denom = 0.0, 1.0
    while i:
        denom *= 2
        i, bit = divmod(i, 2)
        x += bit / denom
    return x


def _spread_order(n: int) -> list[int]:
    """Positions 0..n-1 ordered so that every prefix is spread evenly over the range."""
    order: list[int] = []
    taken = [False] * n
    i = 0
    while len(order) < n and i < 4 * n + 4:
        p = min(n - 1, int(_van_der_corput(i) * n))
        if not taken[p]:
            taken[p] = True
            order.append(p)
        i += 1
    order.extend(p for p in range(n) if not taken[p])
    return order


def rank_frames(frames: Sequence[Frame]) -> list[Frame]:
    """Frames by importance: higher score first; equal scores (or no scores) spread evenly over time."""
    by_time = sorted(frames, key=lambda f: f.timestamp)
    groups: dict[float, list[Frame]] = {}
    for f in by_time:
        groups.setdefault(float(f.score or 0.0), []).append(f)
    ranked: list[Frame] = []
    for score in sorted(groups, reverse=True):
        group = groups[score]
        ranked.extend(group[p] for p in _spread_order(len(group)))
    return ranked


def frame_labels(timestamps: Sequence[float]) -> list[str]:
    """``hh:mm:ss`` labels; with tenths when whole seconds would make two labels equal."""
    whole = [format_timestamp(t, decimals=0) for t in timestamps]
    if len(set(whole)) == len(whole):
        return whole
    return [format_timestamp(t, decimals=1) for t in timestamps]


def label_text(label: str) -> str:
    """The text part placed before a frame: ``[00:12:31]``."""
    return f"[{label}]"


def _label_tokens(label: str) -> int:
    # Digit-and-colon labels tokenize to about one token per character pair or worse; one per char is safe.
    return len(label_text(label))


def _b64_len(n: int) -> int:
    return 4 * math.ceil(n / 3)


_QUALITY_STEPS = (85, 70, 55, 40)
_MESSAGE_OVERHEAD = 32  # role markers, separators, the intro line


def plan_frames(
    selection: FrameSelection | Sequence[Frame],
    model: str,
    *,
    question: str | None = None,
    system: str = "",
    max_frames: int | None = None,
    max_input_tokens: int | None = None,
    detail: str | None = None,
    max_side: int | None = None,
    media_resolution: str | None = None,
    jpeg_quality: int = 85,
    overrides: Mapping[str, Any] | None = None,
    limits: ModelLimits | None = None,
) -> FramePlan:
    """Choose which frames of ``selection`` to send to ``model``, at what size and detail.

    Frames are ranked by score (ties spread over time); the planner looks for the best setting at which all
    of the first ``max_frames`` (default: all, capped by ``max_images``) fit the token budget, lowering
    size/detail step by step, and at the cheapest setting drops the lowest-ranked frames until the rest fit.
    The chosen frames are encoded as JPEG; if the byte limits are exceeded the quality is lowered, then more
    frames are dropped. The result is in time order.

    Args:
        selection: a :class:`FrameSelection` or frames with images.
        model: model name, looked up in :data:`MODEL_TABLE`.
        question, system: the text sent with the frames (counted in the estimate).
        max_frames: most frames to send.
        max_input_tokens: a tighter input budget than the model's (used to shrink after a "too long" reply).
        detail: force an OpenAI ``detail`` (``low``/``high``/``auto``).
        max_side: force the longest image side in px.
        media_resolution: force a Gemini 3 level (``low``/``medium``/``high``/``ultra_high``).
        jpeg_quality: starting JPEG quality (1–95).
        overrides: :class:`ModelLimits` fields to change (``context_window``, ``max_images``…).
        limits: use these limits instead of the table's.

    Raises:
        InvalidArgumentError: bad options, no frame with an image, or not even one frame fits.
    """
    lim = resolve_limits(model, overrides, limits=limits)
    if isinstance(selection, FrameSelection):
        frames = list(selection.frames)
        text_question = selection.question if question is None else question
    else:
        frames = list(selection)
        text_question = question or ""
    if detail is not None and detail not in OPENAI_DETAILS:
        raise InvalidArgumentError(f"detail must be one of {', '.join(OPENAI_DETAILS)}, got {detail!r}")
    if media_resolution is not None:
        if lim.image_rule != "gemini_level":
            raise InvalidArgumentError(
                f"media_resolution applies to Gemini 3-class models, not {model!r} ({lim.family})"
            )
        if media_resolution not in lim.level_tokens:
            raise InvalidArgumentError(
                f"media_resolution must be one of {', '.join(lim.level_tokens)}, got {media_resolution!r}"
            )
    if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 16):
        raise InvalidArgumentError(f"max_side must be an integer >= 16, got {max_side!r}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int)
                                   or max_frames <= 0):
        raise InvalidArgumentError(f"max_frames must be a positive integer, got {max_frames!r}")
    if not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 95:
        raise InvalidArgumentError(f"jpeg_quality must be an integer from 1 to 95, got {jpeg_quality!r}")

    notes: list[str] = []
    images: dict[int, Image.Image] = {}
    usable: list[Frame] = []
    for f in frames:
        try:
            images[id(f)] = f.require_image()
        except (ValueError, OSError):
            continue
        usable.append(f)
    if len(usable) < len(frames):
        notes.append(f"{len(frames) - len(usable)} frame(s) without an image were skipped")
    if not usable:
        raise InvalidArgumentError("the selection holds no frame with an image to send")

    budget = lim.input_budget
    if max_input_tokens is not None:
        budget = min(budget, int(max_input_tokens))
    ranked = rank_frames(usable)
    cap = min(len(ranked), lim.max_images, max_frames or len(ranked))
    if cap < len(ranked):
        notes.append(f"kept the {cap} highest-ranked of {len(ranked)} frames (frame limit)")
    ranked_capped = ranked[:cap]

    # Labels depend on which frames are sent; label tokens are all but constant, so price the longest form.
    worst_label = max(frame_labels([f.timestamp for f in ranked_capped]), key=len)
    fixed_text = (
        estimate_text_tokens(system, lim)
        + estimate_text_tokens(text_question, lim)
        + _MESSAGE_OVERHEAD
    )
    per_label = _label_tokens(worst_label)

    ladder = _ladder(lim, detail, max_side, media_resolution)
    chosen_setting = ladder[-1]
    chosen_n = 0
    chosen_costs: list[int] = []
    for setting in ladder:
        costs = []
        for f in ranked_capped:
            w, h = fit_within(*images[id(f)].size, setting.max_side)
            costs.append(_image_tokens(lim, w, h, setting.detail, setting.level))
        used = fixed_text
        n = 0
        for c in costs:
            if used + c + per_label > budget:
                break
            used += c + per_label
            n += 1
        if n == len(ranked_capped):
            chosen_setting, chosen_n, chosen_costs = setting, n, costs
            break
        if setting == ladder[-1]:
            chosen_setting, chosen_n, chosen_costs = setting, n, costs
    if chosen_n == 0:
        raise InvalidArgumentError(
            f"not even one frame fits {model!r}: the input budget is {budget:,} tokens and the text alone "
            f"takes about {fixed_text:,}; shorten the question or raise the context_window override"
        )
    if chosen_setting != ladder[0]:
        notes.append(f"lowered images to {chosen_setting.describe()} to fit the {budget:,}-token budget")
    if chosen_n < len(ranked_capped):
        notes.append(
            f"dropped the {len(ranked_capped) - chosen_n} lowest-ranked frame(s) to fit {budget:,} tokens"
        )

    keep = ranked_capped[:chosen_n]
    costs = chosen_costs[:chosen_n]
    quality = jpeg_quality
    text_bytes = len((system + text_question).encode("utf-8")) + 64 * len(keep) + 2048
    while True:
        encoded = []
        for f in keep:
            size = fit_within(*images[id(f)].size, chosen_setting.max_side)
            encoded.append((size, encode_jpeg(images[id(f)], size=size, quality=quality)))
        too_big_single = lim.max_image_bytes is not None and any(
            len(b) > lim.max_image_bytes for _, b in encoded
        )
        total = sum(len(b) for _, b in encoded)
        request = sum(_b64_len(len(b)) for _, b in encoded) + text_bytes
        over_total = lim.max_total_image_bytes is not None and total > lim.max_total_image_bytes
        over_request = lim.max_request_bytes is not None and request > lim.max_request_bytes
        if not (too_big_single or over_total or over_request):
            break
        lower = [q for q in _QUALITY_STEPS if q < quality]
        if lower:
            quality = lower[0]
            continue
        if too_big_single or len(keep) <= 1:
            raise InvalidArgumentError(
                f"frames are too large for {model!r} even at JPEG quality {quality}: pass a smaller max_side"
            )
        # Drop the lowest-ranked frames in proportion to the overshoot, then re-check.
        ratio = max(
            total / lim.max_total_image_bytes if over_total and lim.max_total_image_bytes else 0.0,
            request / lim.max_request_bytes if over_request and lim.max_request_bytes else 0.0,
        )
        new_n = max(1, min(len(keep) - 1, int(len(keep) / ratio)))
        notes.append(f"dropped {len(keep) - new_n} frame(s) to stay under the request byte limit")
        keep, costs = keep[:new_n], costs[:new_n]
    if quality != jpeg_quality:
        notes.append(f"lowered JPEG quality to {quality} to stay under the byte limits")

    order = sorted(range(len(keep)), key=lambda i: keep[i].timestamp)
    labels = frame_labels([keep[i].timestamp for i in order])
    planned = [
        PlannedImage(
            frame=keep[i],
            label=label,
            width=encoded[i][0][0],
            height=encoded[i][0][1],
            tokens=costs[i],
            jpeg=encoded[i][1],
            detail=chosen_setting.detail,
            media_resolution=chosen_setting.level,
        )
        for i, label in zip(order, labels, strict=True)
    ]
    kept_ids = {id(f) for f in keep}
    dropped = sorted((f for f in usable if id(f) not in kept_ids), key=lambda f: f.timestamp)
    text_tokens = fixed_text + sum(_label_tokens(im.label) for im in planned)
    image_bytes = sum(len(im.jpeg) for im in planned)
    return FramePlan(
        model=model,
        limits=lim,
        images=planned,
        dropped=dropped,
        image_tokens=sum(im.tokens for im in planned),
        text_tokens=text_tokens,
        budget=budget,
        image_bytes=image_bytes,
        request_bytes=sum(_b64_len(len(im.jpeg)) for im in planned) + text_bytes,
        max_side=chosen_setting.max_side,
        detail=chosen_setting.detail,
        media_resolution=chosen_setting.level,
        jpeg_quality=quality,
        notes=notes,
    )


def suggest_frame_count(
    model: str,
    *,
    width: int = 16 * 48,
    height: int = 9 * 48,
    question: str = "",
    overrides: Mapping[str, Any] | None = None,
) -> int:
    """How many frames to ask the sampler for when the caller gives no ``k``: the family's
    ``default_frames``, fewer if that many ``width``×``height`` frames would not fit at the best setting."""
    lim = resolve_limits(model, overrides)
    best = _ladder(lim, None, None, None)[0]
    w, h = fit_within(width, height, best.max_side)
    per_frame = _image_tokens(lim, w, h, best.detail, best.level) + _label_tokens("00:00:00")
    room = lim.input_budget - estimate_text_tokens(question, lim) - _MESSAGE_OVERHEAD - 200
    fits = max(1, room // per_frame)
    return int(max(1, min(lim.default_frames, lim.max_images, fits)))
