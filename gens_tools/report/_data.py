"""What a report shows, gathered from a selection, an optional answer and optional agent steps.

The answer is read by attribute (any object shaped like :class:`gens_tools.assistants.Answer`), and agent steps
are taken as :class:`ReportStep` objects, mappings or objects with the same field names, so producers of those
need not import anything from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection, Timeline, format_timestamp

#: How close (seconds) a cited time must be to a chosen frame to count as citing it.
CITE_TOLERANCE = 1.0


@dataclass(frozen=True, slots=True)
class ReportStep:
    """One step of a multi-step agent, as the report shows it.

    The agent passes a sequence of these (or of mappings, or of objects, with the same field names) as
    ``steps=`` to :func:`~gens_tools.report.render_html` and friends.

    Attributes:
        question: what the step asked (e.g. the question of a frame-sampling tool call).
        start, end: the time range the step looked at, in seconds (``None``: the start / the end of the video).
        frames: the frames the step saw, with their timestamps and scores: :class:`~gens_tools.Frame` objects
            (shown as small thumbnails when they carry images), mappings with ``timestamp`` and optional
            ``score``, or plain numbers (seconds).
        tokens: tokens the step spent (an int, or a mapping of counts such as ``input_tokens`` and
            ``output_tokens``, which are added up; ``total_tokens`` wins when present).
        seconds: how long the step took.
        action: what kind of step it was, e.g. ``"sample_frames"`` or ``"answer"`` (optional).
        note: a short free text shown with the step, e.g. the tool's result or the model's reason (optional).
    """

    question: str
    start: float | None = None
    end: float | None = None
    frames: tuple[Frame, ...] = ()
    tokens: int | None = None
    seconds: float | None = None
    action: str | None = None
    note: str | None = None

    @property
    def range_label(self) -> str:
        """The time range as ``hh:mm:ss–hh:mm:ss`` (``start``/``end`` where open)."""
        a = "start" if self.start is None else format_timestamp(self.start, decimals=0)
        b = "end" if self.end is None else format_timestamp(self.end, decimals=0)
        return f"{a}–{b}"


def as_step(value: object) -> ReportStep:
    """``value`` (a :class:`ReportStep`, a mapping, or an object with the same field names) as a step.

    Raises:
        InvalidArgumentError: the value has no ``question`` or a field of the wrong kind.
    """
    if isinstance(value, ReportStep):
        return value

    def get(name: str) -> Any:
        if isinstance(value, Mapping):
            return value.get(name)
        return getattr(value, name, None)

    question = get("question")
    if not isinstance(question, str):
        raise InvalidArgumentError(f"an agent step needs a question (str), got {type(value).__name__} without one")
    try:
        return ReportStep(
            question=question,
            start=_optional_seconds("start", get("start")),
            end=_optional_seconds("end", get("end")),
            frames=tuple(_step_frame(f) for f in (get("frames") or ())),
            tokens=_tokens(get("tokens")),
            seconds=_optional_seconds("seconds", get("seconds")),
            action=None if get("action") is None else str(get("action")),
            note=None if get("note") is None else str(get("note")),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"agent step {question[:60]!r}: {exc}") from None


def _optional_seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"an agent step's {name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _step_frame(value: object) -> Frame:
    if isinstance(value, Frame):
        return value
    if isinstance(value, Mapping):
        t = _optional_seconds("frame timestamp", value.get("timestamp"))
        if t is None:
            raise InvalidArgumentError("an agent step's frame needs a timestamp")
        score = value.get("score")
        return Frame(timestamp=t, score=None if score is None else float(score))
    stamp = getattr(value, "timestamp", None)
    if stamp is not None:  # a frame-like object (an agent's SeenFrame): its time and score
        t = _optional_seconds("frame timestamp", stamp)
        assert t is not None
        score = getattr(value, "score", None)
        return Frame(timestamp=t, score=None if score is None else float(score))
    t = _optional_seconds("frame timestamp", value)
    assert t is not None
    return Frame(timestamp=t)


def _tokens(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        if isinstance(value.get("total_tokens"), int):
            return int(value["total_tokens"])
        counts = [v for k, v in value.items() if k in ("input_tokens", "output_tokens") and isinstance(v, int)]
        return sum(counts) if counts else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"an agent step's tokens must be an integer >= 0, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class AnswerView:
    """The parts of an assistant's answer that a report shows."""

    text: str
    citations: tuple[float, ...]
    cited_times: tuple[float, ...]
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    n_frames_sent: int | None
    seconds: float | None = None


def as_answer(answer: object) -> AnswerView:
    """Read what the report needs from an :class:`~gens_tools.assistants.Answer` (or an object like it).

    Raises:
        InvalidArgumentError: the object has no ``text``.
    """
    text = getattr(answer, "text", None)
    if not isinstance(text, str):
        raise InvalidArgumentError(f"answer must be an Answer (with a text), got {type(answer).__name__}")
    citations = tuple(float(t) for t in getattr(answer, "citations", None) or ())
    cited = getattr(answer, "cited_frames", None)
    cited_times = tuple(f.timestamp for f in cited) if cited is not None else citations
    usage = getattr(answer, "usage", None)
    frames = getattr(answer, "frames", None)
    return AnswerView(
        text=text,
        citations=citations,
        cited_times=cited_times,
        model=_optional_str(getattr(answer, "model", None)),
        provider=_optional_str(getattr(answer, "provider", None)),
        input_tokens=_optional_int(getattr(usage, "input_tokens", None)),
        output_tokens=_optional_int(getattr(usage, "output_tokens", None)),
        n_frames_sent=None if frames is None else len(frames),
        seconds=_answer_seconds(getattr(answer, "timings", None)),
    )


def _answer_seconds(timings: object) -> float | None:
    """The assistant's own time: ``answer_total`` (an answer from :class:`~gens_tools.VideoQA`), else ``total``."""
    if not isinstance(timings, Mapping):
        return None
    value = timings.get("answer_total", timings.get("total"))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(slots=True)
class ReportData:
    """Everything one report shows, checked and derived once for both the HTML page and the PNG."""

    selection: FrameSelection
    frames: list[Frame]
    answer: AnswerView | None = None
    steps: list[ReportStep] = field(default_factory=list)
    cited: set[int] = field(default_factory=set)
    """Positions in :attr:`frames` of the frames the answer cites."""

    @property
    def timeline(self) -> Timeline | None:
        """The selection's per-grid-point scores, when it has them."""
        return self.selection.timeline

    @property
    def extent(self) -> tuple[float, float]:
        """The time axis of the timeline: the whole video (``0`` to its duration) when known."""
        sel = self.selection
        ends: list[float] = [f.timestamp + 1.0 / sel.fps for f in self.frames]
        if sel.duration is not None and sel.duration > 0:
            return 0.0, float(sel.duration)
        tl = sel.timeline
        if tl is not None and len(tl):
            ends.append(tl.start + len(tl) * tl.step)
        ends += [s.end for s in sel.spans] + [w.end for w in sel.windows] + [b for _, b in sel.lost_spans]
        if sel.end is not None:
            ends.append(sel.end)
        return 0.0, max([*ends, 1.0])

    @property
    def strategy(self) -> str:
        """How the frames were chosen, in a few words."""
        sel = self.selection
        named = getattr(sel, "strategy", None)  # set by strategies that name themselves
        if isinstance(named, str) and named:
            return named
        tl = sel.timeline
        if sel.sampler.startswith("hybrid") or (tl is not None and tl.coarse_scores is not None):
            return "hybrid: a coarse ranking of every frame, the best scored by the sampler"
        if self.frames and all(f.origin == "all" for f in self.frames):
            return "every candidate (no more than K)"
        if sel.sampler == "uniform":
            return "evenly spaced (nothing scored)"
        if sel.windows:
            return "windows"
        return "—"

    @property
    def origins(self) -> list[str]:
        """Each frame's origin (``scored``/``fill``/``all``), guessed from its score where not recorded."""
        return [f.origin or ("scored" if (f.score or 0) > 0 else "fill") for f in self.frames]


def gather(selection: object, answer: object = None, steps: Iterable[object] | None = None) -> ReportData:
    """Check the inputs and gather what a report shows.

    Raises:
        InvalidArgumentError: ``selection`` is not a :class:`~gens_tools.FrameSelection`, ``answer`` is not an
            answer, a step is malformed, or the timeline's coarse ranking does not match its grid.
    """
    if not isinstance(selection, FrameSelection):
        raise InvalidArgumentError(f"a report needs a FrameSelection, got {type(selection).__name__}")
    if isinstance(steps, str | bytes | Mapping):
        raise InvalidArgumentError("steps must be a sequence of agent steps")
    tl = selection.timeline
    if tl is not None:
        for name in ("decoded", "coarse_scores", "passed"):
            values: Sequence[object] | None = getattr(tl, name)
            if values is not None and len(values) != len(tl.scores):
                raise InvalidArgumentError(
                    f"the timeline's {name} has {len(values)} entries for {len(tl.scores)} grid points"
                )
    frames = sorted(selection.frames, key=lambda f: f.timestamp)
    view = None if answer is None else as_answer(answer)
    cited: set[int] = set()
    if view is not None:
        for t in view.cited_times:
            best = nearest_frame(frames, t)
            if best is not None:
                cited.add(best)
    return ReportData(
        selection=selection,
        frames=frames,
        answer=view,
        steps=[as_step(s) for s in steps or ()],
        cited=cited,
    )


def card_id(n: int) -> str:
    """The HTML id of the ``n``-th chosen frame's thumbnail (timeline markers and citations link to it)."""
    return f"frame-{n}"


def nearest_frame(frames: Sequence[Frame], t: float) -> int | None:
    """The position of the frame nearest to ``t`` seconds, if one lies within :data:`CITE_TOLERANCE`."""
    best = min(range(len(frames)), key=lambda i: abs(frames[i].timestamp - t), default=None)
    if best is None or abs(frames[best].timestamp - t) > CITE_TOLERANCE:
        return None
    return best


def merge_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(start, end)`` spans with the touching and overlapping ones joined, in time order."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1e-6:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def runs(values: Sequence[Any]) -> list[tuple[int, int, Any]]:
    """Maximal runs of equal consecutive values as ``(first, last + 1, value)``."""
    out: list[tuple[int, int, Any]] = []
    i = 0
    n = len(values)
    while i < n:
        j = i + 1
        while j < n and values[j] == values[i]:
            j += 1
        out.append((i, j, values[i]))
        i = j
    return out
