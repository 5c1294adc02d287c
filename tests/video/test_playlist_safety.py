"""A video argument must not make FFmpeg read other files or hosts than the one it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from gens_tools.errors import NotAVideoError, VideoError
from gens_tools.synthetic import make_test_video
from gens_tools.video import open_video


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("seg") / "seg.mkv", duration=2.0, fps=10.0, size=(64, 36))


def test_local_hls_playlist_is_refused(tmp_path: Path, segment: Path) -> None:
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{segment}\n#EXT-X-ENDLIST\n", encoding="utf-8"
    )
    with pytest.raises(VideoError):
        open_video(playlist)


def test_concat_list_is_refused(tmp_path: Path, segment: Path) -> None:
    listing = tmp_path / "list.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{segment}'\n", encoding="utf-8")
    with pytest.raises(VideoError):
        open_video(listing)


def test_plain_files_still_open(segment: Path) -> None:
    with open_video(segment) as reader:
        assert reader.info.duration == pytest.approx(2.0, abs=0.2)


def test_playlist_error_names_the_reason(tmp_path: Path, segment: Path) -> None:
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXTINF:2.0,\n{segment}\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with pytest.raises((NotAVideoError, VideoError)) as exc:
        open_video(playlist)
    assert str(playlist) in str(exc.value)
