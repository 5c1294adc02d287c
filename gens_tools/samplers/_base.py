"""The frame-sampler interface: every backend (uniform, GenS in-process, GenS over HTTP, similarity) scores
windows of frames for a question behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gens_tools.frames import Frame
from gens_tools.progress import ProgressCallback, emit


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
    once (batched on a GPU, concurrent HTTP requests) override :meth:`score_windows`, which must still yield
    results in window order and consume its input lazily (so memory stays bounded).

    Attributes:
        window_size: the most frames one window may hold (GenS: 256).
        needs_images: whether windows must carry decoded images (the uniform sampler needs none).
        preferred_max_side: the frame size (longer side, px) this sampler wants decoded, or ``None``.
    """

    name: ClassVar[str] = "sampler"
    window_size: int = 256
    needs_images: bool = True
    preferred_max_side: int | None = None

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
        """Score windows in order, reporting ``score`` progress after each; sequential by default."""
        for done, window in enumerate(windows, start=1):
            result = self.score_window(window, question)
            emit(progress, "score", done, total)
            yield result

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (models, HTTP clients). Safe to call twice."""

    def __enter__(self) -> FrameSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
