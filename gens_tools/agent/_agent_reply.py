"""What the video agent asks the assistant for at each step, and how its reply is read.

Each step the assistant answers with a confidence and, when unsure, says what to look at next: a sub-question,
a time range, or both (:class:`AgentReply`). The reply's shape is :data:`AGENT_REPLY_SCHEMA`, sent as structured
output where the provider has it; :func:`parse_agent_reply` reads it either way — strict JSON, JSON inside a
code fence or surrounded by prose, percentages and words for the confidence, times as seconds or ``mm:ss`` —
and says in ``notes`` what it had to guess.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gens_tools._timeparse import parse_time
from gens_tools.assistants._structured import ResponseSchema
from gens_tools.errors import InvalidArgumentError

__all__ = [
    "AGENT_REPLY_SCHEMA",
    "AgentReply",
    "LookNext",
    "parse_agent_reply",
]

_NULLABLE_NUMBER = {"anyOf": [{"type": "number"}, {"type": "null"}]}

#: The reply every step asks for: ``answer``, ``confidence`` (0–1) and ``look_next`` (``null``, or a
#: sub-question and/or a time range in seconds). Valid as an OpenAI strict ``json_schema`` and as Gemini's
#: ``response_json_schema``.
AGENT_REPLY_SCHEMA = ResponseSchema(
    "video_agent_step",
    {
        "type": "object",
        "properties": {
            "answer": {
                "type": "string",
                "description": "Your best answer to the question so far, citing frame timestamps as [hh:mm:ss].",
            },
            "confidence": {
                "type": "number",
                "description": "How sure you are that the answer is right, from 0 (a guess) to 1 (certain).",
            },
            "look_next": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {
                            "question": {
                                "type": "string",
                                "description": "What to look for next (empty: the original question).",
                            },
                            "start": {**_NULLABLE_NUMBER, "description": "Start of the range to look at, seconds."},
                            "end": {**_NULLABLE_NUMBER, "description": "End of the range to look at, seconds."},
                        },
                        "required": ["question", "start", "end"],
                        "additionalProperties": False,
                    },
                    {"type": "null"},
                ],
                "description": "What to look at more closely when unsure; null when the answer is certain.",
            },
        },
        "required": ["answer", "confidence", "look_next"],
        "additionalProperties": False,
    },
)

_CONFIDENCE_WORDS = {"very high": 0.95, "high": 0.85, "medium": 0.6, "moderate": 0.6, "low": 0.3, "very low": 0.1}
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_CONFIDENCE_TEXT = re.compile(
    r"confidence\W{0,4}\s*([0-9]*\.?[0-9]+\s*%?|very high|very low|high|medium|moderate|low)", re.I
)

#: How the reply was read: ``"json"`` (a JSON object as asked), ``"lenient"`` (JSON found inside other text, or
#: fields that needed guessing) or ``"text"`` (no JSON object at all: the whole text is the answer).
ReplyFormat = Literal["json", "lenient", "text"]


@dataclass(frozen=True, slots=True)
class LookNext:
    """What the assistant wants to look at next: a sub-question and/or a range (seconds; ``None`` = open)."""

    question: str | None = None
    start: float | None = None
    end: float | None = None

    @property
    def empty(self) -> bool:
        """Neither a question nor a range."""
        return not self.question and self.start is None and self.end is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"question": self.question, "start": self.start, "end": self.end}


@dataclass(slots=True)
class AgentReply:
    """One step's reply, as read.

    Attributes:
        answer: the answer text (the whole reply when it held no JSON).
        confidence: 0–1, or ``None`` when the reply gave none that could be read.
        look_next: what to look at next, or ``None``.
        format: how the reply was read (:data:`ReplyFormat`).
        notes: what had to be guessed or was dropped (a bad time, a confidence of 85 read as 0.85…).
    """

    answer: str
    confidence: float | None
    look_next: LookNext | None
    format: ReplyFormat = "json"
    notes: list[str] = field(default_factory=list)


def _json_object(text: str) -> tuple[dict[str, Any] | None, bool]:
    """The reply's JSON object and whether it was the whole reply (``(None, False)`` when there is none)."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        pass
    else:
        return (value, True) if isinstance(value, dict) else (None, False)
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value, False
    return None, False


def _confidence(value: object, notes: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        notes.append(f"confidence {value!r} is not a number; taken as unknown")
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _CONFIDENCE_WORDS:
            notes.append(f"confidence {value!r} read as {_CONFIDENCE_WORDS[word]:g}")
            return _CONFIDENCE_WORDS[word]
        percent = word.endswith("%")
        try:
            number = float(word.rstrip("%").strip())
        except ValueError:
            notes.append(f"confidence {value!r} could not be read; taken as unknown")
            return None
        if percent:
            number /= 100.0
        value = number
    if not isinstance(value, int | float) or not math.isfinite(value):
        notes.append(f"confidence {value!r} could not be read; taken as unknown")
        return None
    number = float(value)
    if 1.0 < number <= 100.0:
        notes.append(f"confidence {number:g} read as a percentage ({number / 100:g})")
        number /= 100.0
    if not 0.0 <= number <= 1.0:
        notes.append(f"confidence {number:g} is outside 0-1; taken as unknown")
        return None
    return number


def _time(value: object, name: str, notes: list[str]) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        notes.append(f"look_next.{name} {value!r} is not a time; ignored")
        return None
    try:
        return parse_time(value)
    except InvalidArgumentError:
        notes.append(f"look_next.{name} {value!r} is not a time; ignored")
        return None


def _look_next(value: object, notes: list[str]) -> LookNext | None:
    if value is None or value is False or value == "":
        return None
    if isinstance(value, str):
        return LookNext(question=value.strip() or None)
    if isinstance(value, Sequence) and len(value) == 2:
        # A bare range, e.g. [45, 60].
        return LookNext(start=_time(value[0], "start", notes), end=_time(value[1], "end", notes))
    if not isinstance(value, Mapping):
        notes.append(f"look_next {value!r} could not be read; ignored")
        return None
    question = value.get("question")
    if question is not None and not isinstance(question, str):
        notes.append(f"look_next.question {question!r} is not text; ignored")
        question = None
    start = _time(value.get("start"), "start", notes)
    end = _time(value.get("end"), "end", notes)
    found = LookNext(question=question.strip() or None if isinstance(question, str) else None, start=start, end=end)
    return None if found.empty else found


def parse_agent_reply(text: str) -> AgentReply:
    """Read a step's reply (see :data:`AGENT_REPLY_SCHEMA`), whatever shape it came in.

    A JSON object is looked for in the whole reply, then in code fences, then between the first ``{`` and the
    last ``}``. Without one, the whole text is the answer and a ``confidence: 0.7`` written in it is still
    read. A confidence may be a number (0–1, or 0–100 read as a percentage), a percentage text or a word
    (``high``…); ``look_next`` may be an object, a question text or a ``[start, end]`` pair; times are seconds
    or ``[hh:]mm:ss``. What could not be read is dropped and noted.
    """
    notes: list[str] = []
    data, whole = _json_object(text)
    if data is None:
        m = _CONFIDENCE_TEXT.search(text)
        confidence = _confidence(m.group(1), notes) if m else None
        notes.insert(0, "the reply was not JSON: its text is taken as the answer")
        return AgentReply(answer=text.strip(), confidence=confidence, look_next=None, format="text", notes=notes)
    answer = data.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        notes.append("the reply has no answer text")
        answer = "" if answer is None else str(answer)
    look = data.get("look_next", data.get("next"))
    if look is None and any(k in data for k in ("look_next_question", "look_next_start", "look_next_end")):
        look = {
            "question": data.get("look_next_question"),
            "start": data.get("look_next_start"),
            "end": data.get("look_next_end"),
        }
    confidence = _confidence(data.get("confidence"), notes)
    if "confidence" not in data:
        notes.append("the reply gives no confidence")
    look_next = _look_next(look, notes)
    lenient = not whole or bool(notes)
    return AgentReply(
        answer=answer.strip(),
        confidence=confidence,
        look_next=look_next,
        format="lenient" if lenient else "json",
        notes=notes,
    )
