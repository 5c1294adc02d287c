"""An append-only JSON-lines results file that a run can resume: each record is written and flushed as soon as
it is done, so an interrupted run loses at most the record being written, and the next run skips the rest."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, TextIO

Record = dict[str, Any]


def _repair_tail(path: Path) -> None:
    """Cut a last line that was only partly written (no final newline), so appending starts a new line."""
    with path.open("rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # Walk back to the last newline (files are read in blocks so a long last line costs no more).
        pos, block = size, 65536
        while pos > 0:
            start = max(0, pos - block)
            f.seek(start)
            chunk = f.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                f.truncate(start + cut + 1)
                return
            pos = start
        f.truncate(0)


def read_records(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Every complete record of a results file, in file order (lines that are not JSON objects are skipped)."""
    source = Path(path)
    if not source.exists():
        return
    with source.open(encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n") or not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


class ResultLog:
    """Records appended to ``path`` as JSON lines; :attr:`done` holds the last record of every key already
    in the file (the key of a record is ``key(record)``).

    Opening it repairs a last line left half-written by an interrupted run. Use it as a context manager.
    """

    def __init__(self, path: str | os.PathLike[str], key: Callable[[Record], Hashable]) -> None:
        self.path = Path(path)
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _repair_tail(self.path)
        self.done: dict[Hashable, Record] = {}
        for record in read_records(self.path):
            try:
                self.done[key(record)] = record
            except (KeyError, TypeError):
                continue
        self._file: TextIO | None = self.path.open("a", encoding="utf-8")

    def append(self, record: Record) -> None:
        """Write ``record`` as one line and flush it to the file."""
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()
        self.done[self.key(record)] = record

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
