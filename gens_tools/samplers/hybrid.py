"""The GenS authors' recipe for long videos: a cheap model looks at every frame, GenS at the best few hundred.

A similarity model (CLIP or SigLIP: :class:`~gens_tools.samplers.similarity.SimilaritySampler`) scores every
grid frame against the question (coarse); the ``pool`` best (default 256, one GenS window) go to GenS in time
order, labelled ``[0]…[pool-1]`` (fine). GenS's answer refers to those labels, so a range such as ``"11-12"``
means the 11th and 12th frames passed on, wherever they are in the video, never the seconds between them;
scores map back to the frames' real positions and times.

Compared with scoring every window (the exhaustive strategy), GenS runs once instead of once per 256 frames:
an hour at 1 fps is one GenS call instead of fifteen. Frames the coarse model left out score 0 (GenS never saw
them); what each frame scored in the coarse stage, and whether it was passed on, is kept in
:attr:`~gens_tools.samplers.WindowScores.coarse` and :attr:`~gens_tools.samplers.WindowScores.passed` for the
report.

Memory stays bounded: windows stream through the coarse model and only the current best ``pool`` frames keep
their pictures.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame
from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._base import FrameSampler, Window, WindowScores

#: Frames passed from the coarse to the fine stage by default (one GenS window, as in the authors' recipe).
DEFAULT_POOL = 256


@dataclass(slots=True)
class _Seen:
    """One streamed window, without its pictures."""

    index: int
    n_frames: int
    coarse: list[float] | None  # None: the coarse model could not score it
    first_order: int  # stream position of its first frame
    issues: list[str]


class HybridSampler(FrameSampler):
    """Coarse-to-fine sampling: ``coarse`` ranks every frame, ``fine`` (GenS) scores the best ``pool``.

    Args:
        fine: the GenS sampler (in-process or served) that scores the frames passed on.
        coarse: the sampler that ranks every frame (a :class:`~gens_tools.samplers.similarity.
            SimilaritySampler`: CLIP or SigLIP).
        pool: how many frames go on to ``fine`` (at most its window size; default 256).

    Closing the hybrid sampler closes neither part: they belong to whoever built them.
    """

    name: ClassVar[str] = "hybrid"
    needs_images = True

    def __init__(self, fine: FrameSampler, coarse: FrameSampler, *, pool: int = DEFAULT_POOL) -> None:
        for role, part in (("fine", fine), ("coarse", coarse)):
            if not isinstance(part, FrameSampler):
                raise InvalidArgumentError(f"{role} must be a FrameSampler, got {type(part).__name__}")
            if not part.needs_images:
                raise InvalidArgumentError(f"the {role} sampler {part.name!r} does not look at frames")
        checks.positive_int("pool", pool, maximum=fine.window_size)
        self.fine = fine
        self.coarse = coarse
        self.pool = pool
        self.window_size = coarse.window_size
        sides = [s for s in (fine.preferred_max_side, coarse.preferred_max_side) if s]
        self.preferred_max_side = max(sides) if sides else None

    def __repr__(self) -> str:
        return f"HybridSampler(coarse={self.coarse.name!r}, fine={self.fine.name!r}, pool={self.pool})"

    @property
    def label(self) -> str:
        """How the strategy is named in selections and reports: ``hybrid(similarity→gens-3b)``."""
        return f"hybrid({self.coarse.name}→{self.fine.name})"

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window on its own (coarse ranking, then its best frames through ``fine``)."""
        return next(iter(self.score_windows([window], question)))

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        """Rank every frame of every window with ``coarse``, score the best ``pool`` with ``fine`` in one
        window, then yield each input window's scores in order (all input is read before the first result)."""
        steps = None if total is None else total + 1
        best: list[tuple[float, int, Frame]] = []  # min-heap of (coarse score, -stream order, frame)
        seen: list[_Seen] = []
        order = 0
        key = None
        for done, window in enumerate(windows, start=1):
            key = key or window.video_key
            result = self.coarse.score_window(window, question)
            seen.append(_Seen(window.index, len(window), result.scores, order, list(result.issues)))
            if result.scores is not None:
                for offset, (frame, score) in enumerate(zip(window.frames, result.scores, strict=True)):
                    item = (float(score), -(order + offset), frame)
                    if len(best) < self.pool:
                        heapq.heappush(best, item)
                    elif item[:2] > best[0][:2]:
                        heapq.heapreplace(best, item)
            order += len(window)
            emit(progress, "score", done, steps)

        passed = sorted((-neg, frame) for _, neg, frame in best)  # (stream order, frame) in time order
        fine_scores = self._fine(passed, key, question)
        emit(progress, "score", len(seen) + 1, steps)
        by_order = {o: i for i, (o, _) in enumerate(passed)}
        for w in seen:
            positions = range(w.first_order, w.first_order + w.n_frames)
            went = [o in by_order for o in positions]
            scores: list[float] | None
            if fine_scores.scores is None or w.coarse is None:
                scores = None
            else:
                scores = [fine_scores.scores[by_order[o]] if o in by_order else 0.0 for o in positions]
            yield WindowScores(
                window_index=w.index,
                scores=scores,
                raw_output=fine_scores.raw_output,
                repaired=fine_scores.repaired,
                issues=[*w.issues, *fine_scores.issues] if any(went) else list(w.issues),
                usage=fine_scores.usage if any(went) else {},
                coarse=w.coarse,
                passed=went,
            )

    def _fine(self, passed: list[tuple[int, Frame]], video_key: str | None, question: str) -> WindowScores:
        """GenS's scores for the frames passed on (one window, labels ``[0]…``)."""
        if not passed:
            return WindowScores(window_index=0, scores=[], issues=["the coarse model scored no frame"])
        # The frames depend on the question: the key must say which, so no per-window cache is reused wrongly.
        digest = hashlib.sha1(",".join(str(o) for o, _ in passed).encode()).hexdigest()[:16]
        window = Window(
            index=0,
            frames=[frame for _, frame in passed],
            video_key=None if video_key is None else f"{video_key}|hybrid|{digest}",
        )
        return self.fine.score_window(window, question)


# --- the coarse model, loaded once per process --------------------------------------------------------------

_COARSE: dict[tuple[str, str | None, str | None], FrameSampler] = {}
_COARSE_LOCK = threading.Lock()


def coarse_sampler(model: str, *, device: str | None = None, dtype: str | None = None) -> FrameSampler:
    """The similarity sampler that ranks frames for the hybrid strategy, loaded once per process and shared
    (its frame-embedding cache then serves every later question about the same video).

    Decides quickly when the model cannot be had (the ``local`` extra missing, or the weights neither cached
    nor downloadable), before torch is imported.

    Raises:
        BackendUnavailableError: the ``local`` extra is not installed.
        ModelUnavailableError: the model is not available.
    """
    key = (model, device, dtype)
    with _COARSE_LOCK:
        found = _COARSE.get(key)
        if found is not None:
            return found
        _check_available(model)
        from gens_tools.samplers.similarity import SimilaritySampler

        sampler = SimilaritySampler(model, device=device, dtype=dtype)
        _COARSE.clear()  # keep one: a second similarity model is rarely wanted, and each costs memory
        _COARSE[key] = sampler
        return sampler


def _check_available(model: str) -> None:
    import importlib.util
    from pathlib import Path

    from gens_tools.errors import BackendUnavailableError, ModelUnavailableError
    from gens_tools.samplers._default import downloads_off, weights_in_cache

    missing = [m for m in ("torch", "transformers", "huggingface_hub") if importlib.util.find_spec(m) is None]
    if missing:
        raise BackendUnavailableError(
            f"the similarity model needs the local extra ({', '.join(missing)} missing): "
            "pip install 'gens-tools[local]'"
        )
    if Path(model).expanduser().exists():
        return
    if not weights_in_cache(model) and downloads_off():
        raise ModelUnavailableError(
            f"{model} is not in the Hugging Face cache and downloads are switched off (HF_HUB_OFFLINE)"
        )
