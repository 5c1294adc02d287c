"""LongVideoBench (Wu et al., 2024) in its published form: ``lvb_val.json`` / ``lvb_test_wo_gt.json`` (a JSON
list) or the Hugging Face split files ``validation-00000-of-00001.parquet`` / ``test-…parquet`` (same fields).

Fields read from each record:

- ``id`` → :attr:`EvalItem.id`
- ``video_path`` → the video, relative to ``videos/`` beside the annotation file (the official layout;
  ``video_root`` overrides it)
- ``question`` → the question (the full one, with its referring query)
- ``candidates`` → the options (option ``i`` is letter ``A + i``; LongVideoBench has 4 or 5)
- ``correct_choice`` → the answer, a 0-based index into ``candidates`` (absent in the test file: no answer)
- ``question_category`` → the category (``S2E``, ``T3O`` …)
- ``duration_group`` → the duration bucket (``15``, ``60``, ``600``, ``3600`` seconds)
- ``duration`` → the duration in seconds
- kept in ``meta``: ``video_id``, ``topic_category``, ``level``

Not read: ``subtitle_path``, ``starting_timestamp_for_subtitles`` (gens-tools sends frames only, like the
paper's GPT-4o rows), ``question_wo_referring_query``, ``view_count``, and ``position`` (its unit is not
documented, so it is not taken as an annotated relevant span: LongVideoBench items have none).
"""

from __future__ import annotations

import os
from pathlib import Path

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval._items import EvalItem, check_unique_ids, resolve_video
from gens_tools.eval._records import field, load_records

_META = ("video_id", "topic_category", "level")


def read_longvideobench(
    path: str | os.PathLike[str], *, video_root: str | os.PathLike[str] | None = None
) -> list[EvalItem]:
    """The questions of a LongVideoBench annotation file (see the module docstring for the fields read).

    Args:
        path: ``lvb_val.json``, ``lvb_test_wo_gt.json`` or a split's ``.parquet``.
        video_root: the folder ``video_path`` is relative to (default: ``videos/`` beside ``path``).
    """
    source = Path(path)
    root = Path(video_root) if video_root is not None else source.parent / "videos"
    items: list[EvalItem] = []
    for n, record in enumerate(load_records(source), start=1):
        where = f"{source.name} record {n}"
        candidates = field(record, "candidates", where)
        if not isinstance(candidates, list):
            raise InvalidArgumentError(f"{where}: candidates must be a list")
        choice = record.get("correct_choice")
        answer = None
        if choice is not None:
            if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(candidates):
                raise InvalidArgumentError(f"{where}: correct_choice {choice!r} is not an index into candidates")
            answer = chr(ord("A") + choice)
        group = record.get("duration_group")
        duration = record.get("duration")
        items.append(
            EvalItem(
                id=str(field(record, "id", where)),
                video=resolve_video(str(field(record, "video_path", where)), root),
                question=str(field(record, "question", where)),
                options=tuple(str(c) for c in candidates),
                answer=answer,
                category=None if record.get("question_category") is None else str(record["question_category"]),
                duration_bucket=None if group is None else str(group),
                duration=None if duration is None else float(duration),
                benchmark="longvideobench",
                meta={k: record[k] for k in _META if record.get(k) is not None},
            )
        )
    check_unique_ids(items, str(source))
    return items
