"""The message every provider sends: a short system instruction, then for each frame in time order its
timestamp label ``[00:12:31]`` and the image, then the question.

Providers only translate these parts into their SDK's request (:func:`message_parts`); the planner prices the
labels with :func:`label_tokens` and writes them with :func:`frame_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gens_tools.frames import format_timestamp

if TYPE_CHECKING:
    from gens_tools.assistants._plan import FramePlan, PlannedImage

SYSTEM_INSTRUCTION = (
    "You answer questions about a video from frames taken from it. The frames are in time order and each "
    "one follows its timestamp, written as [hh:mm:ss]. Answer from what the frames show, and cite the "
    "timestamps of the frames you relied on in the same [hh:mm:ss] form. If the frames do not show the "
    "answer, say so."
)
"""The system instruction sent with every request."""


def frame_labels(timestamps: Sequence[float]) -> list[str]:
    """``hh:mm:ss`` labels; with tenths when whole seconds would make two labels equal."""
    whole = [format_timestamp(t, decimals=0) for t in timestamps]
    if len(set(whole)) == len(whole):
        return whole
    return [format_timestamp(t, decimals=1) for t in timestamps]


def label_text(label: str) -> str:
    """The text part placed before a frame: ``[00:12:31]``."""
    return f"[{label}]"


def label_tokens(label: str) -> int:
    """A safe token count for a frame's label text (digit-and-colon labels take about one token per character
    pair or worse; one per character is safe)."""
    return len(label_text(label))


def question_text(question: str) -> str:
    """The text that closes the user message."""
    return f"Question: {question}"


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text piece of the user message."""

    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image piece of the user message."""

    image: PlannedImage


def message_parts(plan: FramePlan, question: str) -> list[TextPart | ImagePart]:
    """The user message: ``[label]`` then image for each frame in time order, then the question."""
    parts: list[TextPart | ImagePart] = []
    for image in sorted(plan.images, key=lambda im: im.timestamp):
        parts.append(TextPart(label_text(image.label)))
        parts.append(ImagePart(image))
    parts.append(TextPart(question_text(question)))
    return parts
