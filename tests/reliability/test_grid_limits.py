"""A claimed duration never sizes memory: the grid's length is checked before it is built, the policy's cap is
applied before any grid exists, and a tail the data does not hold is not sampled."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from gens_tools import AccessPolicy
from gens_tools.errors import TimeRangeError, VideoError
from gens_tools.pipeline import sample_frames
from gens_tools.video import VideoInfo, sampling_grid
from gens_tools.video._base import MAX_GRID_POINTS


def info(duration: float) -> VideoInfo:
    return VideoInfo(source="x.mkv", duration=duration, fps=30.0, width=64, height=36, codec="h264")


@pytest.mark.parametrize("duration", [1e9, 1e12, 1e300])
def test_a_huge_grid_is_refused_before_it_is_built(duration: float) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(TimeRangeError, match="narrow it"):
        sampling_grid(info(duration), 1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 1.0
    assert peak < 1_000_000


def test_the_largest_grid_still_works() -> None:
    assert len(sampling_grid(info(MAX_GRID_POINTS - 0.5), 1.0)) == MAX_GRID_POINTS


def test_a_lying_duration_is_capped_by_the_policy_before_any_grid(tmp_path: Path) -> None:
    import struct

    from gens_tools.synthetic import make_test_video

    clip = make_test_video(tmp_path / "lie.mkv", duration=10.0, fps=5.0, size=(96, 54))
    data = bytearray(clip.read_bytes())
    at = data.find(b"\x44\x89\x88")
    data[at + 3 : at + 11] = struct.pack(">d", 1e12)  # claims 1e9 s
    clip.write_bytes(bytes(data))
    policy = AccessPolicy.allow([tmp_path], max_duration=600)
    tracemalloc.start()
    t0 = time.perf_counter()
    selection = sample_frames(clip, "What is shown?", sampler="uniform", k=4, policy=policy, cache=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 30
    assert peak < 50_000_000  # the adversarial pass saw 5.9 GB
    assert len(selection.frames) == 4
    assert all(f.timestamp < 10.0 for f in selection.frames)
    assert any("data ends at 10.0s" in n for n in selection.notices)
    # Asking for a range past the data is a clear error, not an empty success.
    with pytest.raises(VideoError, match="nothing from 100s to 200s can be decoded"):
        sample_frames(clip, "q", sampler="uniform", k=4, start=100, end=200, policy=policy, cache=False)
