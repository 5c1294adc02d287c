"""The frame-sampler interface: every backend (uniform, GenS in-process, GenS over HTTP, similarity) scores
windows of frames for a question behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from gens_tools.frames import Frame
from gens_tools.progress import ProgressCallback, emit

if TYPE_CHECKING:
    from gens_tools.samplers._describe import SamplerOption


@dataclass(slots=True)
class Window:
    """A run of consecutive grid frames scored in one model call.

    ``frames[i]`` carries the local label ``[i]`` in the GenS prompt. ``index`` numbers the windows of one
    request from 0. Frames carry images only when the sampler's ``needs_images`` is true. ``video_key``
    identifies the video, sampling rate, frame size and time range the window came from (the same key for the
    same window of the same request), so samplers can reuse per-window work across questions.
    """

    index: int
    frames: list[Frame]
    video_key: str | None = None

    @property
    def start(self) -> float:
        """Timestamp of the first frame (seconds)."""
        return self.frames[0].timestamp

    @property
    def end(self) -> float:
        """Timestamp of the last frame (seconds)."""
        return self.frames[-1].timestamp

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(slots=True)
class WindowScores:
    """A sampler's verdict on one window.

    ``scores[i]`` is frame ``i``'s relevance (0 = not listed by the model). ``scores is None`` means the
    window could not be scored (unparseable output, a failed request): it is then treated as *unscored*,
    never as all-relevant. ``repaired`` is true when the model's output had to be repaired to be read, with
    the reasons in ``issues``.

    Two-stage samplers (the hybrid strategy) also say what their first stage saw: ``coarse[i]`` is frame
    ``i``'s score from the coarse model and ``passed[i]`` whether it went on to the fine model (frames that did
    not have score 0).
    """

    window_index: int
    scores: list[float] | None
    raw_output: str | None = None
    repaired: bool = False
    issues: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    coarse: list[float] | None = None
    passed: list[bool] | None = None


class FrameSampler(ABC):
    """Scores frames for a question, one window at a time.

    Subclasses set ``name`` and implement :meth:`score_window`. Samplers that can score several windows at
    once (batched on a GPU, concurrent HTTP requests) override :meth:`_score_stream`, which yields results in
    window order and consumes its input lazily (so memory stays bounded); :meth:`score_windows` reports the
    progress around it.

    A sampler's options are its constructor's keyword arguments, documented in the class docstring's
    ``Args:`` section: :meth:`describe_options` reads them from there, and the command line builds its flags
    from them (see :func:`~gens_tools.samplers.register_sampler`).

    Attributes:
        window_size: the most frames one window may hold (GenS: 256).
        needs_images: whether windows must carry decoded images (the uniform sampler needs none).
        preferred_max_side: the frame size (longer side, px) this sampler wants decoded, or ``None``.
        option_sources: the methods whose parameters are the constructor's options (``__init__``'s, then the
            keyword-only ones of the others, for constructors that pass ``**options`` on).
        secret_options: options that are never command-line flags nor shown (API keys).
        generative: whether this is a GenS model (it reads a window of labelled frames and generates their
            scores); the pipeline then runs long videos with the hybrid strategy when asked to.
        notice: something every result of this sampler must say (``auto`` falling back to uniform sampling
            says why, and how to get GenS); ``None`` for nothing.
    """

    name: ClassVar[str] = "sampler"
    window_size: int = 256
    needs_images: bool = True
    preferred_max_side: int | None = None
    generative: bool = False
    notice: str | None = None
    option_sources: ClassVar[tuple[str, ...]] = ("__init__",)
    secret_options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def describe_options(cls) -> tuple[SamplerOption, ...]:
        """The constructor's options (name, type, default, help), read from its signature and docstring."""
        from gens_tools.samplers._describe import describe_options

        return describe_options(cls)

    @property
    def label(self) -> str:
        """How this sampler is named in a selection (``name``; composite samplers say what they combine)."""
        return self.name

    @abstractmethod
    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window's frames for ``question``."""

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        """Score windows in order, consuming ``windows`` lazily and reporting ``score`` progress after each
        result (and, between results, whatever the sampler notes about its work)."""
        done = 0

        def note(message: str) -> None:
            emit(progress, "score", done, total, message)

        for result in self._score_stream(windows, question, note):
            done += 1
            emit(progress, "score", done, total)
            yield result

    def _score_stream(
        self, windows: Iterable[Window], question: str, note: Callable[[str], None]
    ) -> Iterator[WindowScores]:
        """The results for ``windows``, in window order. One :meth:`score_window` call at a time by default;
        override to batch or overlap windows. ``note(message)`` reports progress between results."""
        for window in windows:
            result = self.score_window(window, question)
            del window  # its pictures are not held while the next window is decoded
            yield result

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (models, HTTP clients). Safe to call twice."""

    def __enter__(self) -> FrameSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
