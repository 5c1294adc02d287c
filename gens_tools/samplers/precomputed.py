"""Frame scores computed elsewhere, replayed from a "rag file": the format of the GenS authors' evaluation code.

The GenS authors evaluate with a fork of lmms-eval (``OuyangKun10/Aria-RAG-Eval``) that takes, instead of
uniform frames, a *rag file*: JSON lines, one per video, with

- ``video_path``: the video (their reader keys entries by its base name: one entry per video file, the last
  line for a file winning),
- ``rag_images``: frame image files whose names are frame numbers (``…/000123.jpg``),
- ``rag_sim``: one relevance score per image, in the same order,
- ``fps``: the rate of that numbering: frame ``n`` is at ``n / fps`` seconds.

Their reader turns each image name into seconds, orders the frames by descending score (shuffling ties) and
gives a model the first K. The selections GenS made on the benchmarks were released in this format
(``yaolily/GenS-rag-files``).

:func:`rag_record` writes a :class:`~gens_tools.FrameSelection` as such a line (every frame the sampler scored
above 0, else the chosen frames), adding two fields their reader ignores: ``question`` and ``sampler``.
:class:`PrecomputedSampler` reads a rag file back and scores each grid frame with the score of the rag frame
at the same time, so released selections can be replayed through gens-tools' assistants.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, ClassVar, Literal

from gens_tools.errors import InvalidArgumentError, SamplerError
from gens_tools.frames import FrameSelection
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._registry import register_sampler

__all__ = [
    "PrecomputedSampler",
    "RagEntry",
    "rag_record",
    "read_rag_file",
    "write_rag_file",
]

OnMissing = Literal["error", "uniform"]


@dataclass(frozen=True, slots=True)
class RagEntry:
    """One line of a rag file: a video's scored frames.

    Attributes:
        video: the line's ``video_path``.
        fps: the rate of the frame numbering.
        frames: ``(seconds, score)`` per listed frame, in time order.
        question: the question the scores answer, when the line says (a gens-tools addition).
        line: the line number in the file.
    """

    video: str
    fps: float
    frames: tuple[tuple[float, float], ...]
    question: str | None = None
    line: int = 0

    @property
    def name(self) -> str:
        """The video's base name (what the authors' reader keys entries by)."""
        return PurePath(self.video).name

    def ranked(self) -> list[float]:
        """The frame times in the order the authors' reader gives them: by descending score (ties in time
        order here, where their reader shuffles them)."""
        return [t for t, _ in sorted(self.frames, key=lambda f: (-f[1], f[0]))]


def _frame_number(name: str, where: str) -> int:
    stem = PurePath(name).stem
    try:
        return int(stem)
    except ValueError:
        raise InvalidArgumentError(f"{where}: rag image {name!r} is not named by a frame number") from None


def parse_rag_line(data: Mapping[str, Any], where: str, line: int = 0) -> RagEntry:
    """A :class:`RagEntry` from one parsed line.

    Raises:
        InvalidArgumentError: a field is missing, of the wrong type, or the lists differ in length.
    """
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(f"{where}: expected a JSON object")
    missing = [k for k in ("video_path", "rag_images", "rag_sim", "fps") if k not in data]
    if missing:
        raise InvalidArgumentError(f"{where}: missing field(s) {', '.join(missing)}")
    images, sims = data["rag_images"], data["rag_sim"]
    if not isinstance(images, list) or not isinstance(sims, list) or len(images) != len(sims):
        raise InvalidArgumentError(f"{where}: rag_images and rag_sim must be lists of the same length")
    try:
        fps = float(data["fps"])
        scores = [float(s) for s in sims]
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{where}: fps and rag_sim must be numbers") from None
    if not (math.isfinite(fps) and fps > 0) or not all(math.isfinite(s) for s in scores):
        raise InvalidArgumentError(f"{where}: fps must be positive and every rag_sim finite")
    frames = sorted((_frame_number(str(name), where) / fps, s) for name, s in zip(images, scores, strict=True))
    question = data.get("question")
    return RagEntry(
        video=str(data["video_path"]),
        fps=fps,
        frames=tuple(frames),
        question=None if question is None else str(question),
        line=line,
    )


def read_rag_file(path: str | os.PathLike[str]) -> list[RagEntry]:
    """Every line of a rag file, in file order.

    Raises:
        InvalidArgumentError: the file is missing, or a line is not JSON or not a rag line (the message says
            which line).
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidArgumentError(f"rag file not found: {source}")
    entries: list[RagEntry] = []
    with source.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{source}:{n}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise InvalidArgumentError(f"{where}: not JSON: {exc}") from None
            entries.append(parse_rag_line(data, where, n))
    return entries


def rag_record(
    selection: FrameSelection,
    *,
    frames: Literal["scored", "chosen"] = "scored",
    image_dir: str | None = None,
) -> dict[str, Any]:
    """One rag-file line for ``selection``.

    Args:
        selection: a selection from :func:`~gens_tools.sample_frames`.
        frames: ``"scored"`` lists every grid frame the sampler scored above 0, so the reader can take any K
            (the chosen frames when nothing was scored, e.g. the uniform sampler); ``"chosen"`` lists only the
            chosen frames.
        image_dir: folder written before each frame file name (default: the video's file stem).

    Frame numbers count steps of the selection's grid (``fps`` = the selection's sampling rate), so frame
    ``n`` is at ``n / fps`` seconds. Unscored chosen frames get ``rag_sim`` 0.
    """
    if frames not in ("scored", "chosen"):
        raise InvalidArgumentError(f"frames must be 'scored' or 'chosen', got {frames!r}")
    fps = float(selection.fps)
    listed: list[tuple[float, float]] = []
    if frames == "scored" and selection.timeline is not None:
        timeline = selection.timeline
        listed = [(t, float(s)) for t, s in zip(timeline.times, timeline.scores, strict=True) if s and s > 0]
    if not listed:
        listed = [(f.timestamp, float(f.score or 0.0)) for f in selection.frames]
    folder = image_dir if image_dir is not None else PurePath(selection.video).stem
    prefix = f"{folder.rstrip('/')}/" if folder else ""
    return {
        "video_path": selection.video,
        "rag_images": [f"{prefix}{round(t * fps):06d}.jpg" for t, _ in listed],
        "rag_sim": [s for _, s in listed],
        "fps": fps,
        "question": selection.question,
        "sampler": selection.sampler,
    }


def write_rag_file(
    selections: Iterable[FrameSelection],
    path: str | os.PathLike[str],
    *,
    frames: Literal["scored", "chosen"] = "scored",
    append: bool = False,
) -> Path:
    """Write (or append) one rag line per selection (see :func:`rag_record`)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a" if append else "w", encoding="utf-8") as f:
        for selection in selections:
            f.write(json.dumps(rag_record(selection, frames=frames), ensure_ascii=False) + "\n")
    return out


def _norm(question: str) -> str:
    return " ".join(question.split())


@dataclass(slots=True)
class _Index:
    by_name: dict[str, list[RagEntry]] = field(default_factory=dict)
    by_question: dict[str, list[RagEntry]] = field(default_factory=dict)


@register_sampler("precomputed")
class PrecomputedSampler(FrameSampler):
    """Replays frame scores from a rag file (see the module docstring) instead of running a model.

    The entry for a question is found by the video's base name (as the authors' reader does) and, where lines
    carry a ``question``, by the question too: among a video's lines, the one for the same question wins,
    else the last line without one. The sampler learns the video from :meth:`for_video` (the evaluation
    harness and the batch runner call it for each item); without it, lines are matched by question alone.

    Each grid frame scores the highest ``rag_sim`` of the rag frames nearest to it within half a grid step;
    frames not in the file score 0, so the selection takes the best-scored frames first and fills the rest
    evenly, like the authors' reader (which shuffles ties where gens-tools keeps them spread over time).

    Args:
        path: the rag file (JSON lines); :meth:`from_entries` takes entries already parsed.
        on_missing: what to do for a question the file has no entry for: ``"error"`` raises
            :class:`~gens_tools.errors.SamplerError`; ``"uniform"`` leaves the windows unscored (evenly spaced
            frames, as the authors' reader falls back to), saying so in each window's issues.
        window_size: frames per window (the scores need no model, so windows can be large).
        video: the video the questions are about (lines are then matched by its file name too).
    """

    name: ClassVar[str] = "precomputed"
    needs_images = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_missing: OnMissing = "error",
        window_size: int = 4096,
        video: str | os.PathLike[str] | None = None,
    ) -> None:
        self._setup(read_rag_file(path), os.fspath(path), on_missing, window_size, video)

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[RagEntry],
        *,
        on_missing: OnMissing = "error",
        window_size: int = 4096,
        video: str | os.PathLike[str] | None = None,
        source: str = "<entries>",
    ) -> PrecomputedSampler:
        """A sampler over entries already parsed (``source`` names where they came from)."""
        self = cls.__new__(cls)
        self._setup(list(entries), source, on_missing, window_size, video)
        return self

    def _setup(
        self,
        entries: list[RagEntry],
        source: str,
        on_missing: OnMissing,
        window_size: int,
        video: str | os.PathLike[str] | None,
    ) -> None:
        if on_missing not in ("error", "uniform"):
            raise InvalidArgumentError(f"on_missing must be 'error' or 'uniform', got {on_missing!r}")
        self.source = source
        self.entries = entries
        self.on_missing: OnMissing = on_missing
        self.window_size = window_size
        self.video = None if video is None else os.fspath(video)
        self._index = _Index()
        for entry in entries:
            self._index.by_name.setdefault(entry.name, []).append(entry)
            if entry.question is not None:
                self._index.by_question.setdefault(_norm(entry.question), []).append(entry)

    def __repr__(self) -> str:
        bound = f", video={self.video!r}" if self.video else ""
        return f"PrecomputedSampler({self.source!r}, {len(self.entries)} entries{bound})"

    def for_video(self, video: str | os.PathLike[str]) -> PrecomputedSampler:
        """This sampler bound to ``video`` (the parsed file is shared, not read again)."""
        return PrecomputedSampler.from_entries(
            self.entries, on_missing=self.on_missing, window_size=self.window_size, video=video, source=self.source
        )

    def entry_for(self, question: str) -> RagEntry | None:
        """The entry that scores ``question`` (about the bound video, when bound), or ``None``."""
        q = _norm(question)
        if self.video is not None:
            lines = self._index.by_name.get(PurePath(self.video).name, [])
            same = [e for e in lines if e.question is not None and _norm(e.question) == q]
            if same:
                return same[-1]
            plain = [e for e in lines if e.question is None]
            return plain[-1] if plain else None
        matches = self._index.by_question.get(q, [])
        if len({e.name for e in matches}) > 1:
            raise SamplerError(
                f"{self.source}: the question is asked about several videos; bind the sampler to one with "
                "for_video(video)"
            )
        return matches[-1] if matches else None

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score the window's frames from the file's entry for ``question``."""
        entry = self.entry_for(question)
        if entry is None:
            where = f"video {PurePath(self.video).name!r}" if self.video else "this question"
            message = f"{self.source} has no entry for {where}"
            if self.video is None and not self._index.by_question:
                message += " (its lines carry no question: bind the sampler to the video with for_video(video))"
            if self.on_missing == "error":
                raise SamplerError(message)
            return WindowScores(window.index, None, issues=[f"{message}: frames spread evenly instead"])
        times = [t for t, _ in entry.frames]
        scores: list[float] = []
        stamps = [f.timestamp for f in window.frames]
        gaps = [b - a for a, b in itertools.pairwise(stamps) if b > a]
        half = (min(gaps) if gaps else 1.0) / 2
        for t in stamps:
            lo = bisect.bisect_left(times, t - half - 1e-9)
            hi = bisect.bisect_right(times, t + half - 1e-9)
            near = [entry.frames[j][1] for j in range(lo, hi)]
            scores.append(max(near) if near else 0.0)
        return WindowScores(window.index, scores)
