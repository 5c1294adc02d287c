"""Decoding less and decoding in parallel never changes which frame comes back for a time.

``skip_frames`` lets the decoder drop non-reference frames that are on screen at no requested time, and
long requests are cut into segments decoded by several workers. Every check reads the time painted in the
returned picture and compares it with the frame that really is on screen at the requested time, and with the
frames a plain full decode returns.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.video import _pyav
from gens_tools.video._base import sampling_grid
from gens_tools.video._pyav import PyAVReader

from .conftest import Clip, _clip, check_frame, on_screen


def _read(reader: PyAVReader, targets: list[float], max_side: int | None = None) -> list[tuple[int, float, float]]:
    """(target position, reported time, painted time) of every frame, in the order they came."""
    return [(f.index, f.timestamp, read_time_code(f.image)) for f in reader.iter_frames(targets, max_side=max_side)]


def _edges(times: tuple[float, ...]) -> list[float]:
    """Targets on, just before and just after every frame start: an off-by-one frame shows here."""
    out: list[float] = []
    for t in times[1:]:
        out += [t - 0.002, t, t + 0.002]
    return out


def _no_decode_threads_left() -> bool:
    return not any(t.name.startswith("gens-tools-decode") for t in threading.enumerate())


@pytest.fixture
def segmented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut requests into short segments (the clips are small: by default they would fit one segment)."""
    monkeypatch.setattr(_pyav, "_MIN_SEGMENT_TARGETS", 4)
    monkeypatch.setattr(_pyav, "_WORKER_BUFFER_BYTES", 160 * 90 * 4 * 6)  # 6 pictures of 160x90 per segment


# --- skipping --------------------------------------------------------------------------------------------


def test_skipping_returns_exactly_the_frames_of_a_full_decode_with_b_frames(h264_clip: Clip) -> None:
    targets = _edges(h264_clip.times)
    skipping = PyAVReader(h264_clip.path, skip_frames=True)
    full = PyAVReader(h264_clip.path, skip_frames=False)
    got = _read(skipping, targets)
    assert got == _read(full, targets)
    for index, timestamp, painted in got:
        expected = on_screen(h264_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)


def test_skipping_decodes_fewer_frames_on_a_one_fps_grid(h264_clip: Clip) -> None:
    skipping = PyAVReader(h264_clip.path, skip_frames=True, seek_threshold=math.inf)
    full = PyAVReader(h264_clip.path, skip_frames=False, seek_threshold=math.inf)
    grid = sampling_grid(skipping.info, 1.0)
    frames = list(skipping.iter_frames(grid))
    assert [round(f.timestamp, 3) for f in frames] == [round(on_screen(h264_clip.times, t), 3) for t in grid]
    assert len(list(full.iter_frames(grid))) == len(grid)
    # B-frames without B-pyramid references are skipped: a third to a half of this clip's 180 frames.
    assert skipping.stats.decoded < 0.75 * full.stats.decoded


@pytest.mark.parametrize("name", ["vp9.webm", "h264.mkv", "h264.mov", "mpeg4.avi", "noB.mp4", "hevc.mp4"])
def test_skipping_agrees_with_a_full_decode_on_other_codecs(container_clips: dict[str, Clip], name: str) -> None:
    clip = container_clips[name]
    targets = _edges(clip.times)
    got = _read(PyAVReader(clip.path, skip_frames=True), targets)
    assert got == _read(PyAVReader(clip.path, skip_frames=False), targets)
    assert sorted(i for i, _, _ in got) == list(range(len(targets)))


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_skipping_with_a_variable_frame_rate(vfr_clips: dict[str, Clip], ext: str) -> None:
    clip = vfr_clips[ext]
    targets = [x / 20 for x in range(round(clip.duration * 20))]
    reader = PyAVReader(clip.path, skip_frames=True)
    for frame in reader.iter_frames(targets):
        assert frame.index is not None
        check_frame(frame, clip.times, targets[frame.index])


# --- parallel segments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("skip", [True, False])
def test_parallel_segments_return_the_frames_of_one_sequential_pass(
    long_clip: Clip, segmented: None, skip: bool
) -> None:
    targets = [t / 2 for t in range(2 * 30)]  # twice a second: segments of 6 targets, from keyframes 3 s apart
    parallel = PyAVReader(long_clip.path, threads=2, skip_frames=skip)
    got = _read(parallel, targets)
    assert parallel.stats.workers == 2
    assert parallel.stats.segments == 10
    assert [i for i, _, _ in got] == list(range(len(targets)))  # in time order across the workers
    sequential = PyAVReader(long_clip.path, threads=2, skip_frames=skip, seek_threshold=math.inf)
    assert _read(sequential, targets) == got
    assert sequential.stats.workers == 1
    # Segments start at keyframes: each worker seeks to its segment's first frame, none is decoded twice
    # (but for the few a worker reads past its last target before it knows it is done).
    assert parallel.stats.seeks == 9
    assert parallel.stats.decoded <= sequential.stats.decoded + 4 * 10
    for index, timestamp, painted in got:
        expected = on_screen(long_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)


def test_parallel_pass_with_shrinking_and_repeated_targets(long_clip: Clip, segmented: None) -> None:
    targets = sorted([t / 2 for t in range(60)] + [3.0, 3.0, 17.25, 29.99])
    reader = PyAVReader(long_clip.path, threads=2)
    frames = list(reader.iter_frames(targets, max_side=64))
    assert reader.stats.workers == 2
    assert len(frames) == len(targets)
    for frame in frames:
        assert frame.image is not None
        assert frame.image.size == (64, 36)
        assert frame.index is not None
        check_frame(frame, long_clip.times, targets[frame.index])


def test_stopping_a_parallel_pass_early_ends_its_threads(long_clip: Clip, segmented: None) -> None:
    reader = PyAVReader(long_clip.path, threads=2)
    frames = reader.iter_frames([t / 2 for t in range(60)])
    check_frame(next(frames), long_clip.times, 0.0)
    assert reader.stats.workers == 2
    frames.close()  # type: ignore[attr-defined]
    assert _no_decode_threads_left()
    # Closing the reader in the middle of a pass ends that pass quietly.
    unfinished = reader.iter_frames([t / 2 for t in range(60)])
    next(unfinished)
    reader.close()
    assert list(unfinished) == []
    assert _no_decode_threads_left()


def test_an_error_in_a_worker_reaches_the_caller(
    long_clip: Clip, segmented: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = PyAVReader(long_clip.path, threads=2)
    real = PyAVReader._picture

    def fail_late(self: PyAVReader, frame: object, max_side: int | None) -> object:
        if float((frame.pts - self._start_pts) * self._time_base) > 20:  # type: ignore[attr-defined]
            raise RuntimeError("converter broke")
        return real(self, frame, max_side)  # type: ignore[arg-type]

    monkeypatch.setattr(PyAVReader, "_picture", fail_late)
    got: list[float] = []

    def read_all() -> None:
        for frame in reader.iter_frames([t / 2 for t in range(60)]):
            got.append(frame.timestamp)

    with pytest.raises(RuntimeError, match="converter broke"):
        read_all()
    assert got == [t / 2 for t in range(41)]  # every frame before the failure, in order
    assert _no_decode_threads_left()


def test_a_cut_off_file_in_parallel_gives_what_a_sequential_pass_gives(
    video_dir: Path, long_clip: Clip, segmented: None
) -> None:
    cut = video_dir / "cut_parallel.mp4"
    cut.write_bytes(long_clip.path.read_bytes()[: int(long_clip.path.stat().st_size * 0.6)])
    targets = [t / 2 for t in range(60)]
    parallel = PyAVReader(cut, threads=2)
    got = _read(parallel, targets)
    sequential = PyAVReader(cut, threads=2, seek_threshold=math.inf)
    assert got == _read(sequential, targets)
    assert parallel.lost_spans == sequential.lost_spans
    assert parallel.lost_spans
    assert parallel.lost_spans[-1][1] == pytest.approx(30.0, abs=0.2)


# --- keyframes far apart ---------------------------------------------------------------------------------


def test_no_seek_back_to_a_keyframe_behind_the_decoder(video_dir: Path) -> None:
    # One keyframe for the whole video: every seek would land at 0 and decode everything again.
    clip = _clip(video_dir, "one_keyframe.mp4", duration=30.0, fps=10.0, gop=1000, size=(160, 90))
    reader = PyAVReader(clip.path, seek_threshold=2.0, skip_frames=False)
    targets = [1.0, 8.0, 15.0, 22.0, 29.0]
    for frame in reader.iter_frames(targets):
        assert frame.index is not None
        check_frame(frame, clip.times, targets[frame.index])
    assert reader.stats.seeks == 0
    assert reader.stats.decoded <= 300  # each frame decoded once at most


def test_sparse_targets_still_seek_when_keyframes_are_close(long_clip: Clip) -> None:
    reader = PyAVReader(long_clip.path, seek_threshold=2.0)
    targets = [1.0, 8.0, 15.0, 22.0, 29.0]
    for frame in reader.iter_frames(targets):
        assert frame.index is not None
        check_frame(frame, long_clip.times, targets[frame.index])
    assert reader.stats.seeks >= 3


def test_skip_frames_must_be_a_bool(h264_clip: Clip) -> None:
    from gens_tools.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="skip_frames"):
        PyAVReader(h264_clip.path, skip_frames="yes")  # type: ignore[arg-type]


def test_generated_b_frame_clip_really_reorders(video_dir: Path) -> None:
    # The skip tests mean something only if the clip's decoding order differs from its display order.
    import av

    path = make_test_video(video_dir / "reorder_check.mp4", duration=1.0, fps=30.0)
    with av.open(str(path)) as container:
        pts = [p.pts for p in container.demux(video=0) if p.pts is not None]
    assert pts != sorted(pts)


def test_segments_start_at_keyframes_and_merge_where_keyframes_are_far_apart(video_dir: Path, segmented: None) -> None:
    # Keyframes every 5 s: candidate cuts every 3 s land on the same keyframes, so segments follow them.
    clip = _clip(video_dir, "gop5s.mp4", duration=30.0, fps=10.0, gop=50, size=(160, 90))
    reader = PyAVReader(clip.path, threads=2)
    targets = [t / 2 for t in range(60)]
    segments, workers = reader._plan([(t, i) for i, t in enumerate(targets)], None)
    assert workers == 2
    assert [s.keyframe for s in segments] == [None, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert all(s.pairs[0][0] == (s.keyframe or 0.0) for s in segments)
    for frame in reader.iter_frames(targets):
        assert frame.index is not None
        check_frame(frame, clip.times, targets[frame.index])
    # One keyframe for the whole video: nothing to split at, one worker decodes it all.
    single = _clip(video_dir, "gop_all.mp4", duration=30.0, fps=10.0, gop=1000, size=(160, 90))
    reader = PyAVReader(single.path, threads=2)
    segments, workers = reader._plan([(t, i) for i, t in enumerate(targets)], None)
    assert (len(segments), workers) == (1, 1)


# --- the process-wide decoder budget ---------------------------------------------------------------------


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> _pyav.DecoderBudget:
    budget = _pyav.DecoderBudget(cores=2)
    monkeypatch.setattr(_pyav, "DECODER_BUDGET", budget)
    return budget


def test_concurrent_passes_share_the_cores(long_clip: Clip, segmented: None, two_cores: _pyav.DecoderBudget) -> None:
    """A pass started while another holds both cores decodes with one worker, and still returns exactly the
    right frames; every core is given back when the passes end (early or not)."""
    targets = [t / 2 for t in range(2 * 30)]
    first = PyAVReader(long_clip.path, threads=2)
    first_frames = first.iter_frames(targets)
    check_frame(next(first_frames), long_clip.times, 0.0)
    assert first.stats.workers == 2
    assert two_cores.in_use == 2

    second = PyAVReader(long_clip.path, threads=2)
    got = _read(second, targets)
    assert second.stats.workers == 1  # what was left: the minimum, not a wait
    assert [i for i, _, _ in got] == list(range(len(targets)))
    for index, timestamp, painted in got:
        expected = on_screen(long_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)
    assert two_cores.in_use == 2  # the second pass gave its worker back

    first_frames.close()  # type: ignore[attr-defined]
    assert two_cores.in_use == 0
    third = PyAVReader(long_clip.path, threads=2)
    assert _read(third, targets) == got
    assert third.stats.workers == 2
    assert two_cores.in_use == 0


def test_a_failing_pass_gives_its_cores_back(
    long_clip: Clip, segmented: None, two_cores: _pyav.DecoderBudget, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("picture conversion failed")

    reader = PyAVReader(long_clip.path, threads=2)
    monkeypatch.setattr(reader, "_picture", broken)
    with pytest.raises(RuntimeError, match="picture conversion failed"):
        list(reader.iter_frames([t / 2 for t in range(60)]))
    assert two_cores.in_use == 0
    assert _no_decode_threads_left()
