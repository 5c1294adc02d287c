"""What a :class:`~gens_tools.agent.VideoAgent` run leaves behind: its budget (:class:`AgentBudget`), one
:class:`AgentStep` per look (question asked, range, frames seen with times and scores, tokens, seconds, the
assistant's answer and confidence, what it asked to see next) and the :class:`AgentResult`.

Every class has ``to_dict()`` (JSON-ready, no image data), for ``gens-tools ask --agent --json`` and for
reports; the steps also keep the :class:`~gens_tools.FrameSelection` and :class:`~gens_tools.Answer` behind
them (``selection``, ``answer``) for code that wants the images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gens_tools._checks import optional_positive_int, positive_int
from gens_tools.agent._agent_reply import LookNext, ReplyFormat
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import FrameOrigin, format_timestamp

if TYPE_CHECKING:
    from gens_tools.assistants import Answer
    from gens_tools.frames import FrameSelection

__all__ = ["AgentBudget", "AgentResult", "AgentStep", "SeenFrame", "StopReason"]

#: Why the agent stopped: confident enough; a budget ran out (``"steps"``, ``"frames"``, ``"tokens"``,
#: ``"seconds"``); the assistant named nothing usable to look at next (``"no_next_step"``); or it asked for
#: what was already looked at as finely as the agent can (``"repeated"``).
StopReason = Literal["confident", "steps", "frames", "tokens", "seconds", "no_next_step", "repeated"]


def _optional_positive_float(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def range_words(start: float | None, end: float | None) -> str:
    """A range in words: ``45.0-60.0s``, ``45.0s to the end``, ``the whole video``."""
    if start is None and end is None:
        return "the whole video"
    return f"{start or 0.0:.1f}-{end:.1f}s" if end is not None else f"{start:.1f}s to the end"


@dataclass(frozen=True, slots=True)
class AgentBudget:
    """How far a :class:`~gens_tools.agent.VideoAgent` may go before it answers with what it has.

    A step is started only while every limit leaves room for it: fewer than ``max_steps`` steps taken,
    frames left to send, and the tokens and seconds spent so far plus those of the last step still within
    ``max_tokens`` and ``max_seconds``.

    Attributes:
        max_steps: most looks (assistant requests), the first included.
        max_frames: most frames sent to the assistant over all steps (``None``: no limit).
        max_tokens: most tokens (input + output, as the provider reports them) over all steps.
        max_seconds: most wall-clock seconds for the whole run.
    """

    max_steps: int = 3
    max_frames: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        positive_int("max_steps", self.max_steps)
        optional_positive_int("max_frames", self.max_frames)
        optional_positive_int("max_tokens", self.max_tokens)
        object.__setattr__(self, "max_seconds", _optional_positive_float("max_seconds", self.max_seconds))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "max_steps": self.max_steps,
            "max_frames": self.max_frames,
            "max_tokens": self.max_tokens,
            "max_seconds": self.max_seconds,
        }


@dataclass(frozen=True, slots=True)
class SeenFrame:
    """A frame of a step: its time, the sampler's score, why it was chosen, whether the assistant was sent it
    (the planner may leave some out to fit the model's limits) and whether it was carried over from an
    earlier step (a frame an earlier answer cited)."""

    timestamp: float
    score: float | None
    origin: FrameOrigin | None
    sent: bool
    carried: bool = False

    @property
    def label(self) -> str:
        """The time as ``hh:mm:ss.s``."""
        return format_timestamp(self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "timestamp": round(self.timestamp, 3),
            "label": self.label,
            "score": self.score,
            "origin": self.origin,
            "sent": self.sent,
            "carried": self.carried,
        }


@dataclass(slots=True)
class AgentStep:
    """One look at the video: what was sampled, what the assistant saw and said.

    Attributes:
        index: 1 for the first step.
        question: what the frames were chosen for (the user's question, or the assistant's sub-question).
        start, end: the range sampled, in seconds (``None``: the video's start or end).
        fps: the candidate grid of this step (finer when zooming into a short range).
        frames: the frames of the step, in time order (:class:`SeenFrame`).
        answer: the assistant's answer at this step.
        confidence: its confidence (0–1), ``None`` when it gave none that could be read.
        look_next: what it asked to look at next (as it said it).
        reply_format: how its reply was read (``json``, ``lenient``, ``text``).
        cited: the timestamps its answer cites, in seconds.
        input_tokens, output_tokens: the provider's counts (``None`` when not reported).
        estimated_input_tokens: the planner's estimate of the request.
        seconds: wall-clock seconds of the step; ``timings`` splits them (``sample``, ``answer``).
        notes: what the agent had to decide (a range clamped, a reply that needed guessing…).
        selection, answer_detail: the :class:`~gens_tools.FrameSelection` sampled and the assistant's
            :class:`~gens_tools.Answer` (not in :meth:`to_dict`).
    """

    index: int
    question: str
    start: float | None
    end: float | None
    fps: float
    frames: list[SeenFrame]
    answer: str
    confidence: float | None
    look_next: LookNext | None
    reply_format: ReplyFormat
    cited: list[float]
    input_tokens: int | None
    output_tokens: int | None
    estimated_input_tokens: int | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    selection: FrameSelection | None = field(default=None, repr=False, compare=False)
    answer_detail: Answer | None = field(default=None, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        """Tokens this step used: the provider's input + output counts (the estimate when it reported none)."""
        used = (self.input_tokens or 0) + (self.output_tokens or 0)
        return used if used else (self.estimated_input_tokens or 0)

    @property
    def frames_sent(self) -> int:
        """How many frames the assistant was sent."""
        return sum(1 for f in self.frames if f.sent)

    def range_text(self) -> str:
        """The range in words: ``45.0-60.0s``, ``45.0s to the end`` or ``the whole video``."""
        return range_words(self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no images)."""
        return {
            "index": self.index,
            "question": self.question,
            "start": self.start,
            "end": self.end,
            "fps": self.fps,
            "frames": [f.to_dict() for f in self.frames],
            "answer": self.answer,
            "confidence": self.confidence,
            "look_next": None if self.look_next is None else self.look_next.to_dict(),
            "reply_format": self.reply_format,
            "cited": [round(t, 3) for t in self.cited],
            "tokens": {
                "input": self.input_tokens,
                "output": self.output_tokens,
                "estimated_input": self.estimated_input_tokens,
                "total": self.tokens,
            },
            "seconds": round(self.seconds, 4),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class AgentResult:
    """What a :class:`~gens_tools.agent.VideoAgent` run returns.

    Attributes:
        question: the user's question.
        video: the video (as opened).
        answer: the final answer (the last step's).
        confidence: its confidence (``None`` when unknown).
        confident: whether it reached the agent's ``min_confidence``.
        stopped: why the run ended (:data:`StopReason`).
        stop_message: the same in a sentence, e.g. ``"not confident (0.4 < 0.8) after 3 steps: the step budget
            (3) is spent"``.
        cited: the timestamps the final answer cites, in seconds.
        steps: every step, in order.
        budget: the budget the run had.
        min_confidence: the confidence the agent asked for.
        seconds: wall-clock seconds of the whole run.
        model, provider, sampler: who answered and who chose the frames.
    """

    question: str
    video: str
    answer: str
    confidence: float | None
    confident: bool
    stopped: StopReason
    stop_message: str
    cited: list[float]
    steps: list[AgentStep]
    budget: AgentBudget
    min_confidence: float
    seconds: float
    model: str | None = None
    provider: str | None = None
    sampler: str | None = None

    @property
    def cited_labels(self) -> list[str]:
        """The cited timestamps as ``hh:mm:ss`` (tenths when cited with a fraction)."""
        return [format_timestamp(t, decimals=1 if t % 1 else 0) for t in self.cited]

    @property
    def citations(self) -> list[float]:
        """The timestamps the final answer cites (as :attr:`gens_tools.Answer.citations`), in seconds."""
        return list(self.cited)

    @property
    def timings(self) -> dict[str, float]:
        """Seconds of the whole run (as :attr:`gens_tools.Answer.timings`)."""
        return {"total": self.seconds}

    @property
    def tokens(self) -> int:
        """Tokens used over all steps."""
        return sum(step.tokens for step in self.steps)

    @property
    def frames_sent(self) -> int:
        """Frames sent to the assistant over all steps."""
        return sum(step.frames_sent for step in self.steps)

    @property
    def text(self) -> str:
        """The answer, then (when the run ended unsure) why it stopped: what an agent or a user reads."""
        if self.confident:
            return self.answer
        return f"{self.answer}\n(Not confident: {self.stop_message}.)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the answer, why it stopped, and the trace of every step (no images)."""
        return {
            "question": self.question,
            "video": self.video,
            "answer": self.answer,
            "confidence": self.confidence,
            "confident": self.confident,
            "min_confidence": self.min_confidence,
            "stopped": self.stopped,
            "stop_message": self.stop_message,
            "cited": [round(t, 3) for t in self.cited],
            "cited_labels": self.cited_labels,
            "model": self.model,
            "provider": self.provider,
            "sampler": self.sampler,
            "budget": self.budget.to_dict(),
            "tokens": self.tokens,
            "frames_sent": self.frames_sent,
            "seconds": round(self.seconds, 4),
            "steps": [step.to_dict() for step in self.steps],
        }
