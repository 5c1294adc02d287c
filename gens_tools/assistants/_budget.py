"""How many frames, at what size and image settings, fit into one request to a given model.

:func:`plan_frames` works in five steps, each a function below:

1. **rank** — frames with an image, highest score first (ties spread evenly over time), capped by the
   model's ``max_images`` and the caller's ``max_frames``;
2. **choose a setting** — walk the image rule's ladder (best first) and take the first setting at which every
   ranked frame fits the token budget;
3. **fit tokens** — at the cheapest setting, keep as many of the ranked frames as fit;
4. **encode and fit bytes** — encode the kept frames as JPEG; over a byte limit, lower the JPEG quality, then
   drop the lowest-ranked frames;
5. **build the plan** — the frames in time order with their labels, and the estimate.

Token prices come from the model's image rule (:mod:`gens_tools.assistants._image_rules`), limits from the
model table (:mod:`gens_tools.assistants._limits`). These are estimates; the providers' ``usage`` figures are the
truth, and :class:`~gens_tools.assistants.Answer` reports both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from gens_tools._checks import image_side, optional_positive_int, positive_int
from gens_tools._checks import jpeg_quality as check_jpeg_quality
from gens_tools._imaging import encode_jpeg, fit_within
from gens_tools.assistants._image_rules import ImageRule, ImageSetting, image_rule
from gens_tools.assistants._layout import frame_labels, label_tokens
from gens_tools.assistants._limits import ModelLimits, resolve_limits
from gens_tools.assistants._plan import FramePlan, PlannedImage
from gens_tools.assistants._ranking import rank_frames
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection

__all__ = [
    "FramePlan",
    "PlannedImage",
    "estimate_image_tokens",
    "estimate_text_tokens",
    "plan_frames",
    "suggest_frame_count",
]

_QUALITY_STEPS = (85, 70, 55, 40)
_MESSAGE_OVERHEAD = 32  # role markers, separators, the intro line
_REQUEST_TEXT_BYTES = 2048  # JSON structure around the parts
_PART_BYTES = 64  # per frame: its label part and the image part's wrapping

#: A frame and its decoded image.
_Source = tuple[Frame, Image.Image]


def estimate_text_tokens(text: str, limits: ModelLimits) -> int:
    """A conservative token count for ``text`` (no tokenizer needed)."""
    return math.ceil(len(text) / limits.chars_per_token) if text else 0


def estimate_image_tokens(
    model: str,
    width: int,
    height: int,
    detail: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    **image_settings: str | None,
) -> int:
    """Tokens one ``width``×``height`` image costs ``model``.

    ``detail`` (``low``/``high``/``auto``) applies to OpenAI-priced models (``auto`` and ``None`` are priced
    as ``high``, the upper bound); other rules' settings go by name, e.g. ``media_resolution``
    (``low``/``medium``/``high``/``ultra_high``) for Gemini 3-class models. Example: gpt-4o, 1280×720,
    high → 1105; low → 85.
    """
    limits = resolve_limits(model, overrides)
    rule = image_rule(limits.image_rule)
    setting = ImageSetting.of(None, detail=detail, **image_settings)
    rule.check_setting(limits, setting, model)
    w = positive_int("image width", int(width))
    h = positive_int("image height", int(height))
    return rule.tokens(limits, w, h, setting)


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
    limits = resolve_limits(model, overrides)
    rule = image_rule(limits.image_rule)
    best = rule.ladder(limits, ImageSetting(None))[0]
    w, h = fit_within(width, height, best.max_side)
    per_frame = rule.tokens(limits, w, h, best) + label_tokens("00:00:00")
    room = limits.input_budget - estimate_text_tokens(question, limits) - _MESSAGE_OVERHEAD - 200
    fits = max(1, room // per_frame)
    return int(max(1, min(limits.default_frames, limits.max_images, fits)))


def plan_frames(
    selection: FrameSelection | Sequence[Frame],
    model: str,
    *,
    question: str | None = None,
    system: str = "",
    max_frames: int | None = None,
    max_input_tokens: int | None = None,
    max_side: int | None = None,
    jpeg_quality: int = 85,
    overrides: Mapping[str, Any] | None = None,
    limits: ModelLimits | None = None,
    **image_settings: str | None,
) -> FramePlan:
    """Choose which frames of ``selection`` to send to ``model``, at what size and image settings.

    Frames are ranked by score (ties spread over time); the planner looks for the best setting at which all
    of the first ``max_frames`` (default: all, capped by ``max_images``) fit the token budget, lowering
    size/detail step by step, and at the cheapest setting drops the lowest-ranked frames until the rest fit.
    The chosen frames are encoded as JPEG; if the byte limits are exceeded the quality is lowered, then more
    frames are dropped. The result is in time order.

    Args:
        selection: a :class:`FrameSelection` or frames with images.
        model: model name, looked up in :data:`~gens_tools.assistants.MODEL_TABLE`.
        question, system: the text sent with the frames (counted in the estimate).
        max_frames: most frames to send.
        max_input_tokens: a tighter input budget than the model's (used to shrink after a "too long" reply).
        max_side: force the longest image side in px.
        jpeg_quality: starting JPEG quality (1–95).
        overrides: :class:`ModelLimits` fields to change (``context_window``, ``max_images``…).
        limits: use these limits instead of the table's.
        **image_settings: force settings of the model's image rule: ``detail`` (``low``/``high``/``auto``) for
            OpenAI-priced models, ``media_resolution`` (``low``/``medium``/``high``/``ultra_high``) for
            Gemini 3-class models; ``None`` lets the planner choose.

    Raises:
        InvalidArgumentError: bad options, no frame with an image, or not even one frame fits.
    """
    lim = resolve_limits(model, overrides, limits=limits)
    rule = image_rule(lim.image_rule)
    wanted = ImageSetting.of(image_side("max_side", max_side), **image_settings)
    rule.check_setting(lim, wanted, model)
    cap = optional_positive_int("max_frames", max_frames)
    quality = check_jpeg_quality("jpeg_quality", jpeg_quality)
    frames, text_question = _frames_and_question(selection, question)
    notes: list[str] = []

    usable = _with_images(frames, notes)
    ranked = _rank(usable, min(lim.max_images, cap or lim.max_images), notes)
    budget = lim.input_budget if max_input_tokens is None else min(lim.input_budget, int(max_input_tokens))
    text = _TextCost.of(system, text_question, ranked, lim)
    ladder = rule.ladder(lim, wanted)
    fit = _choose_setting(ranked, rule, lim, ladder, budget, text)
    if not fit.costs:
        raise InvalidArgumentError(
            f"not even one frame fits {model!r}: the input budget is {budget:,} tokens and the text alone "
            f"takes about {text.fixed:,}; shorten the question or raise the context_window override"
        )
    if fit.setting != ladder[0]:
        notes.append(f"lowered images to {fit.setting.describe()} to fit the {budget:,}-token budget")
    if len(fit.costs) < len(ranked):
        notes.append(f"dropped the {len(ranked) - len(fit.costs)} lowest-ranked frame(s) to fit {budget:,} tokens")
    request_text_bytes = len((system + text_question).encode("utf-8")) + _REQUEST_TEXT_BYTES
    encoded = _encode_within_bytes(ranked[: len(fit.costs)], fit, lim, quality, request_text_bytes, model, notes)
    if encoded.quality != quality:
        notes.append(f"lowered JPEG quality to {encoded.quality} to stay under the byte limits")
    sent_or_dropped = [f for f, _ in usable]
    return _build_plan(model, lim, sent_or_dropped, encoded, fit.setting, budget, text, request_text_bytes, notes)


# --- the steps -----------------------------------------------------------------------------------------------


def _frames_and_question(selection: FrameSelection | Sequence[Frame], question: str | None) -> tuple[list[Frame], str]:
    if isinstance(selection, FrameSelection):
        return list(selection.frames), selection.question if question is None else question
    return list(selection), question or ""


def _with_images(frames: Sequence[Frame], notes: list[str]) -> list[_Source]:
    """The frames whose image can be read, with it."""
    usable: list[_Source] = []
    for f in frames:
        try:
            usable.append((f, f.require_image()))
        except (ValueError, OSError):
            continue
    if len(usable) < len(frames):
        notes.append(f"{len(frames) - len(usable)} frame(s) without an image were skipped")
    if not usable:
        raise InvalidArgumentError("the selection holds no frame with an image to send")
    return usable


def _rank(usable: Sequence[_Source], cap: int, notes: list[str]) -> list[_Source]:
    """Step 1: highest-ranked first, at most ``cap`` of them."""
    image_of = {id(f): image for f, image in usable}
    ranked = [(f, image_of[id(f)]) for f in rank_frames([f for f, _ in usable])]
    if cap < len(ranked):
        notes.append(f"kept the {cap} highest-ranked of {len(ranked)} frames (frame limit)")
    return ranked[:cap]


@dataclass(frozen=True, slots=True)
class _TextCost:
    """Tokens of the text: ``fixed`` (system, question, message overhead) plus ``per_label`` for each frame."""

    fixed: int
    per_label: int

    @classmethod
    def of(cls, system: str, question: str, ranked: Sequence[_Source], limits: ModelLimits) -> _TextCost:
        # Labels depend on which frames are sent; their cost is all but constant, so price the longest form.
        worst_label = max(frame_labels([f.timestamp for f, _ in ranked]), key=len)
        fixed = estimate_text_tokens(system, limits) + estimate_text_tokens(question, limits) + _MESSAGE_OVERHEAD
        return cls(fixed, label_tokens(worst_label))


@dataclass(frozen=True, slots=True)
class _TokenFit:
    """A setting and the token costs of the ranked frames that fit at it (the first ``len(costs)``)."""

    setting: ImageSetting
    costs: list[int]


def _choose_setting(
    ranked: Sequence[_Source],
    rule: ImageRule,
    limits: ModelLimits,
    ladder: Sequence[ImageSetting],
    budget: int,
    text: _TextCost,
) -> _TokenFit:
    """Step 2: the first setting of ``ladder`` at which every ranked frame fits; else (step 3) the cheapest,
    with as many frames as fit there."""
    for i, setting in enumerate(ladder):
        costs = [rule.tokens(limits, *fit_within(*image.size, setting.max_side), setting) for _, image in ranked]
        n = _fit_tokens(costs, budget, text)
        if n == len(ranked) or i == len(ladder) - 1:
            return _TokenFit(setting, costs[:n])
    raise AssertionError("an image rule returned an empty ladder")  # pragma: no cover


def _fit_tokens(costs: Sequence[int], budget: int, text: _TextCost) -> int:
    """Step 3: how many of the first frames fit ``budget`` tokens with the text."""
    used, n = text.fixed, 0
    for cost in costs:
        if used + cost + text.per_label > budget:
            break
        used += cost + text.per_label
        n += 1
    return n


@dataclass(slots=True)
class _Encoded:
    """Frames kept after the byte limits, their token costs, sizes and JPEGs, and the quality used."""

    kept: list[_Source]
    costs: list[int]
    sizes: list[tuple[int, int]]
    jpegs: list[bytes]
    quality: int


def _b64_len(n: int) -> int:
    return 4 * math.ceil(n / 3)


def _request_bytes(jpegs: Sequence[bytes], text_bytes: int) -> int:
    return sum(_b64_len(len(b)) for b in jpegs) + _PART_BYTES * len(jpegs) + text_bytes


def _encode_within_bytes(
    kept: list[_Source],
    fit: _TokenFit,
    limits: ModelLimits,
    quality: int,
    text_bytes: int,
    model: str,
    notes: list[str],
) -> _Encoded:
    """Step 4: encode the kept frames; over a byte limit lower the quality, then drop the lowest-ranked."""
    costs = list(fit.costs)
    while True:
        sizes = [fit_within(*image.size, fit.setting.max_side) for _, image in kept]
        jpegs = [encode_jpeg(image, size=size, quality=quality) for (_, image), size in zip(kept, sizes, strict=True)]
        single_too_big = limits.max_image_bytes is not None and any(len(b) > limits.max_image_bytes for b in jpegs)
        overshoot = _byte_overshoot(jpegs, limits, text_bytes)
        if not single_too_big and overshoot <= 1.0:
            return _Encoded(kept, costs, sizes, jpegs, quality)
        lower = [q for q in _QUALITY_STEPS if q < quality]
        if lower:
            quality = lower[0]
            continue
        if single_too_big or len(kept) <= 1:
            raise InvalidArgumentError(
                f"frames are too large for {model!r} even at JPEG quality {quality}: pass a smaller max_side"
            )
        # Drop the lowest-ranked frames in proportion to the overshoot, then re-check.
        new_n = max(1, min(len(kept) - 1, int(len(kept) / overshoot)))
        notes.append(f"dropped {len(kept) - new_n} frame(s) to stay under the request byte limit")
        kept, costs = kept[:new_n], costs[:new_n]


def _byte_overshoot(jpegs: Sequence[bytes], limits: ModelLimits, text_bytes: int) -> float:
    """How many times over its byte limits the request is (<= 1.0: within them)."""
    ratios = [0.0]
    if limits.max_total_image_bytes is not None:
        ratios.append(sum(len(b) for b in jpegs) / limits.max_total_image_bytes)
    if limits.max_request_bytes is not None:
        ratios.append(_request_bytes(jpegs, text_bytes) / limits.max_request_bytes)
    return max(ratios)


def _build_plan(
    model: str,
    limits: ModelLimits,
    usable: Sequence[Frame],
    encoded: _Encoded,
    setting: ImageSetting,
    budget: int,
    text: _TextCost,
    text_bytes: int,
    notes: list[str],
) -> FramePlan:
    """Step 5: the kept frames in time order, labelled, with the estimate."""
    order = sorted(range(len(encoded.kept)), key=lambda i: encoded.kept[i][0].timestamp)
    labels = frame_labels([encoded.kept[i][0].timestamp for i in order])
    settings = setting.as_dict()
    planned = [
        PlannedImage(
            frame=encoded.kept[i][0],
            label=label,
            width=encoded.sizes[i][0],
            height=encoded.sizes[i][1],
            tokens=encoded.costs[i],
            jpeg=encoded.jpegs[i],
            settings=dict(settings),
        )
        for i, label in zip(order, labels, strict=True)
    ]
    kept_ids = {id(f) for f, _ in encoded.kept}
    dropped = sorted((f for f in usable if id(f) not in kept_ids), key=lambda f: f.timestamp)
    jpegs = [im.jpeg for im in planned]
    return FramePlan(
        model=model,
        limits=limits,
        images=planned,
        dropped=dropped,
        image_tokens=sum(im.tokens for im in planned),
        text_tokens=text.fixed + sum(label_tokens(im.label) for im in planned),
        budget=budget,
        image_bytes=sum(len(b) for b in jpegs),
        request_bytes=_request_bytes(jpegs, text_bytes),
        max_side=setting.max_side,
        jpeg_quality=encoded.quality,
        settings=settings,
        notes=notes,
    )
