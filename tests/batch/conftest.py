"""Generated videos and a manifest over them (with a few rows that cannot run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gens_tools.synthetic import make_test_video


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    for i, seconds in enumerate((30.0, 45.0, 60.0)):
        make_test_video(folder / f"clip{i}.mp4", duration=seconds, fps=4.0, size=(160, 90))
    return folder


def write_manifest(folder: Path, rows: list[object], name: str = "manifest.jsonl") -> Path:
    path = folder / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def manifest(clips: Path, tmp_path: Path) -> Path:
    """12 good rows (relative and absolute video paths, per-row k, range and options) and 3 bad ones."""
    rows: list[object] = []
    for i in range(12):
        row: dict[str, object] = {"id": f"r{i}", "video": str(clips / f"clip{i % 3}.mp4"), "question": f"q{i}?"}
        if i % 4 == 1:
            row["k"] = 3
        if i % 4 == 2:
            row["options"] = {"fps": 2.0}
        if i % 4 == 3:
            row.update(start=5.0, end=20.0, meta={"source": "test"})
        rows.append(row)
    rows += [
        {"id": "bad-option", "video": str(clips / "clip0.mp4"), "question": "q", "options": {"fpz": 2}},
        {"id": "missing-video", "video": "nowhere.mp4", "question": "q"},
        "{not json",
    ]
    return write_manifest(tmp_path, rows)
