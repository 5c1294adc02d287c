"""The command line around video input: ``info``, ``cache info`` / ``cache clear``, progress bars, and the
frame paths ``sample`` prints, driven through ``gens_tools.cli._main.main`` as a user would."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gens_tools.cli._main import _Bars, main
from gens_tools.progress import ProgressEvent
from gens_tools.synthetic import make_frame_folder, make_test_video, read_time_code
from gens_tools.testing import FakeGenSServer
from gens_tools.video import FrameCache, sampling_grid
from gens_tools.video._pyav import PyAVReader

from .conftest import Clip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GENS_TOOLS_CACHE_DIR", str(tmp_path / "gt-cache"))
    return tmp_path / "gt-cache" / "frames"


@pytest.fixture(scope="module")
def clip_60s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("cli") / "clip60.mp4", duration=60.0, fps=5.0, size=(160, 90))


@pytest.fixture
def gens_server() -> FakeGenSServer:
    server = FakeGenSServer().start()
    yield server  # type: ignore[misc]
    server.stop()


def _fill(video: Path, max_side: int = 96) -> None:
    """Decode ``video`` at 1 fps through the default frame cache (what a scoring sampler does)."""
    reader = PyAVReader(video)
    cache = FrameCache()
    key = cache.key(str(video), fps=1.0, max_side=max_side, start=None, end=None)
    assert len(list(cache.frames(reader, sampling_grid(reader.info, 1.0), key=key))) > 0


def _printed_paths(out: str) -> list[str]:
    return re.findall(r"(/\S+\.jpg)", out)


# --- sample: frame paths -----------------------------------------------------------------------------


def test_no_cache_with_a_scoring_sampler_prints_no_paths_to_deleted_files(
    clip_60s: Path, gens_server: FakeGenSServer, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "sample",
        str(clip_60s),
        "What happens at 20 s?",
        "-k",
        "3",
        "--sampler",
        "remote",
        "--base-url",
        gens_server.url,
        "--model",
        "gens-test",
        "-q",
    ]
    code, out, err = run(capsys, *argv, "--no-cache")
    assert code == 0, err
    assert "3 frames" in out
    assert _printed_paths(out) == []  # the temporary folder is gone: no path to show
    assert not cache_dir.exists()
    # With the cache, the printed paths are real files holding the frames shown.
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    paths = _printed_paths(out)
    assert len(paths) == 3
    for line, path in zip([ln for ln in out.splitlines() if ".jpg" in ln], paths, strict=True):
        seconds = float(line.split()[2])
        with Image.open(path) as img:
            assert read_time_code(img.convert("RGB")) == pytest.approx(seconds, abs=1e-3)


# --- info ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vp9.webm", "h264.mkv"])
def test_info_gives_units_and_a_frame_count_for_matroska(
    container_clips: dict[str, Clip], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = container_clips[name]
    code, out, _ = run(capsys, "info", str(clip.path))
    assert code == 0
    assert "None" not in out
    assert re.search(r"duration: 3\.000 s \(00:00:03\.0\)", out)
    assert re.search(r"fps: (15|10) frames/s", out)
    assert "320 × 180 px" in out
    assert f"about {len(clip.times)}" in out
    code, out, _ = run(capsys, "info", str(clip.path), "--json")
    data = json.loads(out)
    assert data["n_frames"] is None
    assert data["n_frames_estimate"] == len(clip.times)
    assert data["units"]["duration"] == "seconds"


def test_info_on_a_frame_folder_takes_a_frame_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "frames"
    make_frame_folder(folder, 8, fps=2.0, size=(64, 36))
    code, _, err = run(capsys, "info", str(folder))
    assert code == 1
    assert "--frame-rate" in err
    assert "fps=…" not in err.split("--frame-rate")[0]  # the flag comes first, not the Python argument
    code, out, _ = run(capsys, "info", str(folder), "--frame-rate", "2")
    assert code == 0
    assert "duration: 4.000 s" in out
    assert "n_frames: 8" in out


# --- cache info / clear ----------------------------------------------------------------------------------


def test_cache_info_and_clear(
    clip_60s: Path, h264_clip: Clip, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "cache", "info")
    assert code == 0
    assert str(cache_dir) in out
    assert "GENS_TOOLS_CACHE_DIR" in out
    assert "0 entries" in out
    _fill(clip_60s)
    _fill(clip_60s, max_side=48)
    _fill(h264_clip.path)
    code, out, _ = run(capsys, "cache", "info", "--json")
    data = json.loads(out)
    assert data["root"] == str(cache_dir)
    assert data["max_bytes"] == 2 * 1024**3
    assert sorted(Path(e["source"]).name for e in data["entries"]) == ["clip60.mp4", "clip60.mp4", "h264.mp4"]
    assert sum(e["bytes"] for e in data["entries"]) == data["bytes"] > 0
    assert {e["frames"] for e in data["entries"]} == {60, 6}
    code, out, _ = run(capsys, "cache", "info")
    assert "3 entries" in out
    assert out.count("clip60.mp4") == 2

    code, out, _ = run(capsys, "cache", "clear", str(clip_60s))
    assert code == 0
    assert "removed 2 frame cache entries" in out
    remaining = json.loads(run(capsys, "cache", "info", "--json")[1])["entries"]
    assert [Path(e["source"]).name for e in remaining] == ["h264.mp4"]
    code, out, _ = run(capsys, "cache", "clear")
    assert "removed 1 frame cache entry" in out
    assert json.loads(run(capsys, "cache", "info", "--json")[1])["entries"] == []


def test_cache_clear_of_a_missing_video_is_one_line(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "cache", "clear", str(tmp_path / "nope.mp4"))
    assert code == 1
    assert err.count("\n") == 1
    assert "nope.mp4" in err


# --- progress bars ---------------------------------------------------------------------------------------


def test_progress_bars_redraw_at_a_bounded_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = io.StringIO()
    monkeypatch.setattr("sys.stderr", sink)
    bars = _Bars(enabled=True)
    total = 7200  # a two-hour video at 1 fps
    for done in range(1, total + 1):
        bars(ProgressEvent("decode", done, total))
    written_while_running = len(sink.getvalue())
    bars.close()
    assert written_while_running < 4_000  # one redraw per half second at most, and the last one
    assert "7200/7200" in sink.getvalue()


# --- cache fidelity --------------------------------------------------------------------------------------


def test_cached_frames_are_smaller_than_quality_95_and_close_to_the_decoded_ones(
    h264_clip: Clip, tmp_path: Path
) -> None:
    cache = FrameCache(tmp_path / "c")
    reader = PyAVReader(h264_clip.path)
    grid = sampling_grid(reader.info, 1.0)
    key = cache.key(str(h264_clip.path), fps=1.0, max_side=None, start=None, end=None)
    decoded = {f.index: f.image for f in cache.frames(reader, grid, key=key)}
    entry = cache.lookup(key)
    assert entry is not None
    stored = cache.load(key, list(range(len(grid))))
    q95 = 0
    for frame in stored:
        original = decoded[frame.index]
        assert original is not None
        assert frame.image is not None
        diff = np.asarray(frame.image, dtype=np.float64) - np.asarray(original, dtype=np.float64)
        psnr = 10 * np.log10(255**2 / max(1e-9, float((diff**2).mean())))
        assert psnr > 30  # the documented fidelity of quality 80
        assert read_time_code(frame.image) == pytest.approx(frame.timestamp, abs=1e-3)
        buf = io.BytesIO()
        original.save(buf, format="JPEG", quality=95)
        q95 += len(buf.getvalue())
    frame_bytes = sum(f.path.stat().st_size for f in stored if f.path is not None)
    assert frame_bytes < q95
    assert json.loads((entry.path / "manifest.json").read_text())["jpeg_quality"] == 80
