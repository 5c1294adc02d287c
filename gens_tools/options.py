"""How frames are sampled: one validated, immutable :class:`SamplingOptions` that every entry point carries.

``sample_frames``, :class:`~gens_tools.qa.VideoQA`, the command line and every agent integration take the
same object (or its fields as keyword arguments), so a setting is declared once, here, with its default, its
check and its help text; the command line builds its flags from these declarations.

Per-call arguments (the video, the question, ``k``, ``start``/``end``) are not options: they change with every
call, while options describe how a tool or an application samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError
from gens_tools.video._open import BACKENDS

if TYPE_CHECKING:
    from gens_tools.video import FrameCache

__all__ = ["BACKENDS", "DEFAULT_MAX_SIDE", "OptionInfo", "SamplingOptions"]

Backend = Literal["auto", "pyav", "decord"]
Strategy = Literal["auto", "windows", "hybrid"]
#: How GenS covers a video longer than one window: ``"windows"`` scores every window (exhaustive),
#: ``"hybrid"`` lets a similarity model rank every frame and GenS score the best ``hybrid_pool`` (the GenS
#: authors' recipe for long videos), ``"auto"`` uses the hybrid when the grid is longer than one window.
STRATEGIES: tuple[Strategy, ...] = ("auto", "windows", "hybrid")
#: The similarity model that ranks frames in the hybrid strategy by default.
DEFAULT_COARSE_MODEL = "google/siglip-base-patch16-224"
#: Frame size (longer side, px) decoded when neither the options nor the sampler ask for another.
DEFAULT_MAX_SIDE = 448


@dataclass(frozen=True, slots=True)
class OptionInfo:
    """What the command line and the agent integrations need to know about one option.

    Attributes:
        name: the field name (``max_side``).
        help: one sentence for ``--help`` and API docs.
        flag: the command-line flag (``--max-side``), or ``None`` when the option has none.
        parse: turns the flag's text into a value (``float``, ``int``…); ``None`` for on/off flags.
        choices: the accepted values, when there is a fixed set.
        negate: the flag switches the option off (``--no-cache`` sets ``cache=False``).
        metavar: how ``--help`` names the flag's value.
        flag_help: the flag's own help, when it differs from the option's (a negating flag).
        default: the option's default value.
    """

    name: str
    help: str
    flag: str | None
    parse: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    negate: bool = False
    metavar: str | None = None
    flag_help: str | None = None
    default: Any = None


def _option(
    default: Any,
    help: str,
    *,
    parse: Callable[[str], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = "",
    negate: bool = False,
    metavar: str | None = None,
    flag_help: str | None = None,
) -> Any:
    meta = {
        "help": help,
        "parse": parse,
        "choices": choices,
        "flag": flag,
        "negate": negate,
        "metavar": metavar,
        "flag_help": flag_help,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingOptions:
    """How a video is sampled: the candidate grid, frame size, spacing, decoder and frame cache.

    Build one with keyword arguments (every field is optional); it is checked on construction and cannot be
    changed afterwards (use :meth:`replace`). Every entry point accepts one as ``options=`` and also takes its
    fields as keyword arguments, which override the object's.

    Example:
        >>> opts = SamplingOptions(fps=2.0, min_gap=5.0)
        >>> opts.replace(max_side=336).max_side
        336
    """

    fps: float = _option(1.0, "candidate frames per second (GenS reads 1 fps: one label per second)", parse=float)
    max_side: int | None = _option(
        None,
        f"longer side of decoded frames in px (default: the sampler's preference, else {DEFAULT_MAX_SIDE})",
        parse=int,
        metavar="PX",
    )
    min_gap: float = _option(0.0, "minimum seconds between chosen frames", parse=float, metavar="SECONDS")
    backend: Backend = _option("auto", "video decoder for files", choices=BACKENDS)
    frame_rate: float | None = _option(
        None,
        "frames per second of a folder of frame images whose file names do not state times",
        parse=float,
        metavar="FPS",
    )
    strategy: Strategy = _option(
        "auto",
        "how GenS covers a video longer than one window: windows (score every window), hybrid (a similarity "
        "model ranks every frame, GenS scores the best few hundred: the authors' recipe for long videos) or auto "
        "(hybrid when the video is longer than one window)",
        choices=STRATEGIES,
    )
    hybrid_pool: int = _option(
        256, "frames the similarity model passes on to GenS in the hybrid strategy (at most one window)", parse=int
    )
    coarse_model: str = _option(
        DEFAULT_COARSE_MODEL,
        "the CLIP or SigLIP model (hub id or folder) that ranks frames in the hybrid strategy",
        metavar="MODEL",
    )
    skip_frames: bool = _option(
        True,
        "decode only the frames the sampling grid needs: the decoder skips non-reference frames that are on "
        "screen at no grid time (the same frames and timestamps as a full decode, with less work; False "
        "decodes every frame)",
        flag="--full-decode",
        negate=True,
        flag_help="decode every frame instead of skipping the frames no grid time needs (same frames, slower)",
    )
    cache: bool | FrameCache = _option(
        True,
        "keep decoded frames in the on-disk frame cache, so the next question about a video decodes nothing "
        "(False: decode into a temporary folder deleted afterwards; or a FrameCache of your own)",
        flag="--no-cache",
        negate=True,
        flag_help="do not read or write the frame cache (decode into a temporary folder)",
    )

    def __post_init__(self) -> None:
        checks.positive_number("fps", self.fps)
        checks.image_side("max_side", self.max_side)
        checks.non_negative_number("min_gap", self.min_gap)
        checks.choice("backend", self.backend, BACKENDS)
        checks.optional_positive_number("frame_rate", self.frame_rate)
        checks.choice("strategy", self.strategy, STRATEGIES)
        checks.positive_int("hybrid_pool", self.hybrid_pool)
        checks.non_empty_str("coarse_model", self.coarse_model)
        if not isinstance(self.skip_frames, bool):
            raise InvalidArgumentError(f"skip_frames must be True or False, got {self.skip_frames!r}")
        if not isinstance(self.cache, bool):
            from gens_tools.video._cache import FrameCache

            if not isinstance(self.cache, FrameCache):
                raise InvalidArgumentError(f"cache must be True, False or a FrameCache, got {self.cache!r}")
        for name in ("fps", "min_gap", "frame_rate"):
            value = getattr(self, name)
            if isinstance(value, int):
                object.__setattr__(self, name, float(value))

    # -- building -------------------------------------------------------------------------------------------

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def describe(cls) -> tuple[OptionInfo, ...]:
        """Each option's help text and command-line flag (what the CLI and the integrations build from)."""
        out = []
        for f in dataclasses.fields(cls):
            meta = f.metadata
            flag = meta["flag"]
            if flag == "":
                flag = "--" + f.name.replace("_", "-")
            out.append(
                OptionInfo(
                    name=f.name,
                    help=meta["help"],
                    flag=flag,
                    parse=meta["parse"],
                    choices=meta["choices"],
                    negate=meta["negate"],
                    metavar=meta["metavar"],
                    flag_help=meta["flag_help"],
                    default=f.default,
                )
            )
        return tuple(out)

    @classmethod
    def build(cls, options: SamplingOptions | Mapping[str, Any] | None = None, **settings: Any) -> SamplingOptions:
        """Options from an object (or a mapping of its fields), with ``settings`` overriding single fields.

        Settings set to ``None`` where the field's default is not ``None`` are ignored (so a caller can pass
        every keyword through unconditionally).

        Raises:
            TypeError: a setting that is not an option (the message lists the options).
            InvalidArgumentError: a value out of range.
        """
        if options is None:
            base = cls()
        elif isinstance(options, SamplingOptions):
            base = options
        elif isinstance(options, Mapping):
            base = cls().replace(**dict(options))
        else:
            raise InvalidArgumentError(f"options must be SamplingOptions or a mapping, got {type(options).__name__}")
        return base.replace(**settings) if settings else base

    def replace(self, **changes: Any) -> SamplingOptions:
        """A copy with some fields changed (checked like the constructor).

        Raises:
            TypeError: a name that is not an option.
        """
        names = self.names()
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown sampling option(s) {', '.join(unknown)}; the options are: {', '.join(names)}")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        kept = {k: v for k, v in changes.items() if not (v is None and defaults[k] is not None)}
        return dataclasses.replace(self, **kept) if kept else self

    @classmethod
    def split(cls, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(options, rest)``: the keyword arguments that name options, and the others."""
        names = set(cls.names())
        return {k: v for k, v in kwargs.items() if k in names}, {k: v for k, v in kwargs.items() if k not in names}

    # -- reading ----------------------------------------------------------------------------------------------

    def frame_side(self, preferred: int | None) -> int:
        """The frame size to decode at: ``max_side``, else the sampler's ``preferred`` size, else
        :data:`DEFAULT_MAX_SIDE`."""
        return self.max_side or preferred or DEFAULT_MAX_SIDE

    def min_gap_frames(self) -> int:
        """``min_gap`` in grid steps (rounded up; 0 when there is no gap)."""
        import math

        return math.ceil(self.min_gap * self.fps - 1e-9) if self.min_gap > 0 else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (a custom frame cache is written as its folder)."""
        data = {name: getattr(self, name) for name in self.names()}
        if not isinstance(self.cache, bool):
            data["cache"] = str(self.cache.root)
        return data
