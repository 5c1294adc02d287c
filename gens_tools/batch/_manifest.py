"""The batch manifest: JSON lines, one question about one video per line.

Keys of a row:

- ``video`` (required): a file, a folder of frames or an http(s) URL; a relative path is taken relative to
  the manifest's folder (on a cluster, every worker must see that path: shared storage or URLs).
- ``question`` (required): what the frames should help answer.
- ``id``: the row's id in the results (default: its line number); ids must be unique.
- ``k``: frames to choose (default: the run's ``k``).
- ``start``, ``end``: a time range in seconds.
- ``options``: sampling options for this row (:class:`~gens_tools.SamplingOptions` fields such as ``fps``,
  ``max_side``, ``min_gap``), over the run's own.
- ``meta``: anything, copied to the row's result untouched.

A row that breaks these rules (bad JSON, a missing key, an unknown key or sampling option, a duplicate id)
becomes an error record of its own; the other rows still run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gens_tools._sources import is_url
from gens_tools.errors import GensToolsError, InvalidArgumentError
from gens_tools.options import SamplingOptions

ROW_KEYS = ("id", "video", "question", "k", "start", "end", "options", "meta")


@dataclass(frozen=True, slots=True)
class Row:
    """One valid manifest row (see the module docstring); ``options`` are already checked."""

    id: str
    video: str
    question: str
    k: int | None = None
    start: float | None = None
    end: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    meta: Any = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class BadRow:
    """A manifest line that cannot run, with why."""

    id: str
    error: str
    line: int = 0


def _number(row: Mapping[str, Any], name: str) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def parse_row(data: Any, line: int, base: Path, defaults: SamplingOptions | None = None) -> Row:
    """A :class:`Row` from one parsed manifest line.

    Raises:
        InvalidArgumentError: the row breaks the manifest rules (the message says how).
    """
    if not isinstance(data, dict):
        raise InvalidArgumentError("a row must be a JSON object")
    unknown = sorted(set(data) - set(ROW_KEYS))
    if unknown:
        raise InvalidArgumentError(f"unknown key(s) {', '.join(unknown)}; a row may have: {', '.join(ROW_KEYS)}")
    for name in ("video", "question"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise InvalidArgumentError(f"{name} must be a non-empty string")
    k = data.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
        raise InvalidArgumentError(f"k must be a positive integer, got {k!r}")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise InvalidArgumentError("options must be an object of sampling options")
    try:
        SamplingOptions.build(defaults, **options)
    except TypeError as exc:
        raise InvalidArgumentError(str(exc)) from None
    video = data["video"].strip()
    if not is_url(video) and not os.path.isabs(video):
        video = str(base / video)
    return Row(
        id=str(data.get("id", line)),
        video=video,
        question=data["question"],
        k=k,
        start=_number(data, "start"),
        end=_number(data, "end"),
        options=dict(options),
        meta=data.get("meta"),
        line=line,
    )


def read_manifest(path: str | os.PathLike[str], defaults: SamplingOptions | None = None) -> Iterator[Row | BadRow]:
    """The manifest's rows in order, read lazily: a :class:`Row` per valid line, a :class:`BadRow` per line
    that cannot run (blank lines are skipped).

    Raises:
        InvalidArgumentError: the manifest file does not exist.
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidArgumentError(f"manifest not found: {source}")
    seen: set[str] = set()
    with source.open(encoding="utf-8") as f:
        for n, text in enumerate(f, start=1):
            if not text.strip():
                continue
            row_id = str(n)
            try:
                data = json.loads(text)
            except ValueError as exc:
                yield BadRow(row_id, f"line {n} is not JSON: {exc}", n)
                continue
            if isinstance(data, dict) and "id" in data:
                row_id = str(data["id"])
            try:
                row = parse_row(data, n, source.parent, defaults)
            except GensToolsError as exc:
                yield BadRow(row_id, f"line {n}: {exc}", n)
                continue
            if row.id in seen:
                # Keyed apart from the first row with that id, whose result must not be overwritten.
                yield BadRow(f"{row.id}@line{n}", f"line {n}: duplicate id {row.id!r}", n)
                continue
            seen.add(row.id)
            yield row


def count_rows(path: str | os.PathLike[str]) -> int:
    """The number of non-blank lines of a manifest (for progress)."""
    with Path(path).open(encoding="utf-8") as f:
        return sum(1 for text in f if text.strip())
