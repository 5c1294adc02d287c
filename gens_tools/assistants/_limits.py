"""What one request to a model may hold: the model table and the limits of a model name.

The table is data (:data:`MODEL_TABLE`): one row per model family, keyed by name prefix, holding the
:class:`ModelLimits` fields — context window, tokens kept free for the answer, the image rule that prices an
image (:mod:`gens_tools.assistants._image_rules`), the most images and bytes a request may carry. Each
provider brings its rows when it registers (:func:`gens_tools.assistants.register_assistant`). Models not in the
table get :data:`UNKNOWN_MODEL` (small context, few images, costly images) unless overridden.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gens_tools._checks import (
    image_side,
    non_empty_str,
    non_negative_int,
    optional_positive_int,
    positive_int,
    positive_number,
)
from gens_tools.assistants._image_rules import image_rule
from gens_tools.errors import InvalidArgumentError

MB = 1_000_000
"""Byte limits are taken in decimal megabytes (the smaller reading of the providers' "MB")."""


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What one request to a model family may hold, and how its images are priced.

    Attributes:
        family: the table entry this came from (``"gpt-4o"``, ``"gemini-2"``, ``"unknown"``…).
        provider: the provider whose table row this is (``"openai"``, ``"gemini"``) or ``"unknown"``.
        context_window: input + output tokens the model accepts.
        output_reserve: tokens kept free for the answer (and thinking).
        image_rule: the name of the registered image rule that prices an image.
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
    image_rule: str
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


_FIELDS = frozenset(f.name for f in dataclasses.fields(ModelLimits))

#: Model families by name prefix (the longest matching prefix wins): ``prefix → ModelLimits fields`` (without
#: ``family``, which is the prefix). Filled in by the providers as they register; read it, do not edit it —
#: adjust a model with ``budget``/``overrides`` instead.
MODEL_TABLE: dict[str, dict[str, Any]] = {}

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

# "models/gemini-2.5-flash", "openai:gpt-4o", "google/gemini-2.5-pro": the table is keyed by the bare name.
_NAME_DECORATIONS = re.compile(r"^(?:models/)?(?:[a-z0-9_.-]+:)?(?:models/)?(?:[a-z0-9_.-]+/)?")


def normalise_model_name(model: str) -> str:
    """The name the table is searched with: lower case, without ``models/``, a ``provider:`` prefix or an
    ``organisation/`` path."""
    return _NAME_DECORATIONS.sub("", model.strip().lower(), count=1)


def table_family(model: str) -> str | None:
    """The table prefix ``model`` falls under (the longest that matches), or ``None``."""
    name = normalise_model_name(model)
    matches = [prefix for prefix in MODEL_TABLE if name.startswith(prefix)]
    return max(matches, key=len) if matches else None


def resolve_limits(
    model: str, overrides: Mapping[str, Any] | None = None, *, limits: ModelLimits | None = None
) -> ModelLimits:
    """The limits for ``model`` (longest table prefix, else :data:`UNKNOWN_MODEL`), with ``overrides``
    (any :class:`ModelLimits` field by name) applied on top. ``limits`` replaces the table lookup."""
    non_empty_str("model", model)
    base = limits
    if base is None:
        family = table_family(model)
        base = UNKNOWN_MODEL if family is None else ModelLimits(family=family, **MODEL_TABLE[family])
    if overrides:
        base = _with_overrides(base, overrides)
    check_limits(base)
    return base


def _with_overrides(base: ModelLimits, overrides: Mapping[str, Any]) -> ModelLimits:
    unknown = sorted(set(overrides) - _FIELDS)
    if unknown:
        raise InvalidArgumentError(f"unknown budget override(s) {unknown}; valid: {', '.join(sorted(_FIELDS))}")
    clean = {k: v for k, v in overrides.items() if v is not None}
    if "context_window" in clean and "output_reserve" not in clean and isinstance(clean["context_window"], int):
        # A smaller context keeps a proportionate answer reserve unless one is given.
        clean["output_reserve"] = min(base.output_reserve, clean["context_window"] // 4)
    return dataclasses.replace(base, **clean)


def check_limits(limits: ModelLimits) -> None:
    """Refuse limits that cannot be planned with (each figure checked, then by the image rule)."""
    for name in ("context_window", "max_images", "default_frames", "tile_base", "tile_tokens", "patch_cap"):
        positive_int(f"budget.{name}", getattr(limits, name))
    reserve = non_negative_int("budget.output_reserve", limits.output_reserve)
    if reserve >= limits.context_window:
        raise InvalidArgumentError(
            f"budget.output_reserve must be >= 0 and below the context window ({limits.context_window}), "
            f"got {reserve!r}"
        )
    for name in ("max_image_bytes", "max_total_image_bytes", "max_request_bytes"):
        optional_positive_int(f"budget.{name}", getattr(limits, name))
    positive_number("budget.patch_multiplier", limits.patch_multiplier)
    positive_number("budget.chars_per_token", limits.chars_per_token)
    image_side("budget.default_max_side", limits.default_max_side)
    image_rule(limits.image_rule).check_limits(limits)


def add_model_rows(provider: str, rows: Mapping[str, Mapping[str, Any]]) -> None:
    """Add a provider's rows to :data:`MODEL_TABLE` (each checked first; all or none are added).

    Raises:
        InvalidArgumentError: a row with unknown fields or impossible limits, or a prefix another provider has.
    """
    checked: dict[str, dict[str, Any]] = {}
    for prefix, row in rows.items():
        if not isinstance(prefix, str) or not prefix.strip() or prefix != prefix.strip().lower():
            raise InvalidArgumentError(f"model table prefixes must be lower-case names, got {prefix!r}")
        owner = MODEL_TABLE.get(prefix, {}).get("provider")
        if owner is not None and owner != provider:
            raise InvalidArgumentError(f"the model table row {prefix!r} belongs to the {owner} provider")
        unknown = sorted(set(row) - _FIELDS - {"provider"})
        if unknown or "family" in row:
            raise InvalidArgumentError(f"model table row {prefix!r} has unknown field(s) {unknown or ['family']}")
        data = {**row, "provider": provider}
        try:
            check_limits(ModelLimits(family=prefix, **data))
        except TypeError as exc:
            raise InvalidArgumentError(f"model table row {prefix!r} is incomplete: {exc}") from None
        checked[prefix] = data
    MODEL_TABLE.update(checked)


def remove_model_rows(provider: str) -> None:
    """Take a provider's rows out of :data:`MODEL_TABLE`."""
    for prefix in [p for p, row in MODEL_TABLE.items() if row.get("provider") == provider]:
        del MODEL_TABLE[prefix]
