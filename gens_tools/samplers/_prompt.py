"""The GenS prompt: frame labels, the question and the instruction the model was trained on."""

from __future__ import annotations

from gens_tools.errors import InvalidArgumentError

#: The instruction GenS was trained with, byte-exact (line breaks, trailing spaces and 14-space indents).
GENS_INSTRUCTION = (
    "Please identify the video frames most relevant to the given question and provide \n"
    "              their timestamps in seconds along with a relevance score. The score should be on a \n"
    "              scale from 1 to 5, where higher scores indicate greater relevance. Return the output \n"
    '              strictly in the following JSON format: {"timestamp": score, ...}.'
)

#: The image placeholder of the generic prompt; backends replace it with their own image tokens.
IMAGE_PLACEHOLDER = "<image>"

#: Longest question accepted (characters); GenS was trained on short questions and windows are tight.
MAX_QUESTION_CHARS = 4000


def validate_question(question: object) -> str:
    """Return the question stripped, or raise :class:`InvalidArgumentError` if it is not usable."""
    if not isinstance(question, str):
        raise InvalidArgumentError(f"question must be a string, got {type(question).__name__}")
    text = question.strip()
    if not text:
        raise InvalidArgumentError("question is empty: ask what the frames should show")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidArgumentError(f"question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return text


def frame_label(i: int) -> str:
    """The label GenS reads before frame ``i`` of a window: ``[i]``."""
    return f"[{i}]"


def build_prompt_text(
    n_frames: int,
    question: str,
    *,
    image_token: str = IMAGE_PLACEHOLDER,
    instruction: str = GENS_INSTRUCTION,
) -> str:
    """The user message of one window: ``[i]<image>`` per frame (one per line), ``Question: …``, then the
    instruction. ``image_token`` is what stands for each image (``<image>`` in the generic form)."""
    if n_frames <= 0:
        raise InvalidArgumentError("a window needs at least one frame")
    lines = [f"{frame_label(i)}{image_token}" for i in range(n_frames)]
    lines.append(f"Question: {validate_question(question)}")
    return "\n".join(lines) + "\n" + instruction


def split_prompt(n_frames: int, question: str, *, instruction: str = GENS_INSTRUCTION) -> list[str]:
    """The prompt text split around the images: ``len == n_frames + 1``; piece ``i`` precedes image ``i``
    and the last piece follows the last image. Useful for APIs that interleave text and image parts."""
    if n_frames <= 0:
        raise InvalidArgumentError("a window needs at least one frame")
    pieces = [frame_label(0)]
    pieces += [f"\n{frame_label(i)}" for i in range(1, n_frames)]
    pieces.append(f"\nQuestion: {validate_question(question)}\n{instruction}")
    return pieces
