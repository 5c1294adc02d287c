"""The optional decord backend: the same protocol and answers as the PyAV reader, checked on time-coded videos
(see conftest.py) — and never a wrong frame: files decord misreads are refused with a typed error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gens_tools.errors import (
    BackendUnavailableError,
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.video._base import VideoReader, sampling_grid

from .conftest import Clip, check_frame, on_screen


def test_missing_decord_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gens_tools.video._decord import DecordReader

    monkeypatch.setitem(sys.modules, "decord", None)  # makes `import decord` fail
    with pytest.raises(BackendUnavailableError, match=r"pip install 'gens-tools\[decord\]'"):
        DecordReader(tmp_path / "whatever.mp4")


decord = pytest.importorskip("decord")

from gens_tools.video._decord import DecordReader  # noqa: E402
from gens_tools.video._pyav import PyAVReader  # noqa: E402


def test_is_a_video_reader(h264_clip: Clip) -> None:
    with DecordReader(h264_clip.path) as reader:
        assert isinstance(reader, VideoReader)
        info = reader.info
        assert (info.width, info.height, info.codec, info.rotation) == (320, 180, "h264", 0)
        assert info.duration == pytest.approx(h264_clip.duration, abs=1e-3)
        assert info.fps == pytest.approx(30.0)
        assert info.n_frames == len(h264_clip.times)


def test_every_target_gets_the_frame_on_screen(h264_clip: Clip) -> None:
    with DecordReader(h264_clip.path) as reader:
        targets = sorted({*sampling_grid(reader.info, 1.0), 0.49, 1.0, 2.999, 3.02, 4.5, 5.99})
        frames = list(reader.iter_frames(targets, max_side=160))
    assert [f.index for f in frames] == list(range(len(targets)))
    for f in frames:
        assert f.index is not None
        check_frame(f, h264_clip.times, targets[f.index])


def test_agrees_with_the_pyav_reader(
    h264_clip: Clip, vfr_clips: dict[str, Clip], rotated_clips: dict[int, Clip]
) -> None:
    for clip in (h264_clip, vfr_clips["mkv"], rotated_clips[90]):
        dec, ref = DecordReader(clip.path), PyAVReader(clip.path)
        assert dec.info.duration == pytest.approx(ref.info.duration, abs=1e-3)
        assert (dec.info.width, dec.info.height) == (ref.info.width, ref.info.height)
        grid = sampling_grid(ref.info, 2.0)
        got = list(dec.iter_frames(grid, max_side=96))
        want = list(ref.iter_frames(grid, max_side=96))
        assert [f.index for f in got] == [f.index for f in want], clip.path.name
        for a, b in zip(got, want, strict=True):
            assert a.timestamp == pytest.approx(b.timestamp, abs=1e-3)
            assert a.image is not None
            assert b.image is not None
            assert a.image.size == b.image.size
            diff = np.abs(np.asarray(a.image, dtype=np.int16) - np.asarray(b.image, dtype=np.int16))
            assert diff.mean() < 12, (clip.path.name, a.timestamp)


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_variable_frame_rate(vfr_clips: dict[str, Clip], ext: str) -> None:
    clip = vfr_clips[ext]
    targets = [0.0, 0.09, 0.1, 0.52, 1.0, 1.75, 2.5, 3.305, 3.31, 4.0, 4.6, 4.65]
    with DecordReader(clip.path) as reader:
        frames = list(reader.iter_frames(targets))
    assert [f.index for f in frames] == list(range(len(targets)))
    for f in frames:
        assert f.index is not None
        check_frame(f, clip.times, targets[f.index])


def test_resizing_keeps_aspect_and_never_enlarges(h264_clip: Clip) -> None:
    with DecordReader(h264_clip.path) as reader:
        for max_side, size in (
            (64, (64, 36)),
            (100, (100, 56)),
            (320, (320, 180)),
            (2000, (320, 180)),
            (None, (320, 180)),
        ):
            (frame,) = reader.iter_frames([1.0], max_side=max_side)
            assert frame.image is not None
            assert frame.image.size == size, max_side
            assert read_time_code(frame.image) == pytest.approx(1.0)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_videos_come_out_upright(rotated_clips: dict[int, Clip], rotation: int) -> None:
    clip = rotated_clips[rotation]
    portrait = rotation in (90, 270)
    with DecordReader(clip.path) as reader:
        assert reader.info.rotation == rotation
        assert (reader.info.width, reader.info.height) == ((180, 320) if portrait else (320, 180))
        frames = list(reader.iter_frames([0.0, 1.0, 1.55], max_side=64))
    assert len(frames) == 3
    for f in frames:
        assert f.image is not None
        assert f.image.size == ((36, 64) if portrait else (64, 36))
        # read_time_code raises on a sideways or upside-down picture
        assert f.index is not None
        check_frame(f, clip.times, [0.0, 1.0, 1.55][f.index])


def test_unsorted_duplicate_and_out_of_range_targets(h264_clip: Clip) -> None:
    with DecordReader(h264_clip.path) as reader:
        frames = list(reader.iter_frames([5.0, 1.0, 5.0, 50.0], max_side=64))
        # time order, index = position in the request, nothing for a time past the end
        assert [(f.index, round(f.timestamp, 3)) for f in frames] == [(1, 1.0), (0, 5.0), (2, 5.0)]
        for bad in ([-1.0], [float("nan")], ["1.0"]):
            with pytest.raises(InvalidArgumentError):
                list(reader.iter_frames(bad))  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            list(reader.iter_frames([1.0], max_side=0))
    with pytest.raises(VideoError, match="closed"):
        list(reader.iter_frames([1.0]))


def test_never_a_wrong_frame_across_containers_and_codecs(container_clips: dict[str, Clip], tmp_path: Path) -> None:
    """Either every frame is the right one, or the file is refused with a typed error naming the PyAV
    backend. decord 0.6 misplaces every frame after an open-GOP HEVC keyframe, and cannot read AVI times."""
    clips = dict(container_clips)
    # HEVC with keyframes inside the clip: x265 writes open-GOP (CRA) keyframes
    times = tuple(i / 30 for i in range(120))
    clips["open_gop_hevc.mp4"] = Clip(
        make_test_video(tmp_path / "ogop.mp4", duration=4.0, fps=30.0, codec="hevc", gop=30), times
    )
    readable: list[str] = []
    refusals: dict[str, str] = {}
    for name, clip in clips.items():
        try:
            reader = DecordReader(clip.path)
        except VideoError as exc:
            refusals[name] = str(exc)
            continue
        grid = sampling_grid(reader.info, 5.0)
        frames = list(reader.iter_frames(grid, max_side=96))
        assert len(frames) == len(grid), name
        for f in frames:
            assert f.index is not None
            check_frame(f, clip.times, grid[f.index])
        readable.append(name)
    assert {"h264.mkv", "h264.mov", "noB.mp4", "vp9.webm", "hevc.mp4"} <= set(readable)
    assert "open_gop_hevc.mp4" in refusals
    assert all("backend='pyav'" in message for message in refusals.values()), refusals


class _RecordingVideoReader:
    """Wraps a decord VideoReader: records get_batch sizes and fails on chosen frame positions."""

    def __init__(self, inner: object, fail_on: set[int]) -> None:
        self.inner = inner
        self.fail_on = fail_on
        self.batches: list[int] = []

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> object:
        return self.inner[i]  # type: ignore[index]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def get_batch(self, positions: list[int]) -> object:
        self.batches.append(len(positions))
        if self.fail_on.intersection(positions):
            raise decord.DECORDError("simulated decode failure")
        return self.inner.get_batch(positions)  # type: ignore[attr-defined]


def test_batches_are_bounded_and_failed_frames_become_lost_spans(h264_clip: Clip) -> None:
    reader = DecordReader(h264_clip.path, chunk_size=4)
    grid = [i / 4 for i in range(24)]
    recorder: _RecordingVideoReader | None = None
    real_open = reader._open

    def open_recording(size: tuple[int, int]) -> object:
        nonlocal recorder
        recorder = _RecordingVideoReader(real_open(size), fail_on={90})  # the frame shown at 3.0 s
        return recorder

    reader._open = open_recording  # type: ignore[method-assign]
    frames = list(reader.iter_frames(grid, max_side=64))
    assert recorder is not None
    assert max(recorder.batches) <= 4
    assert len(recorder.batches) >= len(grid) / 4
    assert [f.index for f in frames] == [i for i in range(24) if i != 12]
    assert reader.lost_spans == [(pytest.approx(3.0, abs=1e-3), pytest.approx(3.0 + 1 / 30, abs=1e-3))]
    for f in frames:
        assert f.index is not None
        check_frame(f, h264_clip.times, grid[f.index])
    assert on_screen(h264_clip.times, 3.0) == 3.0


def test_bad_inputs_raise_typed_errors(tmp_path: Path, bad_files: dict[str, Path], h264_clip: Clip) -> None:
    with pytest.raises(VideoNotFoundError):
        DecordReader(tmp_path / "missing.mp4")
    with pytest.raises(NotAVideoError, match="folder"):
        DecordReader(tmp_path)
    for name in ("garbage", "text", "png"):
        with pytest.raises(NotAVideoError):
            DecordReader(bad_files[name])
    for name in ("empty", "wav", "m4a"):
        with pytest.raises(EmptyVideoError):
            DecordReader(bad_files[name])
    with pytest.raises(VideoError):
        DecordReader(bad_files["unknown_codec"])
    with pytest.raises(InvalidArgumentError, match="local files"):
        DecordReader("https://example.com/v.mp4")
    with pytest.raises(InvalidArgumentError):
        DecordReader(h264_clip.path, chunk_size=0)

    truncated = tmp_path / "truncated.mp4"
    data = h264_clip.path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="backend='pyav'"):
        DecordReader(truncated)


def test_a_pass_where_every_frame_fails_is_an_error_not_an_empty_success(container_clips: dict[str, Clip]) -> None:
    # Reported on VP9 WebM: every frame failed, and the CLI printed "0 frames" with exit code 0.
    clip = container_clips["vp9.webm"]
    reader = DecordReader(clip.path, chunk_size=4)
    real_open = reader._open
    reader._open = lambda size: _RecordingVideoReader(real_open(size), fail_on=set(range(10_000)))  # type: ignore[method-assign]
    with pytest.raises(VideoError, match=r"could not decode any .*vp9.*backend='pyav'"):
        list(reader.iter_frames([0.0, 1.0, 2.0]))
    assert len(reader.lost_spans) >= 1  # the spans are still reported


def test_decord_through_the_cli_never_reports_an_empty_success(
    container_clips: dict[str, Clip],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from gens_tools.cli._main import main

    real_open = DecordReader._open

    def failing_open(self: DecordReader, size: tuple[int, int]) -> object:
        return _RecordingVideoReader(real_open(self, size), fail_on=set(range(10_000)))

    monkeypatch.setattr(DecordReader, "_open", failing_open)
    monkeypatch.setenv("GENS_TOOLS_CACHE_DIR", str(tmp_path))
    code = main(["sample", str(container_clips["vp9.webm"].path), "q", "-k", "1", "--backend", "decord", "-q"])
    captured = capsys.readouterr()
    assert code == 1
    assert "could not decode any" in captured.err
    assert "0 frames" not in captured.out
