"""The synthetic test/demo media: painted time codes read back, and videos that really are what they claim.

These checks use PyAV directly (not gens-tools' readers), so the generator is verified independently of the
code it is used to test.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.synthetic import (
    CODE_BITS,
    make_demo_video,
    make_frame_folder,
    make_test_video,
    paint_time_code,
    read_time_code,
)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.mark.parametrize(
    "seconds", [0.0, 0.001, 0.033, 1.0, 59.999, 3599.5, 7 * 3600 + 0.123, (2**CODE_BITS - 1) / 1000]
)
def test_time_code_round_trip(seconds: float) -> None:
    image = paint_time_code(seconds, (320, 180))
    assert read_time_code(image) == round(seconds, 3)


@pytest.mark.parametrize("size", [(1280, 720), (320, 180), (180, 320), (64, 36), (36, 64)])
def test_time_code_survives_shrinking_and_jpeg(size: tuple[int, int]) -> None:
    rng = random.Random(size[0])
    for _ in range(20):
        t = round(rng.uniform(0, 20000), 3)
        painted = (640, 360) if size[0] >= size[1] else (360, 640)
        small = paint_time_code(t, painted).resize(size, Image.Resampling.BICUBIC)
        assert read_time_code(_jpeg(small, quality=40)) == t


def test_sideways_flipped_or_blank_pictures_are_refused() -> None:
    image = paint_time_code(12.345, (320, 180))
    for turned in (
        image.transpose(Image.Transpose.ROTATE_90),
        image.transpose(Image.Transpose.ROTATE_180),
        image.transpose(Image.Transpose.ROTATE_270),
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        image.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    ):
        with pytest.raises(ValueError, match="time code"):
            read_time_code(turned)
    with pytest.raises(ValueError, match="time code"):
        read_time_code(Image.new("RGB", (320, 180), (128, 128, 128)))
    noise = np.random.default_rng(1).integers(0, 256, (180, 320, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="time code"):
        read_time_code(Image.fromarray(noise))


def test_a_flipped_bit_fails_the_check() -> None:
    image = np.array(paint_time_code(100.0, (320, 180)))
    # Invert one data cell (row 2, column 3 of the 8×5 grid in the top 80 %).
    cell_h, cell_w = 144 // 5, 320 // 8
    image[2 * cell_h + 5 : 3 * cell_h - 5, 3 * cell_w + 5 : 4 * cell_w - 5] ^= 255
    with pytest.raises(ValueError, match="check"):
        read_time_code(Image.fromarray(image))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((-1.0,), {}), ((float("nan"),), {}), ((1e9,), {}), ((1.0, (8, 8)), {})],
)
def test_paint_rejects_bad_arguments(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        paint_time_code(*args, **kwargs)  # type: ignore[arg-type]


def _decoded(path: Path) -> list[tuple[float, int, float]]:
    """(presentation time, rotation, painted time) of every frame, straight from PyAV."""
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            image = frame.to_image()
            if frame.rotation:
                image = image.rotate(frame.rotation, expand=True)
            out.append((float(frame.time), frame.rotation, read_time_code(image)))
    return out


@pytest.mark.parametrize(
    ("name", "codec", "format_word", "codec_name"),
    [
        ("a.mp4", "h264", "mp4", "h264"),
        ("a.mkv", "h264", "matroska", "h264"),
        ("a.webm", "vp9", "webm", "vp9"),
        ("a.mov", "h264", "mov", "h264"),
        ("a.avi", "mpeg4", "avi", "mpeg4"),
    ],
)
def test_container_from_suffix_and_painted_times_match_pts(
    tmp_path: Path, name: str, codec: str, format_word: str, codec_name: str
) -> None:
    path = make_test_video(tmp_path / name, duration=2.0, fps=10.0, codec=codec)
    with av.open(str(path)) as container:
        assert format_word in container.format.name
        assert container.streams.video[0].codec_context.name == codec_name
    frames = _decoded(path)
    assert len(frames) == 20
    first = frames[0][0]
    for i, (t, _, painted) in enumerate(frames):
        assert painted == pytest.approx(i / 10, abs=1e-3)
        assert t - first == pytest.approx(painted, abs=1.5e-3)


def test_b_frames_on_and_off(tmp_path: Path) -> None:
    def reordered(path: Path) -> bool:
        with av.open(str(path)) as container:
            pts = [p.pts for p in container.demux(video=0) if p.pts is not None]
        return pts != sorted(pts)

    with_b = make_test_video(tmp_path / "b.mp4", duration=2.0, fps=10.0, bframes=True)
    without = make_test_video(tmp_path / "nob.mp4", duration=2.0, fps=10.0, bframes=False)
    assert reordered(with_b)
    assert not reordered(without)


def test_gop_sets_the_keyframe_interval(tmp_path: Path) -> None:
    path = make_test_video(tmp_path / "g.mp4", duration=3.0, fps=10.0, gop=5)
    with av.open(str(path)) as container:
        keys = [float(p.pts * p.time_base) for p in container.demux(video=0) if p.is_keyframe]
    assert sorted(keys) == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_variable_frame_rate_pts(tmp_path: Path) -> None:
    pts = [0.0, 0.04, 0.5, 0.51, 2.0, 2.25, 3.0]
    for suffix in ("mp4", "mkv"):
        frames = _decoded(make_test_video(tmp_path / f"v.{suffix}", pts=pts))
        assert [t for t, _, _ in frames] == pytest.approx(pts, abs=1e-3)
        assert [p for _, _, p in frames] == pytest.approx(pts, abs=1e-3)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata(tmp_path: Path, rotation: int) -> None:
    path = make_test_video(tmp_path / f"r{rotation}.mp4", duration=0.5, fps=10.0, rotation=rotation)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (320, 180)  # stored landscape
        assert frame.rotation % 360 == rotation
        stored = frame.to_image()
    with pytest.raises(ValueError, match="time code"):
        read_time_code(stored)  # unreadable until the rotation is applied
    upright = stored.rotate(rotation, expand=True)
    assert upright.size == ((180, 320) if rotation in (90, 270) else (320, 180))
    assert read_time_code(upright) == 0.0


def test_bad_video_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="suffix"):
        make_test_video(tmp_path / "a.flv")
    with pytest.raises(InvalidArgumentError, match="AVI"):
        make_test_video(tmp_path / "a.avi", pts=[0.0, 0.5], codec="mpeg4")
    with pytest.raises(InvalidArgumentError, match="increasing"):
        make_test_video(tmp_path / "a.mp4", pts=[0.0, 0.5, 0.5])
    with pytest.raises(InvalidArgumentError, match="rotation"):
        make_test_video(tmp_path / "a.mp4", rotation=45)
    with pytest.raises(InvalidArgumentError, match="size"):
        make_test_video(tmp_path / "a.mp4", size=(321, 180))
    with pytest.raises(InvalidArgumentError, match="encoder"):
        make_test_video(tmp_path / "a.mkv", codec="no-such-codec")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_demo_video_has_distinct_scenes(tmp_path: Path) -> None:
    path = make_demo_video(tmp_path / "demo.mp4", duration=20.0, fps=2.0, size=(320, 180))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert float(stream.duration * stream.time_base) == pytest.approx(20.0, abs=0.6)
        pictures = {round(float(f.time), 1): np.asarray(f.to_image(), dtype=np.int16) for f in container.decode(stream)}

    def red_pixels(a: np.ndarray) -> int:
        return int(((a[..., 0] > 170) & (a[..., 1] < 80) & (a[..., 2] < 80)).sum())

    # Scenes: 0-25 % blue room, 25-45 % red ball, 45-70 % yellow sign, 70-100 % night.
    assert red_pixels(pictures[6.5]) > 200  # the red ball is on screen
    for t in (2.0, 11.0, 17.0):
        assert red_pixels(pictures[t]) < 20
    means = [pictures[t].reshape(-1, 3).mean(axis=0) for t in (2.0, 6.5, 11.0, 17.0)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(means[i] - means[j]).max() > 30  # every scene looks different


def test_frame_folder_names_and_codes(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "f", 4, fps=2.0, name="t_{time:g}s", ext="png")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["t_0.5s.png", "t_0s.png", "t_1.5s.png", "t_1s.png"]
    for p in folder.iterdir():
        assert read_time_code(Image.open(p)) == float(p.stem[2:-1])
    folder2 = make_frame_folder(tmp_path / "g", 3, fps=1.0, name="sec{sec:03d}", ext="jpg", size=(64, 36))
    assert sorted(p.name for p in folder2.iterdir()) == ["sec000.jpg", "sec001.jpg", "sec002.jpg"]
    with pytest.raises(InvalidArgumentError):
        make_frame_folder(tmp_path / "h", 0)
    with pytest.raises(InvalidArgumentError):
        make_frame_folder(tmp_path / "h", 2, times=[0.0])


def test_an_interrupted_write_leaves_no_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A half-written file at the path would be taken for a finished video by the next run that finds it."""
    import gens_tools.synthetic as synthetic

    painted = 0

    def paint(t: float, size: tuple[int, int], progress: float = 0.0) -> Image.Image:
        nonlocal painted
        painted += 1
        if painted > 40:
            raise KeyboardInterrupt
        return paint_time_code(t, size, progress=progress)

    monkeypatch.setattr(synthetic, "paint_time_code", paint)
    with pytest.raises(KeyboardInterrupt):
        make_test_video(tmp_path / "v.mp4", duration=10.0, fps=10.0, size=(64, 36))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    video = make_test_video(tmp_path / "v.mp4", duration=2.0, fps=10.0, size=(64, 36))
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]
    with av.open(str(video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
