"""MLVU (Zhou et al., 2024) in its published form: the dev set's per-task files ``MLVU/json/1_plotQA.json`` …
``7_topic_reasoning.json`` (each a JSON list), with the videos in ``MLVU/video/<task file stem>/``.

Fields read from each record:

- ``video`` → the video file name, in ``video/<stem of the task file>/`` (``1_plotQA`` …) beside the ``json``
  folder (``video_root`` overrides the ``video`` folder; file names repeat across tasks, so the task folder
  is always part of the path)
- ``question`` → the question
- ``candidates`` → the options (option ``i`` is letter ``A + i``)
- ``answer`` → the correct option's *text*, looked up in ``candidates`` (a miss is an error, never a guess)
- ``question_type`` → the category (``plotQA``, ``needle``, ``ego``, ``count``, ``order`` …)
- ``duration`` → the duration in seconds, and the duration bucket computed from it (:func:`duration_bucket`:
  MLVU publishes no buckets of its own)

The item id is ``<task file stem>/<position in the file>`` (MLVU records carry no id). The generation tasks
(``8_sub_scene``, ``9_summary``) have no ``candidates`` and are skipped when a folder is read. MLVU publishes no
relevant spans.
"""

from __future__ import annotations

import os
from pathlib import Path

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval._items import EvalItem, check_unique_ids
from gens_tools.eval._records import field, load_records

#: Upper edges (seconds, exclusive) of the duration buckets given to benchmarks that publish none.
BUCKET_EDGES: tuple[tuple[float, str], ...] = (
    (180.0, "<3min"),
    (600.0, "3-10min"),
    (1800.0, "10-30min"),
    (3600.0, "30-60min"),
)


def duration_bucket(seconds: float | None) -> str | None:
    """The bucket of a duration: ``<3min``, ``3-10min``, ``10-30min``, ``30-60min`` or ``>60min``."""
    if seconds is None:
        return None
    for edge, name in BUCKET_EDGES:
        if seconds < edge:
            return name
    return ">60min"


def read_mlvu(path: str | os.PathLike[str], *, video_root: str | os.PathLike[str] | None = None) -> list[EvalItem]:
    """The multiple-choice questions of MLVU (see the module docstring for the fields read).

    Args:
        path: one task file (``MLVU/json/2_needle.json``) or the ``json`` folder (every multiple-choice task).
        video_root: the folder holding one sub-folder of videos per task (default: ``video/`` beside the
            ``json`` folder).
    """
    source = Path(path)
    if source.is_dir():
        files = sorted(p for p in source.glob("*.json") if p.is_file())
        if not files:
            raise InvalidArgumentError(f"{source}: no MLVU task files (*.json) in this folder")
        json_dir = source
    else:
        files = [source]
        json_dir = source.parent
    root = Path(video_root) if video_root is not None else json_dir.parent / "video"
    items: list[EvalItem] = []
    for task_file in files:
        records = load_records(task_file)
        if source.is_dir() and records and "candidates" not in records[0]:
            continue  # a generation task (sub-scene captioning, summary): not multiple choice
        items += _task_items(task_file, records, root)
    check_unique_ids(items, str(source))
    return items


def _task_items(task_file: Path, records: list[dict[str, object]], root: Path) -> list[EvalItem]:
    stem = task_file.stem
    out: list[EvalItem] = []
    for n, record in enumerate(records):
        where = f"{task_file.name} record {n + 1}"
        candidates = field(record, "candidates", where)
        if not isinstance(candidates, list):
            raise InvalidArgumentError(f"{where}: candidates must be a list")
        options = tuple(str(c) for c in candidates)
        answer_text = str(field(record, "answer", where))
        if answer_text not in options:
            raise InvalidArgumentError(f"{where}: the answer {answer_text!r} is not one of the candidates")
        raw_duration = record.get("duration")
        duration = None if raw_duration is None else float(str(raw_duration))
        category = record.get("question_type")
        out.append(
            EvalItem(
                id=f"{stem}/{n}",
                video=str(root / stem / str(field(record, "video", where))),
                question=str(field(record, "question", where)),
                options=options,
                answer=chr(ord("A") + options.index(answer_text)),
                category=None if category is None else str(category),
                duration_bucket=duration_bucket(duration),
                duration=duration,
                benchmark="mlvu",
                meta={"task": stem},
            )
        )
    return out
