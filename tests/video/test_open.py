"""open_video: files, frame folders and http(s) URLs (served by a local server the tests start)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import pytest

from gens_tools.errors import (
    BackendUnavailableError,
    InvalidArgumentError,
    NotAVideoError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.synthetic import make_frame_folder, make_test_video
from gens_tools.testing import FakeVideoHost
from gens_tools.video import VideoInfo, VideoReader, open_video, sampling_grid
from gens_tools.video._folder import FolderReader
from gens_tools.video._pyav import PyAVReader

from .conftest import Clip, check_frame


def test_file_opens_with_pyav(h264_clip: Clip) -> None:
    for backend in ("auto", "pyav", "PyAV"):
        with open_video(h264_clip.path, backend=backend) as reader:
            assert isinstance(reader, PyAVReader)
            assert isinstance(reader, VideoReader)
            assert isinstance(reader.info, VideoInfo)
            (frame,) = reader.iter_frames([2.5])
            check_frame(frame, h264_clip.times, 2.5)
    with open_video(str(h264_clip.path)) as reader:  # a plain string path works too
        assert reader.info.duration == pytest.approx(6.0, abs=0.04)


def test_file_url_and_home_relative_paths(h264_clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_video(h264_clip.path.as_uri()) as reader:
        assert isinstance(reader, PyAVReader)
    monkeypatch.setenv("HOME", str(h264_clip.path.parent))
    with open_video(f"~/{h264_clip.path.name}") as reader:
        assert reader.info.n_frames == 180


def test_folder_opens_as_frame_folder(tmp_path: Path) -> None:
    folder = make_frame_folder(tmp_path / "frames", 6, fps=2.0)
    with open_video(folder, fps=2.0) as reader:
        assert isinstance(reader, FolderReader)
        assert reader.info.duration == pytest.approx(3.0)
        frames = list(reader.iter_frames(sampling_grid(reader.info)))
        for f in frames:
            check_frame(f, [i / 2 for i in range(6)], float(f.index))
    with pytest.raises(InvalidArgumentError, match="fps"):
        open_video(folder)  # names without seconds and no fps


@pytest.mark.parametrize("backend", ["ffmpeg", "", "opencv", None, 3])
def test_unknown_backend(h264_clip: Clip, backend: object) -> None:
    with pytest.raises(InvalidArgumentError, match="backend"):
        open_video(h264_clip.path, backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "5"])
def test_bad_timeout(h264_clip: Clip, timeout: object) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout"):
        open_video(h264_clip.path, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", ["", "   ", None, 42, b"video.mp4"])
def test_bad_source(source: object) -> None:
    with pytest.raises(InvalidArgumentError, match="source"):
        open_video(source)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp4", "rtsp://127.0.0.1/cam", "http:///nohost.mp4"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="URL"):
        open_video(url)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"missing\.mp4"):
        open_video(tmp_path / "missing.mp4")


def test_decord_backend(h264_clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import decord
    except ImportError:
        decord = None  # type: ignore[assignment]
    if decord is not None:
        from gens_tools.video._decord import DecordReader

        with open_video(h264_clip.path, backend="decord") as reader:
            assert isinstance(reader, DecordReader)
            (frame,) = reader.iter_frames([1.0])
            check_frame(frame, h264_clip.times, 1.0)
    # Without decord the user gets an install hint, not an ImportError traceback.
    monkeypatch.setitem(sys.modules, "decord", None)
    monkeypatch.delitem(sys.modules, "gens_tools.video._decord", raising=False)
    with pytest.raises(BackendUnavailableError, match="pip install"):
        open_video(h264_clip.path, backend="decord")
    # Even if the backend module itself cannot be imported.
    monkeypatch.setitem(sys.modules, "gens_tools.video._decord", None)
    with pytest.raises(BackendUnavailableError, match="pip install"):
        open_video(h264_clip.path, backend="decord")


# --- URLs ------------------------------------------------------------------------------------------------


def test_url_streams_with_range_requests(http_server: FakeVideoHost, long_clip: Clip) -> None:
    url = http_server.url(long_clip.path.name)
    with open_video(url, timeout=5.0) as reader:
        assert isinstance(reader, PyAVReader)
        assert reader.info.source == url
        assert reader.info.duration == pytest.approx(30.0, abs=0.11)
        reader.seek_threshold = 2.0
        targets = [0.5, 10.0, 20.05, 29.9]
        frames = list(reader.iter_frames(targets, max_side=64))
    assert len(frames) == 4
    for f in frames:
        check_frame(f, long_clip.times, targets[f.index])
    assert reader.stats.seeks >= 2
    assert http_server.range_requests >= 2  # FFmpeg jumped through the file with range requests


def test_url_to_mp4_with_index_at_the_end(http_server: FakeVideoHost, video_dir: Path) -> None:
    # Without faststart the index sits after the data: reading it needs range requests, not a download.
    path = make_test_video(video_dir / "index_at_end.mp4", duration=3.0, fps=10.0, faststart=False)
    with open_video(http_server.url(path.name), timeout=5.0) as reader:
        frames = list(reader.iter_frames([0.0, 1.55, 2.95]))
    for f in frames:
        check_frame(f, [i / 10 for i in range(30)], [0.0, 1.55, 2.95][f.index])
    assert http_server.range_requests >= 2


def test_url_without_range_support_is_read_in_one_pass(plain_http_server: FakeVideoHost, long_clip: Clip) -> None:
    with open_video(plain_http_server.url(long_clip.path.name), timeout=5.0) as reader:
        reader.seek_threshold = 2.0
        targets = [1.0, 15.0, 29.0]
        frames = list(reader.iter_frames(targets))
    assert len(frames) == 3
    for f in frames:
        check_frame(f, long_clip.times, targets[f.index])
    assert plain_http_server.range_requests == 0


def test_mp4_with_its_index_at_the_end_without_range_support_says_what_to_do(
    plain_http_server: FakeVideoHost, video_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Big enough that FFmpeg cannot go back to the data from its read buffer once it has found the index.
    path = make_test_video(video_dir / "late_index.mp4", duration=30.0, fps=30.0, faststart=False)
    url = plain_http_server.url(path.name)
    with pytest.raises(VideoError, match=r"index \(the 'moov' box\) comes after .* range requests") as caught:
        open_video(url, timeout=5.0)
    message = str(caught.value)
    assert "holds no decodable video frames" not in message
    assert "Download it" in message
    assert "-movflags +faststart" in message
    # The same file from a server with range requests (or with the index first) is fine.
    from gens_tools.cli._main import main

    assert main(["info", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "range requests" in err


def test_mp4_with_its_index_first_streams_without_range_support(
    plain_http_server: FakeVideoHost, video_dir: Path
) -> None:
    path = make_test_video(video_dir / "early_index.mp4", duration=30.0, fps=30.0, faststart=True)
    with open_video(plain_http_server.url(path.name), timeout=5.0) as reader:
        frames = list(reader.iter_frames([0.0, 12.5, 29.9]))
    assert [round(f.timestamp, 3) for f in frames] == [0.0, 12.5, 29.9]


def test_url_not_found(http_server: FakeVideoHost) -> None:
    with pytest.raises(VideoNotFoundError, match=r"nothing\.mp4"):
        open_video(http_server.url("nothing.mp4"), timeout=5.0)


def test_url_to_something_that_is_not_a_video(http_server: FakeVideoHost, bad_files: dict[str, Path]) -> None:
    with pytest.raises(NotAVideoError):
        open_video(http_server.url(f"bad/{bad_files['garbage'].name}"), timeout=5.0)


def test_refused_connection_fails_fast(closed_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(VideoError, match="connection refused"):
        open_video(f"http://127.0.0.1:{closed_port}/video.mp4", timeout=10.0)
    assert time.monotonic() - start < 5.0


def test_silent_server_times_out(silent_server: int) -> None:
    start = time.monotonic()
    with pytest.raises(VideoError, match="timed out"):
        open_video(f"http://127.0.0.1:{silent_server}/video.mp4", timeout=1.0)
    assert time.monotonic() - start < 8.0


def test_decord_cannot_read_urls(http_server: FakeVideoHost, long_clip: Clip) -> None:
    with pytest.raises(InvalidArgumentError, match="local files"):
        open_video(http_server.url(long_clip.path.name), backend="decord")
