"""Reading a benchmark's annotation file into plain records: a JSON list, JSON lines or Parquet."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError


def load_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of an annotation file: ``.json`` (a list of objects), ``.jsonl`` (one object a line) or
    ``.parquet`` (read with pyarrow, the ``eval`` extra).

    Raises:
        InvalidArgumentError: the file is missing, of another type, or not a list of objects.
        BackendUnavailableError: a Parquet file without pyarrow installed.
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidArgumentError(f"annotation file not found: {source}")
    suffix = source.suffix.lower()
    if suffix == ".parquet":
        records = _read_parquet(source)
    elif suffix == ".jsonl":
        records = []
        with source.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError as exc:
                        raise InvalidArgumentError(f"{source}:{n}: not JSON: {exc}") from None
    elif suffix == ".json":
        try:
            records = json.loads(source.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InvalidArgumentError(f"{source}: not JSON: {exc}") from None
    else:
        raise InvalidArgumentError(f"{source}: expected a .json, .jsonl or .parquet annotation file")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidArgumentError(f"{source}: expected a list of JSON objects (one per question)")
    return records


def _read_parquet(source: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise BackendUnavailableError(f"reading {source.name} needs pyarrow: pip install 'gens-tools[eval]'") from exc
    rows: list[dict[str, Any]] = pq.read_table(source).to_pylist()
    return rows


def field(record: dict[str, Any], name: str, where: str) -> Any:
    """``record[name]``, or a clear error naming the record."""
    try:
        return record[name]
    except KeyError:
        raise InvalidArgumentError(f"{where}: the record has no {name!r} field") from None
