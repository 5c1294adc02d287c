"""The frame cache: an edited manifest is never served (it carries its own checksum), and the partial entry of
a writer that died is removed by the next run, not hours later."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gens_tools.pipeline import sample_frames
from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.video import FrameCache


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("cache") / "clip.mp4", duration=20.0, fps=5.0, size=(96, 54))


def _entries(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if re.fullmatch(r"[0-9a-f]{32}-\w+", p.name)]


def _sample(clip: Path, cache: FrameCache) -> list[float]:
    """Sample with a sampler that needs pictures (so the whole grid goes through the cache); every frame must
    show its own time."""
    from tests_sampler import LaterIsBetter  # type: ignore[import-not-found]

    selection = sample_frames(clip, "What is shown?", sampler=LaterIsBetter(), k=4, fps=1.0, cache=cache)
    for frame in selection.frames:
        assert abs(read_time_code(frame.require_image()) - frame.timestamp) < 0.3
    return selection.timestamps


@pytest.fixture(autouse=True)
def _sampler_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "tests_sampler.py").write_text(
        textwrap.dedent(
            """
            from typing import ClassVar
            from gens_tools import FrameSampler, Window, WindowScores

            class LaterIsBetter(FrameSampler):
                name: ClassVar[str] = "later"
                needs_images = True

                def score_window(self, window: Window, question: str) -> WindowScores:
                    return WindowScores(window.index, [1.0 + f.timestamp / 10 for f in window.frames])
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("edit", ["timestamp", "grid length", "lost span"])
def test_an_edited_manifest_is_not_served(clip: Path, tmp_path: Path, edit: str) -> None:
    cache = FrameCache(tmp_path / "frames")
    first = _sample(clip, cache)
    (entry,) = _entries(cache.root)
    manifest = entry / "manifest.json"
    data = json.loads(manifest.read_text())
    if edit == "timestamp":
        data["frames"][3]["timestamp"] = data["frames"][3]["timestamp"] + 1  # one digit
    elif edit == "grid length":
        data["n_targets"] += 1
    else:
        data["lost_spans"] = [[2.0, 3.0]]
    manifest.write_text(json.dumps(data))
    assert cache.lookup(entry.name) is None  # refused and removed
    assert _sample(clip, cache) == first  # decoded again, right times


def test_a_killed_writer_leaves_nothing_after_the_next_run(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "frames"
    # A process that starts writing an entry and is killed (kill -9) half way through.
    script = textwrap.dedent(
        f"""
        import os, signal
        from gens_tools.video import FrameCache, open_video, sampling_grid
        cache = FrameCache({str(root)!r})
        reader = open_video({str(clip)!r})
        grid = sampling_grid(reader.info, 1.0)
        key = cache.key({str(clip)!r}, fps=1.0, max_side=None, start=None, end=None)
        for n, frame in enumerate(cache.frames(reader, grid, key=key)):
            if n == 10:
                os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    assert left, "the killed writer left its partial entry (the situation this test is about)"
    cache = FrameCache(root)
    _sample(clip, cache)  # the next run
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_live_writer_is_left_alone(clip: Path, tmp_path: Path) -> None:
    from gens_tools.video import open_video, sampling_grid

    cache = FrameCache(tmp_path / "frames")
    reader = open_video(clip)
    grid = sampling_grid(reader.info, 1.0)
    key = cache.key(str(clip), fps=1.0, max_side=None, start=None, end=None)
    writing = cache.frames(reader, grid, key=key)
    next(writing)  # a writer in the middle of its entry
    other = FrameCache(tmp_path / "frames")
    other.evict()
    list(other.frames(open_video(clip), grid, key=other.key(str(clip), fps=2.0, max_side=None, start=None, end=None)))
    assert [p for p in cache.root.iterdir() if p.name.startswith(".tmp-")], "a live writer's folder was removed"
    assert len(list(writing)) == len(grid) - 1  # it finishes and commits
    assert cache.lookup(key) is not None
    reader.close()
    assert os.path.isdir(cache.root / key)
