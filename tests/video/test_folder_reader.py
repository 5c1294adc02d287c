"""FolderReader: a folder of frame images read like a video, with times from fps or from the file names."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from gens_tools.errors import EmptyVideoError, InvalidArgumentError, NotAVideoError, VideoError, VideoNotFoundError
from gens_tools.synthetic import make_frame_folder, read_time_code
from gens_tools.video._base import VideoReader, sampling_grid
from gens_tools.video._folder import FolderReader, parse_frame_name

from .conftest import check_frame


def test_frame_numbers_and_fps(tmp_path: Path) -> None:
    # As `ffmpeg -i video.mp4 -vf fps=2 frame_%06d.jpg` writes them: numbered from 1.
    folder = make_frame_folder(tmp_path / "f", 12, fps=2.0, name="frame_{index:06d}", start_index=1)
    reader = FolderReader(folder, fps=2.0)
    assert isinstance(reader, VideoReader)
    info = reader.info
    assert info.n_frames == 12
    assert info.fps == 2.0
    assert info.duration == pytest.approx(6.0)
    assert (info.width, info.height) == (320, 180)
    assert info.container == "folder"
    assert info.codec == "jpeg"
    times = [i / 2 for i in range(12)]
    grid = sampling_grid(info, fps=1.0)
    assert grid == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    targets = [*grid, 0.49, 0.5, 5.75]
    frames = list(reader.iter_frames(targets))
    assert len(frames) == len(targets)
    for f in frames:
        check_frame(f, times, targets[f.index])


def test_gaps_in_frame_numbers_are_gaps_in_time(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    times = [0.0, 1.0, 2.0, 5.0, 6.0]  # frames 3 and 4 were not extracted
    make_frame_folder(folder, 5, times=times, name="img{index}", ext="png")
    for path, n in zip(sorted(folder.iterdir(), key=lambda p: int(p.stem[3:])), [0, 1, 2, 5, 6], strict=True):
        path.rename(folder / f"img{n}.png")
    reader = FolderReader(folder, fps=1.0)
    frames = list(reader.iter_frames([2.5, 3.5, 4.99, 5.0]))
    for f in frames:
        check_frame(f, times, [2.5, 3.5, 4.99, 5.0][f.index])
    assert [f.timestamp for f in frames] == [2.0, 2.0, 2.0, 5.0]


def test_seconds_in_names_need_no_fps(tmp_path: Path) -> None:
    times = [0.0, 0.5, 1.25, 4.0, 4.1, 7.5]  # irregular, like scene-change keyframes
    folder = make_frame_folder(tmp_path / "t", len(times), times=times, name="t_{time:g}s", ext="png")
    assert (folder / "t_1.25s.png").exists()
    reader = FolderReader(folder)
    assert reader.info.fps is None  # uneven spacing: no single rate
    assert reader.info.n_frames == 6
    targets = [0.0, 0.49, 0.5, 1.3, 3.99, 4.05, 4.1, 7.6]
    frames = list(reader.iter_frames(targets, max_side=64))
    assert len(frames) == len(targets)
    for f in frames:
        check_frame(f, times, targets[f.index])
        assert f.image.size == (64, 36)


def test_sec_prefixed_names_start_counting_at_the_first_frame(tmp_path: Path) -> None:
    times = [10.0, 11.0, 12.0, 13.0]
    folder = make_frame_folder(tmp_path / "s", 4, times=times, name="sec{sec:03d}")
    assert (folder / "sec010.jpg").exists()
    reader = FolderReader(folder)
    assert reader.info.extra["time_offset"] == 10.0
    assert reader.info.duration == pytest.approx(4.0)
    assert reader.info.fps == pytest.approx(1.0)
    frames = list(reader.iter_frames([0.0, 2.5]))
    for f in frames:
        check_frame(f, times, [0.0, 2.5][f.index], offset=10.0)


def test_natural_sort_order_without_frame_numbers(tmp_path: Path) -> None:
    # No trailing number: frames are taken in natural order ("2_shot" before "10_shot"), one per 1/fps.
    folder = tmp_path / "n"
    make_frame_folder(folder, 3, times=[0.0, 1.0, 2.0], name="{index}_shot", start_index=1)
    (folder / "3_shot.jpg").rename(folder / "10_shot.jpg")
    reader = FolderReader(folder, fps=1.0)
    frames = list(reader.iter_frames([0.0, 1.0, 2.0]))
    assert [read_time_code(f.image) for f in frames] == [0.0, 1.0, 2.0]


def test_times_unknown_without_fps(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "f", 3, name="frame_{index:06d}")
    with pytest.raises(InvalidArgumentError, match=r"fps=.*sec012\.png"):
        FolderReader(folder)


@pytest.mark.parametrize("fps", [0, -1.0, math.nan, math.inf, True, "2"])
def test_bad_fps(tmp_path: Path, fps: object) -> None:
    folder = make_frame_folder(tmp_path / "f", 2)
    with pytest.raises(InvalidArgumentError, match="fps"):
        FolderReader(folder, fps=fps)  # type: ignore[arg-type]


def test_empty_missing_and_non_image_folders(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match="nowhere"):
        FolderReader(tmp_path / "nowhere", fps=1.0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyVideoError, match="no images"):
        FolderReader(tmp_path / "empty", fps=1.0)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("hello")
    with pytest.raises(EmptyVideoError):
        FolderReader(tmp_path / "docs", fps=1.0)
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(NotAVideoError, match="not a folder"):
        FolderReader(tmp_path / "file.jpg", fps=1.0)


def test_unreadable_first_image(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "frame_1.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(NotAVideoError, match=r"frame_1\.jpg"):
        FolderReader(folder, fps=1.0)


def test_duplicate_times_are_rejected(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "d", 2, times=[1.0, 2.0], name="t_{time:g}s")
    Image.open(folder / "t_1s.jpg").save(folder / "t_1.0s.jpg")
    with pytest.raises(InvalidArgumentError, match="same time"):
        FolderReader(folder)


def test_a_corrupt_image_is_skipped_and_reported(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "c", 5, fps=1.0, name="frame_{index:03d}", ext="png")
    (folder / "frame_002.png").write_bytes(b"\x89PNG broken")
    reader = FolderReader(folder, fps=1.0)
    frames = list(reader.iter_frames([0.5, 1.5, 2.0, 2.5, 3.0, 4.5]))
    assert [f.index for f in frames] == [0, 1, 4, 5]
    for f in frames:
        check_frame(f, [0.0, 1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.0, 2.5, 3.0, 4.5][f.index])
    assert reader.lost_spans == [(2.0, 3.0)]


def test_only_needed_images_are_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_frame_folder(tmp_path / "l", 40, fps=4.0, size=(64, 36), name="f{index:04d}")
    reader = FolderReader(folder, fps=4.0)
    opened: list[str] = []
    real_open = Image.open

    def spy(fp: object, *args: object, **kwargs: object) -> Image.Image:
        opened.append(Path(str(fp)).name)
        return real_open(fp, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", spy)
    frames = list(reader.iter_frames([0.0, 0.1, 5.0, 9.9]))
    assert len(frames) == 4
    assert opened == ["f0000.jpg", "f0020.jpg", "f0039.jpg"]  # 0.0 and 0.1 share one picture


def test_targets_past_the_end_and_bad_arguments(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "e", 3, fps=1.0)
    reader = FolderReader(folder, fps=1.0)
    assert [f.index for f in reader.iter_frames([2.5, 3.0, 50.0])] == [0]
    (big,) = reader.iter_frames([0.0], max_side=5000)
    assert big.image.size == (320, 180)
    with pytest.raises(InvalidArgumentError):
        reader.iter_frames([-1.0])
    with pytest.raises(InvalidArgumentError):
        reader.iter_frames([0.0], max_side=0)
    reader.close()
    with pytest.raises(VideoError, match="closed"):
        reader.iter_frames([0.0])


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("sec012", ("seconds", 12.0)),
        ("sec_7.5", ("seconds", 7.5)),
        ("t_12.5s", ("seconds", 12.5)),
        ("12.5s", ("seconds", 12.5)),
        ("clip_000012.250s", ("seconds", 12.25)),
        ("frame_000123", ("index", 123.0)),
        ("img7", ("index", 7.0)),
        ("cover", None),
    ],
)
def test_parse_frame_name(stem: str, expected: tuple[str, float] | None) -> None:
    assert parse_frame_name(stem) == expected


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # A phone photo: stored sideways, with an EXIF tag saying how to turn it upright.
    folder = tmp_path / "exif"
    folder.mkdir()
    upright = make_frame_folder(tmp_path / "src", 1, size=(320, 180))
    picture = Image.open(next(upright.iterdir())).convert("RGB")
    stored = picture.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: turn 90° clockwise to display
    stored.save(folder / "frame_0.jpg", exif=exif, quality=92)
    reader = FolderReader(folder, fps=1.0)
    assert (reader.info.width, reader.info.height) == (320, 180)
    (frame,) = reader.iter_frames([0.0], max_side=100)
    assert frame.image.size == (100, 56)
    assert read_time_code(frame.image) == 0.0
