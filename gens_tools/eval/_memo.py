"""A sampler wrapper that scores each window once per question, so one item can be sampled at several K
without asking the model again: the window scores do not depend on K, only the choice among them does."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._base import FrameSampler, Window, WindowScores


class ScoreMemo(FrameSampler):
    """Delegates to ``inner`` and remembers its window scores by (video key, window, question).

    :attr:`reused` says whether the last :meth:`score_windows` call was served from memory.
    """

    def __init__(self, inner: FrameSampler) -> None:
        self.inner = inner
        self.window_size = inner.window_size
        self.needs_images = inner.needs_images
        self.preferred_max_side = inner.preferred_max_side
        setattr(self, "name", inner.name)  # noqa: B010 - an instance value for a class-level name
        self.reused = False
        self._memo: dict[tuple[str | None, int, str], WindowScores] = {}

    def score_window(self, window: Window, question: str) -> WindowScores:
        """The inner sampler's scores for ``window``, remembered."""
        key = (window.video_key, window.index, question)
        if key not in self._memo:
            self._memo[key] = self.inner.score_window(window, question)
        return self._memo[key]

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        """Served from memory when the first window was scored before; else the inner sampler's own
        (possibly batched) scoring, remembered as it streams."""
        stream = iter(windows)
        first = next(stream, None)
        if first is None:
            return
        stream = itertools.chain([first], stream)
        self.reused = (first.video_key, first.index, question) in self._memo
        if self.reused:
            for done, window in enumerate(stream, start=1):
                result = self.score_window(window, question)
                emit(progress, "score", done, total)
                yield result
            return
        # Results come in window order and carry their window's index; all windows of one call share a key.
        for result in self.inner.score_windows(stream, question, total=total, progress=progress):
            self._memo[(first.video_key, result.window_index, question)] = result
            yield result

    def clear(self) -> None:
        """Forget every score."""
        self._memo.clear()

    def close(self) -> None:
        """Nothing to release: the inner sampler belongs to the caller."""
