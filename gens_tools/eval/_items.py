"""One multiple-choice question about one video: :class:`EvalItem`, whatever benchmark it came from.

gens-tools also has a JSON-lines format of its own for items (:func:`write_items` / :func:`read_items`), used
by the synthetic benchmark and by anyone converting another benchmark: one object per line with

- ``id`` (str, unique), ``video`` (path, relative to the file's folder, or URL), ``question`` (str),
- ``options`` (list of option texts, without letters; option ``i`` is letter ``"ABCD…"[i]``),
- ``answer`` (the correct letter, or ``null`` when unknown),
- optional: ``category`` (str), ``duration_bucket`` (str), ``duration`` (seconds), ``relevant_spans``
  (``[[start, end], …]`` seconds where the answer is visible), ``benchmark`` (str) and ``meta`` (an object).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gens_tools._sources import is_url
from gens_tools.errors import InvalidArgumentError

#: Option letters, in order (benchmarks have 2 to 10 options; 26 are accepted).
LETTERS = string.ascii_uppercase

#: The instruction LongVideoBench's own loader appends after the options (and lmms-eval for the three
#: benchmarks): the assistant is asked for the letter alone.
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One multiple-choice question about one video.

    Attributes:
        id: unique within its benchmark.
        video: the video file (or URL) the question is about.
        question: the question, without its options.
        options: the option texts, without letters; option ``i`` has letter ``LETTERS[i]``.
        answer: the correct letter, or ``None`` for test sets that do not publish it.
        category: the benchmark's question category (task type), when it has one.
        duration_bucket: the benchmark's duration group (``"600"``, ``"long"`` …), when it has one.
        duration: the video's length in seconds, when the benchmark states it.
        relevant_spans: ``(start, end)`` seconds where the answer is visible, when annotated.
        benchmark: the benchmark's name.
        meta: other fields kept from the benchmark's record.
    """

    id: str
    video: str
    question: str
    options: tuple[str, ...]
    answer: str | None
    category: str | None = None
    duration_bucket: str | None = None
    duration: float | None = None
    relevant_spans: tuple[tuple[float, float], ...] = ()
    benchmark: str = "custom"
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidArgumentError(f"an item's id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.question, str) or not self.question.strip():
            raise InvalidArgumentError(f"item {self.id}: the question is empty")
        if not isinstance(self.video, str) or not self.video:
            raise InvalidArgumentError(f"item {self.id}: no video")
        if len(self.options) < 2 or len(self.options) > len(LETTERS):
            raise InvalidArgumentError(f"item {self.id}: needs 2 to {len(LETTERS)} options, got {len(self.options)}")
        if any(not isinstance(o, str) for o in self.options):
            raise InvalidArgumentError(f"item {self.id}: every option must be text")
        if self.answer is not None and self.answer not in self.letters:
            raise InvalidArgumentError(
                f"item {self.id}: answer {self.answer!r} is not one of the option letters {''.join(self.letters)}"
            )
        for span in self.relevant_spans:
            a, b = span
            if not (math.isfinite(a) and math.isfinite(b) and 0 <= a < b):
                raise InvalidArgumentError(f"item {self.id}: relevant span {span!r} is not a [start, end) in seconds")

    @property
    def letters(self) -> tuple[str, ...]:
        """The option letters: ``("A", "B", …)``."""
        return tuple(LETTERS[: len(self.options)])

    def prompt(self, *, instruction: str = ANSWER_INSTRUCTION) -> str:
        """The text sent to the assistant: the question, the lettered options and the answer instruction
        (the layout of LongVideoBench's loader: ``Question: …`` then ``A. …`` lines)."""
        lines = [f"Question: {self.question.strip()}"]
        lines += [f"{letter}. {option}" for letter, option in zip(self.letters, self.options, strict=True)]
        if instruction:
            lines.append(instruction)
        return "\n".join(lines)

    def to_dict(self, *, relative_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The item in gens-tools' JSON-lines form (``video`` made relative to ``relative_to`` when inside it)."""
        video = self.video
        if relative_to is not None and not is_url(video):
            with contextlib.suppress(ValueError):
                video = Path(video).resolve().relative_to(Path(relative_to).resolve()).as_posix()
        data: dict[str, Any] = {
            "id": self.id,
            "video": video,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "category": self.category,
            "duration_bucket": self.duration_bucket,
            "duration": self.duration,
            "relevant_spans": [[a, b] for a, b in self.relevant_spans],
            "benchmark": self.benchmark,
        }
        if self.meta:
            data["meta"] = dict(self.meta)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: str | os.PathLike[str] | None = None) -> EvalItem:
        """An item from its JSON-lines form; a relative ``video`` is taken relative to ``base``.

        Raises:
            InvalidArgumentError: a field is missing or malformed.
        """
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(f"an item must be a JSON object, got {type(data).__name__}")
        missing = [k for k in ("id", "video", "question", "options") if k not in data]
        if missing:
            raise InvalidArgumentError(f"item {data.get('id', '?')}: missing field(s) {', '.join(missing)}")
        options = data["options"]
        if not isinstance(options, list):
            raise InvalidArgumentError(f"item {data['id']}: options must be a list")
        spans = data.get("relevant_spans") or []
        try:
            relevant = tuple((float(a), float(b)) for a, b in spans)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"item {data['id']}: relevant_spans must be [[start, end], …]") from None
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise InvalidArgumentError(f"item {data['id']}: meta must be an object")
        duration = data.get("duration")
        return cls(
            id=str(data["id"]),
            video=resolve_video(str(data["video"]), base),
            question=str(data["question"]),
            options=tuple(str(o) for o in options),
            answer=None if data.get("answer") is None else str(data["answer"]).strip().upper(),
            category=_optional_str(data.get("category")),
            duration_bucket=_optional_str(data.get("duration_bucket")),
            duration=None if duration is None else float(duration),
            relevant_spans=relevant,
            benchmark=str(data.get("benchmark") or "custom"),
            meta=dict(meta),
        )


def _optional_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def resolve_video(video: str, base: str | os.PathLike[str] | None) -> str:
    """``video`` joined to ``base`` when it is a relative local path (URLs and absolute paths unchanged)."""
    if base is None or is_url(video) or os.path.isabs(video):
        return video
    return os.path.join(os.fspath(base), video)


def write_items(items: Iterable[EvalItem], path: str | os.PathLike[str]) -> Path:
    """Write ``items`` as gens-tools' JSON lines (videos relative to the file's folder where possible)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item.to_dict(relative_to=out.parent), ensure_ascii=False) + "\n")
    return out


def read_items(path: str | os.PathLike[str], *, video_root: str | os.PathLike[str] | None = None) -> list[EvalItem]:
    """Read gens-tools' JSON lines of items (see the module docstring for the fields); relative videos are
    taken relative to ``video_root`` (default: the file's folder).

    Raises:
        InvalidArgumentError: a line is not JSON or not a valid item (the message names the line).
    """
    source = Path(path)
    items: list[EvalItem] = []
    with source.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise InvalidArgumentError(f"{source}:{n}: not JSON: {exc}") from None
            try:
                items.append(EvalItem.from_dict(data, base=source.parent if video_root is None else video_root))
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"{source}:{n}: {exc}") from None
    check_unique_ids(items, str(source))
    return items


def check_unique_ids(items: Sequence[EvalItem], where: str) -> None:
    """Raise :class:`InvalidArgumentError` when two items share an id."""
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InvalidArgumentError(f"{where}: two items have the id {item.id!r}")
        seen.add(item.id)
