"""PyAVReader: the frame returned for a time is the frame on screen at that time, for every kind of input.

Each generated frame shows its own presentation time, so every check below reads the picture the reader
returned and compares it with the frame that really is on screen at the requested time.
"""

from __future__ import annotations

import gc
import math
import random
import time
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gens_tools.errors import (
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.video import _pyav
from gens_tools.video._base import VideoReader, sampling_grid
from gens_tools.video._pyav import PyAVReader

from .conftest import Clip, check_frame, cut_file, on_screen


def frame_edges(times: tuple[float, ...], every: int = 1) -> list[float]:
    """Targets on, just before and just after frame starts: where an off-by-one frame would show."""
    out: list[float] = []
    for t in times[1::every]:
        out += [t - 0.002, t, t + 0.002]
    return out


# --- basic reading ---------------------------------------------------------------------------------------


def test_info_describes_the_video(h264_clip: Clip) -> None:
    with PyAVReader(h264_clip.path) as reader:
        assert isinstance(reader, VideoReader)
        info = reader.info
    assert info.duration == pytest.approx(6.0, abs=0.04)
    assert info.fps == pytest.approx(30.0)
    assert (info.width, info.height) == (320, 180)
    assert info.codec == "h264"
    assert info.rotation == 0
    assert info.n_frames == 180
    assert info.container is not None
    assert "mp4" in info.container
    assert info.source == str(h264_clip.path)


def test_frames_at_frame_boundaries_are_exact_with_b_frames(h264_clip: Clip) -> None:
    # The encoder stores most frames out of display order (B-frames); the reader must still hand back the
    # last frame that starts at or before each target, never its neighbour.
    targets = frame_edges(h264_clip.times, every=7)
    reader = PyAVReader(h264_clip.path)
    frames = list(reader.iter_frames(targets))
    assert [f.index for f in frames] == list(range(len(targets)))
    for f in frames:
        check_frame(f, h264_clip.times, targets[f.index])
    assert reader.lost_spans == []


def test_one_fps_grid_on_the_whole_video(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path)
    grid = sampling_grid(reader.info, fps=1.0)
    assert grid == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    frames = list(reader.iter_frames(grid, max_side=64))
    assert [f.timestamp for f in frames] == pytest.approx(grid, abs=1e-6)
    for f in frames:
        check_frame(f, h264_clip.times, grid[f.index])


@pytest.mark.parametrize("name", ["vp9.webm", "h264.mkv", "h264.mov", "mpeg4.avi", "noB.mp4", "hevc.mp4"])
def test_other_containers_and_codecs(container_clips: dict[str, Clip], name: str) -> None:
    clip = container_clips[name]
    reader = PyAVReader(clip.path)
    assert reader.info.duration == pytest.approx(clip.duration, abs=0.11)
    assert reader.info.codec == {"vp9": "vp9", "mpeg4": "mpeg4", "hevc": "hevc"}.get(name.split(".")[0], "h264")
    rng = random.Random(name)
    targets = sorted(
        {*frame_edges(clip.times, every=4), *(round(rng.uniform(0, clip.times[-1]), 3) for _ in range(10))}
    )
    frames = list(reader.iter_frames(targets, max_side=96))
    assert len(frames) == len(targets)
    for f in frames:
        check_frame(f, clip.times, targets[f.index])
        assert max(f.image.size) == 96


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_variable_frame_rate(vfr_clips: dict[str, Clip], ext: str) -> None:
    clip = vfr_clips[ext]
    reader = PyAVReader(clip.path)
    targets = [0.0, 0.05, 0.099, 0.1, 0.45, 0.52, 0.56, 1.0, 1.69, 1.7, 2.5, 3.305, 3.31, 3.5, 3.95, 4.6]
    frames = list(reader.iter_frames(targets))
    assert [f.index for f in frames] == list(range(len(targets)))
    for f in frames:
        check_frame(f, clip.times, targets[f.index])
    # Several targets on one frame share one converted picture.
    assert reader.stats.converted == len({on_screen(clip.times, t) for t in targets})


def test_first_frame_after_time_zero_is_time_zero(video_dir: Path) -> None:
    pts = [2.0 + i / 10 for i in range(20)]
    path = make_test_video(video_dir / "starts_at_2s.mkv", pts=pts, fps=10.0)
    reader = PyAVReader(path)
    assert reader.info.extra["start_time"] == pytest.approx(2.0)
    assert reader.info.duration == pytest.approx(2.0, abs=0.11)
    frames = list(reader.iter_frames([0.0, 0.55, 1.9]))
    for f in frames:
        check_frame(f, pts, [0.0, 0.55, 1.9][f.index], offset=2.0)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_is_applied(rotated_clips: dict[int, Clip], rotation: int) -> None:
    clip = rotated_clips[rotation]
    reader = PyAVReader(clip.path)
    assert reader.info.rotation == rotation
    expected_size = (180, 320) if rotation in (90, 270) else (320, 180)
    assert (reader.info.width, reader.info.height) == expected_size
    targets = [0.0, 0.75, 1.95]
    full = list(reader.iter_frames(targets))
    small = list(reader.iter_frames(targets, max_side=64))
    for f in full:
        assert f.image.size == expected_size
        check_frame(f, clip.times, targets[f.index])
    for f in small:
        assert max(f.image.size) == 64
        assert (f.image.width < f.image.height) == (rotation in (90, 270))
        check_frame(f, clip.times, targets[f.index])


def test_unrotated_pictures_would_not_read(rotated_clips: dict[int, Clip]) -> None:
    # The rotation test above can fail: the stored (unrotated) picture does not carry a readable code.
    with av.open(str(rotated_clips[90].path)) as container:
        frame = next(container.decode(video=0))
        assert frame.rotation == 90
        with pytest.raises(ValueError, match="time code"):
            read_time_code(frame.to_image())


# --- sizes, targets, conversion ------------------------------------------------------------------------


def test_max_side_shrinks_keeps_aspect_and_never_enlarges(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path)
    (big,) = reader.iter_frames([1.0], max_side=4000)
    (same,) = reader.iter_frames([1.0], max_side=320)
    (small,) = reader.iter_frames([1.0], max_side=160)
    (odd,) = reader.iter_frames([1.0], max_side=101)
    assert big.image.size == (320, 180)
    assert same.image.size == (320, 180)
    assert small.image.size == (160, 90)
    assert odd.image.size == (101, 57)
    for f in (big, small, odd):
        assert f.image.mode == "RGB"
        check_frame(f, h264_clip.times, 1.0)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "64"])
def test_bad_max_side_is_rejected(h264_clip: Clip, bad: object) -> None:
    reader = PyAVReader(h264_clip.path)
    with pytest.raises(InvalidArgumentError, match="max_side"):
        reader.iter_frames([0.0], max_side=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[-0.5], [math.nan], [math.inf], ["1.0"], [None], "0,1"])
def test_bad_targets_are_rejected(h264_clip: Clip, bad: object) -> None:
    reader = PyAVReader(h264_clip.path)
    with pytest.raises(InvalidArgumentError, match="target"):
        reader.iter_frames(bad)  # type: ignore[arg-type]


def test_unsorted_and_repeated_targets(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path)
    targets = [3.0, 0.5, 3.0, 1.25, 0.0]
    frames = list(reader.iter_frames(targets))
    assert [f.index for f in frames] == [4, 1, 3, 0, 2]  # time order, ties in the order given
    for f in frames:
        check_frame(f, h264_clip.times, targets[f.index])
    assert frames[3].image is frames[4].image
    assert list(reader.iter_frames([])) == []


def test_targets_past_the_end_yield_nothing_and_lose_nothing(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path)
    frames = list(reader.iter_frames([5.99, 7.5, 100.0]))
    assert [f.index for f in frames] == [0]
    check_frame(frames[0], h264_clip.times, 5.99)
    assert reader.lost_spans == []


def test_only_chosen_frames_are_converted(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path, seek_threshold=math.inf, skip_frames=False)
    frames = list(reader.iter_frames([0.0, 2.0, 4.0, 5.9]))
    assert len(frames) == 4
    assert reader.stats.converted == 4
    assert reader.stats.decoded >= 170  # everything up to 5.9 s was decoded, but only 4 pictures made


def test_decoding_streams_ahead_by_a_bounded_number_of_pictures(
    long_clip: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pyav, "_WORKER_BUFFER_BYTES", 160 * 90 * 4 * 8)  # room for 8 pictures
    reader = PyAVReader(long_clip.path, seek_threshold=math.inf, skip_frames=False)
    frames = reader.iter_frames([0.0, *[t + 0.05 for t in range(1, 30)]])
    first = next(frames)
    check_frame(first, long_clip.times, 0.0)
    time.sleep(0.5)  # the worker decodes ahead until its queue is full, then waits for the caller
    assert reader.stats.decoded < 150  # of 300: at most ~10 targets (one a second, 10 fps) ahead
    alive = []
    for n, _ in enumerate(frames):
        if n % 7 == 3:  # (a full heap scan is slow; a few samples along the video suffice)
            alive.append(sum(type(o) is av.VideoFrame for o in gc.get_objects()))
    assert reader.stats.decoded >= 290  # (up to the frame after the last target, 29.05 s)
    assert max(alive) <= 4  # memory does not grow with the length of the video


def test_repeated_passes_give_the_same_frames(h264_clip: Clip) -> None:
    reader = PyAVReader(h264_clip.path)
    targets = [0.2, 2.2, 4.2]
    first = [(f.index, f.timestamp, read_time_code(f.image)) for f in reader.iter_frames(targets)]
    again = [(f.index, f.timestamp, read_time_code(f.image)) for f in reader.iter_frames(targets)]
    assert first == again
    assert len(first) == 3


def test_closed_reader_refuses_to_read(h264_clip: Clip) -> None:
    with PyAVReader(h264_clip.path) as reader:
        unfinished = reader.iter_frames([0.0, 1.0, 2.0])
        check_frame(next(unfinished), h264_clip.times, 0.0)
    # Closing released the decoder of the unfinished pass: it ends quietly instead of reading on.
    assert list(unfinished) == []
    with pytest.raises(VideoError, match="closed"):
        reader.iter_frames([0.0])


def test_frame_threads_and_single_thread_agree(h264_clip: Clip) -> None:
    targets = frame_edges(h264_clip.times, every=11)
    results = []
    for threads, mode in [(1, "NONE"), (2, "FRAME"), (2, "AUTO"), (0, "SLICE")]:
        reader = PyAVReader(h264_clip.path, threads=threads, thread_type=mode)
        results.append([(f.index, f.timestamp, read_time_code(f.image)) for f in reader.iter_frames(targets)])
    assert all(r == results[0] for r in results)
    assert len(results[0]) == len(targets)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"threads": -1}, "threads"),
        ({"thread_type": "MANY"}, "thread_type"),
        ({"timeout": 0}, "timeout"),
        ({"seek_threshold": 0}, "seek_threshold"),
    ],
)
def test_bad_options_are_rejected(h264_clip: Clip, kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidArgumentError, match=word):
        PyAVReader(h264_clip.path, **kwargs)  # type: ignore[arg-type]


# --- the sparse (seek) path ----------------------------------------------------------------------------


def _read(path: Path, targets: list[float], seek_threshold: float) -> tuple[list[tuple[int, float, float]], PyAVReader]:
    reader = PyAVReader(path, seek_threshold=seek_threshold)
    out = [(f.index, f.timestamp, read_time_code(f.image)) for f in reader.iter_frames(targets, max_side=64)]
    return out, reader


def test_sparse_targets_seek_and_match_sequential_decoding(long_clip: Clip) -> None:
    targets = [0.35, 6.0, 6.05, 13.99, 21.5, 29.95]
    sparse, seeking = _read(long_clip.path, targets, seek_threshold=2.0)
    sequential, plain = _read(long_clip.path, targets, seek_threshold=math.inf)
    assert sparse == sequential
    assert len(sparse) == len(targets)
    for index, timestamp, painted in sparse:
        expected = on_screen(long_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)
    assert seeking.stats.seeks >= 3
    assert plain.stats.seeks == 0
    assert seeking.stats.decoded < plain.stats.decoded / 2  # the seek path skipped most of the video


def test_a_seek_that_lands_after_the_target_is_corrected(long_clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    # Some indexes are inexact (or GOPs open): the first frame after a seek can come after the target. The
    # reader must then seek further back rather than return a later frame. Simulate such an index by making
    # every first seek attempt aim 3 s late.
    from gens_tools.video import _pyav as pyav_reader

    real = pyav_reader._Cursor._seek_container
    attempts: list[float] = []

    def late(self: object, seconds: float) -> bool:
        attempts.append(seconds)
        late_by = 3.0 if len(attempts) % 2 == 1 else 0.0
        return real(self, seconds + late_by)  # type: ignore[arg-type]

    monkeypatch.setattr(pyav_reader._Cursor, "_seek_container", late)
    targets = [0.0, 12.34, 25.0]
    got, reader = _read(long_clip.path, targets, seek_threshold=2.0)
    assert len(got) == 3
    for index, timestamp, painted in got:
        expected = on_screen(long_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)
    assert reader.stats.seeks >= 4  # each late landing was followed by a seek further back


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_target_sets_seek_or_not(long_clip: Clip, data: st.DataObject) -> None:
    targets = data.draw(
        st.lists(st.floats(min_value=0.0, max_value=29.99, allow_nan=False), min_size=1, max_size=12), label="targets"
    )
    threshold = data.draw(st.sampled_from([0.5, 3.0, math.inf]), label="seek_threshold")
    got, _ = _read(long_clip.path, targets, seek_threshold=threshold)
    assert sorted(i for i, _, _ in got) == list(range(len(targets)))
    for index, timestamp, painted in got:
        expected = on_screen(long_clip.times, targets[index])
        assert painted == pytest.approx(expected, abs=1.5e-3)
        assert timestamp == pytest.approx(expected, abs=1.5e-3)


# --- damaged input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_truncated_file_gives_early_frames_and_reports_the_lost_tail(
    video_dir: Path, long_clip: Clip, suffix: str, threads: int
) -> None:
    source = (
        long_clip.path
        if suffix == "mp4"
        else make_test_video(video_dir / "long_src.mkv", duration=30.0, fps=10.0, gop=10, size=(160, 90))
    )
    cut = cut_file(source, video_dir / f"cut60_{threads}.{suffix}", 0.6)
    reader = PyAVReader(cut, threads=threads)
    assert reader.info.duration == pytest.approx(30.0, abs=0.11)  # the container still says 30 s
    targets = [float(t) for t in range(30)]
    frames = list(reader.iter_frames(targets))
    assert len(reader.lost_spans) == 1
    lost_start, lost_end = reader.lost_spans[0]
    assert 12.0 < lost_start < 24.0  # about 60 % of the bytes hold about 60 % of the frames
    assert lost_end == pytest.approx(30.0, abs=0.11)
    assert [f.index for f in frames] == [i for i, t in enumerate(targets) if t < lost_start]
    for f in frames:
        check_frame(f, long_clip.times, targets[f.index])
    # Every decodable frame is returned, up to the last one (found here by plain one-thread decoding;
    # a frame-threaded decoder drops the frames in flight at the cut unless the reader re-decodes the tail).
    last_decodable = _last_decodable_time(cut)
    assert lost_start == pytest.approx(last_decodable + 0.1, abs=1e-3)
    last = list(reader.iter_frames([lost_start - 0.01]))
    assert len(last) == 1
    check_frame(last[0], long_clip.times, last_decodable)


def _last_decodable_time(path: Path) -> float:
    last = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    last = float(frame.time)
            except av.error.FFmpegError:
                pass
    assert last is not None
    return last


def test_truncated_file_seek_path_matches_sequential(video_dir: Path, long_clip: Clip) -> None:
    cut = cut_file(long_clip.path, video_dir / "cut60_seek.mp4", 0.6)
    targets = [1.0, 9.0, 16.0, 22.0, 29.0]
    sparse, seeking = _read(cut, targets, seek_threshold=2.0)
    sequential, plain = _read(cut, targets, seek_threshold=math.inf)
    assert sparse == sequential
    assert seeking.lost_spans == plain.lost_spans
    assert len(plain.lost_spans) == 1


def test_corrupt_middle_is_survived_and_reported(video_dir: Path, long_clip: Clip) -> None:
    data = bytearray(long_clip.path.read_bytes())
    n = len(data)
    data[int(n * 0.4) : int(n * 0.45)] = bytes(int(n * 0.45) - int(n * 0.4))
    broken = video_dir / "zeroed_middle.mp4"
    broken.write_bytes(bytes(data))
    reader = PyAVReader(broken)
    targets = [t / 4 for t in range(120)]
    frames = list(reader.iter_frames(targets))
    assert reader.stats.decode_errors > 0
    assert reader.lost_spans, "the undecodable packets must be reported"
    (a, b), *_ = reader.lost_spans
    assert 6.0 < a < b < 24.0
    for f in frames:
        target = targets[f.index]
        # Never a stale frame: nothing was lost between the frame returned and the target time.
        assert f.timestamp <= target + 1e-6
        assert not any(f.timestamp < x <= target for x, _ in reader.lost_spans)
        # Frames well before the damage, and from the first keyframe (one every second) after it, are intact.
        # (Right next to the damage the decoder may conceal errors without reporting them.)
        if f.timestamp < a - 1.0 or f.timestamp >= math.floor(reader.lost_spans[-1][1]) + 1.0:
            check_frame(f, long_clip.times, target)
    assert any(f.timestamp >= b + 1.0 for f in frames)  # reading went on past the damage
    assert len(targets) // 2 < len(frames) < len(targets)


# --- errors ----------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"nothere\.mp4"):
        PyAVReader(tmp_path / "nothere.mp4")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("garbage", NotAVideoError),
        ("text", NotAVideoError),
        ("png", NotAVideoError),
        ("jpg", NotAVideoError),
        ("empty", EmptyVideoError),
        ("wav", EmptyVideoError),
        ("m4a", EmptyVideoError),
        ("unknown_codec", UnsupportedCodecError),
    ],
)
def test_bad_inputs_raise_typed_errors(bad_files: dict[str, Path], name: str, error: type[Exception]) -> None:
    path = bad_files[name]
    with pytest.raises(error) as info:
        PyAVReader(path)
    assert path.name in str(info.value)


def test_a_folder_is_not_a_video_file(tmp_path: Path) -> None:
    with pytest.raises(NotAVideoError, match="folder"):
        PyAVReader(tmp_path)
