"""The data model: timestamped frames, scored spans and the result of a frame selection."""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from gens_tools._imaging import JPEG_MIME_TYPE, decode_image, encode_jpeg, jpeg_data_url
from gens_tools.errors import InvalidArgumentError

ImageMode = Literal["base64", "paths", "none"]
#: Why a frame was chosen: the sampler scored it relevant (``"scored"``), it fills a place the sampler left
#: open (``"fill"``: evenly spread where coverage is thinnest), or the range held no more candidates than
#: were asked for, so every one is returned (``"all"``).
FrameOrigin = Literal["scored", "fill", "all"]
_ORIGINS = ("scored", "fill", "all")


def format_timestamp(seconds: float, *, decimals: int = 1) -> str:
    """Format seconds as ``hh:mm:ss.s`` (``decimals=0`` gives ``hh:mm:ss``)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"timestamp must be a finite number of seconds >= 0, got {seconds!r}")
    scale = 10**decimals
    total = round(seconds * scale)
    whole, frac = divmod(total, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if decimals > 0:
        text += f".{frac:0{decimals}d}"
    return text


@dataclass(slots=True)
class Frame:
    """One video frame at its real presentation time.

    Attributes:
        timestamp: presentation time in seconds from the start of the video.
        image: the decoded RGB picture, or ``None`` when only the time is known.
        score: merged relevance score (GenS scale 0–5; 0 = not relevant), ``None`` when not scored.
        index: position in the sampling grid (frame ``i`` of the 1 fps grid), when known.
        path: where the image was written, when it was.
        origin: why the frame was chosen (:data:`FrameOrigin`), when it came from a selection.
    """

    timestamp: float
    image: Image.Image | None = None
    score: float | None = None
    index: int | None = None
    path: Path | None = None
    origin: FrameOrigin | None = None

    @property
    def label(self) -> str:
        """The timestamp as ``hh:mm:ss.s``."""
        return format_timestamp(self.timestamp)

    def require_image(self) -> Image.Image:
        """Return the image or raise a clear error if this frame carries none."""
        if self.image is not None:
            return self.image
        if self.path is not None:
            with Image.open(self.path) as img:
                return img.convert("RGB")
        raise ValueError(f"frame at {self.label} has no image")

    def to_jpeg(self, *, quality: int = 90, max_side: int | None = None) -> bytes:
        """The image as JPEG bytes."""
        return encode_jpeg(self.require_image(), quality=quality, max_side=max_side)

    def to_base64(self, *, quality: int = 90, max_side: int | None = None) -> str:
        """The image as base64-encoded JPEG."""
        return base64.b64encode(self.to_jpeg(quality=quality, max_side=max_side)).decode("ascii")

    def to_data_url(self, *, quality: int = 90, max_side: int | None = None) -> str:
        """The image as a ``data:image/jpeg;base64,…`` URL (for chat APIs)."""
        return jpeg_data_url(self.to_jpeg(quality=quality, max_side=max_side))

    def with_score(self, score: float | None) -> Frame:
        """A copy of this frame with another score."""
        return replace(self, score=score)


@dataclass(frozen=True, slots=True)
class ScoredSpan:
    """A time span (inclusive start, exclusive end, in seconds) that the sampler scored."""

    start: float
    end: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "start_label": format_timestamp(self.start),
            "end_label": format_timestamp(self.end),
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class WindowReport:
    """What happened to one scoring window (for diagnostics and the JSON output)."""

    index: int
    start: float
    end: float
    n_frames: int
    scored: bool
    repaired: bool = False
    issues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "n_frames": self.n_frames,
            "scored": self.scored,
            "repaired": self.repaired,
            "issues": list(self.issues),
        }


@dataclass(frozen=True, slots=True)
class Timeline:
    """What the sampler saw over the whole range: the candidate grid and each grid point's merged score.

    Grid point ``i`` is at ``start + i * step`` seconds. ``scores[i]`` is its relevance (0 = not relevant,
    ``None`` = not scored: the sampler scores nothing, its window failed, or the point could not be
    decoded); ``decoded[i]`` is false for points that could not be decoded (``None``: all decoded).

    A coarse-to-fine strategy (a similarity model ranks every grid point, the best go to GenS) also records
    its coarse ranking: ``coarse_scores[i]`` is point ``i``'s similarity score (``None`` = not ranked) and
    ``passed[i]`` is true for the points passed on to the fine sampler. Both are ``None`` otherwise.
    """

    start: float
    step: float
    scores: tuple[float | None, ...]
    decoded: tuple[bool, ...] | None = None
    coarse_scores: tuple[float | None, ...] | None = None
    passed: tuple[bool, ...] | None = None

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def times(self) -> list[float]:
        """The grid points' times in seconds."""
        return [round(self.start + i * self.step, 6) for i in range(len(self.scores))]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (compact: no per-point times)."""
        data: dict[str, Any] = {"start": round(self.start, 6), "step": self.step, "scores": list(self.scores)}
        if self.decoded is not None:
            data["decoded"] = list(self.decoded)
        if self.coarse_scores is not None:
            data["coarse_scores"] = list(self.coarse_scores)
        if self.passed is not None:
            data["passed"] = list(self.passed)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timeline:
        """The inverse of :meth:`to_dict`."""
        scores = tuple(None if s is None else float(s) for s in data["scores"])
        decoded = data.get("decoded")
        coarse = data.get("coarse_scores")
        passed = data.get("passed")
        return cls(
            start=float(data["start"]),
            step=float(data["step"]),
            scores=scores,
            decoded=None if decoded is None else tuple(bool(d) for d in decoded),
            coarse_scores=None if coarse is None else tuple(None if s is None else float(s) for s in coarse),
            passed=None if passed is None else tuple(bool(p) for p in passed),
        )


@dataclass(slots=True)
class FrameSelection:
    """The result of choosing frames from a video for a question.

    ``frames`` are sorted by time. ``spans`` are the contiguous runs of scored frames the sampler found
    relevant (score > 0), in time order. ``timings`` holds seconds per stage (``decode``, ``score``,
    ``select``, ``total``).
    """

    video: str
    question: str
    frames: list[Frame]
    spans: list[ScoredSpan] = field(default_factory=list)
    sampler: str = "uniform"
    fps: float = 1.0
    duration: float | None = None
    start: float | None = None
    end: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    windows: list[WindowReport] = field(default_factory=list)
    lost_spans: list[tuple[float, float]] = field(default_factory=list)
    n_candidates: int = 0
    k: int | None = None
    timeline: Timeline | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def timestamps(self) -> list[float]:
        """The chosen frames' timestamps in seconds."""
        return [f.timestamp for f in self.frames]

    def span_of(self, frame: Frame) -> ScoredSpan | None:
        """The scored span that holds ``frame``'s time (spans run from ``start`` up to, not including,
        ``end``), or ``None`` when the frame lies in none."""
        t = frame.timestamp
        return next((s for s in self.spans if s.start - 1e-6 <= t < s.end - 1e-9), None)

    def frame_interval(self, frame: Frame) -> tuple[float, float]:
        """The stretch of video ``frame`` stands for, in seconds: from its time to one step of the sampling
        grid (``1 / fps``) later, cut at the end of the video."""
        t = frame.timestamp
        end = t + 1.0 / self.fps
        if self.duration is not None:
            end = min(end, max(self.duration, t))
        return t, end

    def to_dict(self, *, images: ImageMode = "none", jpeg_quality: int = 90) -> dict[str, Any]:
        """JSON-ready form. ``images="base64"`` inlines each frame as base64 JPEG; ``"paths"`` gives the
        ``path`` of frames that were written with :meth:`save`; ``"none"`` leaves images out."""
        frames: list[dict[str, Any]] = []
        for f in self.frames:
            item: dict[str, Any] = {
                "timestamp": round(f.timestamp, 3),
                "label": f.label,
                "score": f.score,
                "index": f.index,
                "origin": f.origin,
            }
            if images == "base64":
                item["image_base64"] = f.to_base64(quality=jpeg_quality)
                item["mime_type"] = JPEG_MIME_TYPE
            elif images == "paths" and f.path is not None:
                item["path"] = str(f.path)
            frames.append(item)
        return {
            "video": self.video,
            "question": self.question,
            "sampler": self.sampler,
            "fps": self.fps,
            "duration": self.duration,
            "start": self.start,
            "end": self.end,
            "n_candidates": self.n_candidates,
            "k": self.k,
            "notices": list(self.notices),
            "frames": frames,
            "spans": [s.to_dict() for s in self.spans],
            "windows": [w.to_dict() for w in self.windows],
            "lost_spans": [[round(a, 3), round(b, 3)] for a, b in self.lost_spans],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "timeline": None if self.timeline is None else self.timeline.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrameSelection:
        """Rebuild a selection from its :meth:`to_dict` form (or that JSON, parsed): the inverse of
        :meth:`to_dict`.

        Frames, spans, window reports, lost spans and timings come back; ``image_base64`` is decoded into a
        PIL image and ``path`` is kept (the image then loads from there when needed). Display-only keys
        (``label``, ``mime_type``, the spans' ``start_label``/``end_label``) are ignored.

        Raises:
            InvalidArgumentError: ``data`` is not the dict form of a selection, or a frame's image cannot
                be read.
        """
        if not _looks_like_selection(data):
            raise InvalidArgumentError(
                "not the JSON form of a FrameSelection (needs video, question and a frames list whose "
                "items have a timestamp)"
            )
        try:
            frames = [_frame_from_dict(item) for item in data["frames"]]
            spans = [ScoredSpan(float(s["start"]), float(s["end"]), float(s["score"])) for s in data.get("spans") or ()]
            windows = [
                WindowReport(
                    index=int(w["index"]),
                    start=float(w["start"]),
                    end=float(w["end"]),
                    n_frames=int(w["n_frames"]),
                    scored=bool(w["scored"]),
                    repaired=bool(w.get("repaired", False)),
                    issues=tuple(str(i) for i in w.get("issues") or ()),
                )
                for w in data.get("windows") or ()
            ]
            lost = [(float(a), float(b)) for a, b in data.get("lost_spans") or ()]
            timings = {str(k): float(v) for k, v in (data.get("timings") or {}).items()}
            return cls(
                video=str(data["video"]),
                question=str(data["question"]),
                frames=frames,
                spans=spans,
                sampler=str(data.get("sampler") or "uniform"),
                fps=float(data.get("fps", 1.0)),
                duration=_optional_float(data.get("duration")),
                start=_optional_float(data.get("start")),
                end=_optional_float(data.get("end")),
                timings=timings,
                windows=windows,
                lost_spans=lost,
                n_candidates=int(data.get("n_candidates") or 0),
                k=None if data.get("k") is None else int(data["k"]),
                timeline=None if data.get("timeline") is None else Timeline.from_dict(data["timeline"]),
                notices=[str(n) for n in data.get("notices") or ()],
            )
        except InvalidArgumentError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgumentError(f"not the JSON form of a FrameSelection: {type(exc).__name__}: {exc}") from None

    def to_json(self, *, images: ImageMode = "none", indent: int | None = 2) -> str:
        """The selection as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(images=images), indent=indent, ensure_ascii=False)

    def to_html(self, *, answer: Any = None, steps: Sequence[Any] | None = None) -> str:
        """The visual report of this selection as one self-contained HTML page (needs the ``report`` extra):
        see :func:`gens_tools.report.render_html`, which also explains ``answer`` and ``steps``."""
        from gens_tools.report import render_html

        return render_html(self, answer=answer, steps=steps)

    def save(self, directory: str | os.PathLike[str], *, jpeg_quality: int = 92, report: bool = False) -> Path:
        """Write each chosen frame as a JPEG file and ``selection.json`` into ``directory``; with
        ``report=True`` also ``report.html``, the visual report (:meth:`to_html`; needs the ``report`` extra).

        Sets each frame's ``path`` and returns the path of ``selection.json``.
        """
        if report:
            from gens_tools.report import require_report_backend

            require_report_backend()  # fail before writing anything
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for n, f in enumerate(self.frames):
            name = f"frame_{n:03d}_{f.label.replace(':', '-')}.jpg"
            target = out / name
            target.write_bytes(f.to_jpeg(quality=jpeg_quality))
            f.path = target
        manifest = out / "selection.json"
        tmp = manifest.with_suffix(".json.tmp")
        tmp.write_text(self.to_json(images="paths"), encoding="utf-8")
        os.replace(tmp, manifest)
        if report:
            from gens_tools.report import save_report

            save_report(out / "report.html", self)
        return manifest


def _looks_like_selection(data: object) -> bool:
    return (
        isinstance(data, Mapping)
        and all(key in data for key in ("video", "question", "frames"))
        and isinstance(data["frames"], list)
        and all(isinstance(f, Mapping) and "timestamp" in f for f in data["frames"])
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _decode_image(data: object) -> Image.Image:
    try:
        return decode_image(base64.b64decode(str(data), validate=True))
    except (binascii.Error, OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise InvalidArgumentError(f"a frame's image_base64 is not a readable image: {exc}") from None


def _frame_from_dict(item: Mapping[str, Any]) -> Frame:
    encoded = item.get("image_base64")
    path = item.get("path")
    score = item.get("score")
    index = item.get("index")
    origin = item.get("origin")
    if origin is not None and origin not in _ORIGINS:
        raise InvalidArgumentError(f"a frame's origin must be one of {', '.join(_ORIGINS)}, got {origin!r}")
    return Frame(
        timestamp=float(item["timestamp"]),
        image=_decode_image(encoded) if encoded else None,
        score=None if score is None else float(score),
        index=None if index is None else int(index),
        path=Path(path) if path else None,
        origin=origin,
    )


def spans_from_scores(timestamps: Sequence[float], scores: Sequence[float | None], step: float) -> list[ScoredSpan]:
    """Group consecutive grid frames with the same positive score into spans (time order).

    ``step`` is the grid interval (1/fps); a span ends ``step`` after its last frame.
    """
    spans: list[ScoredSpan] = []
    run_start: float | None = None
    run_score: float | None = None
    prev_t: float | None = None
    for t, s in zip(timestamps, scores, strict=True):
        positive = s is not None and s > 0
        contiguous = prev_t is not None and abs(t - prev_t - step) <= step * 0.5
        if run_start is not None and (not positive or s != run_score or not contiguous):
            assert prev_t is not None
            assert run_score is not None
            spans.append(ScoredSpan(run_start, prev_t + step, run_score))
            run_start = None
        if positive and run_start is None:
            run_start, run_score = t, s
        prev_t = t
    if run_start is not None and prev_t is not None and run_score is not None:
        spans.append(ScoredSpan(run_start, prev_t + step, run_score))
    return spans
