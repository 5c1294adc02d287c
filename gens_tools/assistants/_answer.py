"""What an assistant hands back: the :class:`Answer` with the timestamps it cites, the frames it was shown and
the provider's token counts (:class:`TokenUsage`, read by each provider into a :class:`Reply`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gens_tools._chat import Reply, TokenUsage
from gens_tools.assistants._citations import match_citations
from gens_tools.frames import Frame, FrameSelection, format_timestamp

__all__ = ["Answer", "Reply", "TokenUsage"]


@dataclass(slots=True)
class Answer:
    """An assistant's answer about a video, with what it was based on.

    Attributes:
        question: the question asked.
        text: the answer.
        citations: the timestamps (seconds) the answer cites, in order of first appearance.
        frames: the frames sent, in time order (their ``score`` is the sampler's).
        model, provider: who answered (``model`` as the provider reported it, when it did).
        usage: the provider's token counts.
        estimate: the planner's figures (:meth:`FramePlan.to_dict`): estimated tokens, bytes, image settings…
        images: per frame sent: label, size, image settings, estimated tokens, bytes.
        timings: seconds per stage (``plan``, ``request``, ``total``; plus the sampling stages when the
            answer came through :class:`~gens_tools.qa.VideoQA`).
        finish_reason: the provider's finish reason.
        response_id: the provider's id for the response.
        attempts: requests made (2 when the first was too long and the frames were shrunk).
        video, sampler: where the frames came from.
        selection: the :class:`~gens_tools.FrameSelection` the frames were planned from (its ``notices`` say
            when GenS did not choose them); not part of :meth:`to_dict`.
    """

    question: str
    text: str
    citations: list[float]
    frames: list[Frame]
    model: str
    provider: str
    usage: TokenUsage = field(default_factory=TokenUsage)
    estimate: dict[str, Any] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    finish_reason: str | None = None
    response_id: str | None = None
    attempts: int = 1
    video: str | None = None
    sampler: str | None = None
    selection: FrameSelection | None = field(default=None, repr=False, compare=False)

    @property
    def notices(self) -> list[str]:
        """What the selection had to say (a fallback to uniform sampling, say); empty when nothing."""
        return list(self.selection.notices) if self.selection is not None else []

    @property
    def cited_labels(self) -> list[str]:
        """The cited timestamps as ``hh:mm:ss`` (tenths when cited with a fraction)."""
        return [format_timestamp(t, decimals=1 if t % 1 else 0) for t in self.citations]

    @property
    def cited_frames(self) -> list[Frame]:
        """The frames sent that the answer cites (within one second), in time order."""
        return match_citations(self.citations, self.frames)[0]

    @property
    def unmatched_citations(self) -> list[float]:
        """Cited times that match no frame sent (worth a second look)."""
        return match_citations(self.citations, self.frames)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no image data)."""
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [round(t, 3) for t in self.citations],
            "cited_labels": self.cited_labels,
            "cited_frames": [round(f.timestamp, 3) for f in self.cited_frames],
            "unmatched_citations": [round(t, 3) for t in self.unmatched_citations],
            "model": self.model,
            "provider": self.provider,
            "video": self.video,
            "sampler": self.sampler,
            "frames": [{"timestamp": round(f.timestamp, 3), "label": f.label, "score": f.score} for f in self.frames],
            "images": list(self.images),
            "usage": self.usage.to_dict(),
            "estimate": dict(self.estimate),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "finish_reason": self.finish_reason,
            "response_id": self.response_id,
            "attempts": self.attempts,
            "notices": self.notices,
        }
