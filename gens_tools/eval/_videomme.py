"""Video-MME (Fu et al., 2024) in its published form: ``videomme/test-00000-of-00001.parquet`` from the
Hugging Face release (or the same records exported as ``.json`` / ``.jsonl``), with the videos unpacked into
``data/`` beside the ``videomme`` folder.

Fields read from each record:

- ``question_id`` → :attr:`EvalItem.id` (``001-1`` …)
- ``videoID`` → the video, ``<videoID>.mp4`` in ``data/`` (``video_root`` overrides the folder)
- ``question`` → the question
- ``options`` → the options, published with their letters (``"A. …"``); the letter prefix is removed
- ``answer`` → the correct letter
- ``task_type`` → the category (``Temporal Reasoning``, ``Counting Problem`` …)
- ``duration`` → the duration bucket (``short``, ``medium``, ``long``)
- kept in ``meta``: ``video_id``, ``domain``, ``sub_category``

Not read: ``url``. Video-MME publishes no relevant spans and no per-video duration in seconds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval._items import EvalItem, check_unique_ids
from gens_tools.eval._records import field, load_records

_LETTERED = re.compile(r"^\s*\(?([A-Z])[.):]\s*")
_META = ("video_id", "domain", "sub_category")


def read_videomme(path: str | os.PathLike[str], *, video_root: str | os.PathLike[str] | None = None) -> list[EvalItem]:
    """The questions of Video-MME (see the module docstring for the fields read).

    Args:
        path: ``videomme/test-00000-of-00001.parquet`` (or a ``.json`` / ``.jsonl`` export of its records).
        video_root: the folder holding ``<videoID>.mp4`` (default: ``data/`` beside the ``videomme`` folder).
    """
    source = Path(path)
    root = Path(video_root) if video_root is not None else source.parent.parent / "data"
    items: list[EvalItem] = []
    for n, record in enumerate(load_records(source), start=1):
        where = f"{source.name} record {n}"
        raw = field(record, "options", where)
        if not isinstance(raw, list):
            raise InvalidArgumentError(f"{where}: options must be a list")
        options = []
        for i, text in enumerate(raw):
            m = _LETTERED.match(str(text))
            if m and m.group(1) == chr(ord("A") + i):
                options.append(str(text)[m.end() :])
            else:
                options.append(str(text).strip())
        answer = record.get("answer")
        duration = record.get("duration")
        category = record.get("task_type")
        items.append(
            EvalItem(
                id=str(field(record, "question_id", where)),
                video=str(root / f"{field(record, 'videoID', where)}.mp4"),
                question=str(field(record, "question", where)),
                options=tuple(options),
                answer=None if answer in (None, "") else str(answer).strip().upper(),
                category=None if category is None else str(category),
                duration_bucket=None if duration is None else str(duration),
                benchmark="videomme",
                meta={k: record[k] for k in _META if record.get(k) is not None},
            )
        )
    check_unique_ids(items, str(source))
    return items
