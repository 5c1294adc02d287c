"""An hour-long video through the whole pipeline and the CLI, scored by the fake GenS server over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from gens_tools.cli._main import main
from gens_tools.pipeline._sample import sample_frames
from gens_tools.samplers.remote import RemoteGenSSampler
from gens_tools.synthetic import make_test_video
from gens_tools.testing import FakeGenSServer

MODEL = "gens-test"
QUESTION = "What is shown between 1805 and 1810 seconds?"


@pytest.fixture(scope="module")
def hour_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 minutes at 1 fps, 96×54 px, every frame painted with its own time."""
    return make_test_video(
        tmp_path_factory.mktemp("hour") / "hour.mp4", duration=3600.0, fps=1.0, size=(96, 54), gop=60
    )


@pytest.mark.slow
def test_an_hour_long_video_goes_through_end_to_end(hour_video: Path, make_server) -> None:
    server: FakeGenSServer = make_server()
    with RemoteGenSSampler(server.url, MODEL, concurrency=4) as sampler:
        selection = sample_frames(hour_video, QUESTION, sampler=sampler, k=6, cache=False)

    # 3600 one-second frames in 15 windows of 240, each one request, at most 4 at a time.
    assert server.problems == []
    assert sorted(s.n_images for s in server.requests) == [240] * 15
    assert server.peak_in_flight <= 4
    assert sorted(s.times[0] for s in server.requests) == [240.0 * w for w in range(15)]
    # The fake model found the frames by their painted times; the pipeline mapped its local labels back.
    assert selection.timestamps == [1805.0, 1806.0, 1807.0, 1808.0, 1809.0, 1810.0]
    assert [f.score for f in selection.frames] == [5.0] * 6
    assert len(selection.windows) == 15
    assert all(w.scored for w in selection.windows)
    assert selection.sampler == "remote"
    assert [(s.start, s.end, s.score) for s in selection.spans] == [
        (1804.0, 1805.0, 2.0),
        (1805.0, 1811.0, 5.0),
        (1811.0, 1812.0, 2.0),
    ]


def test_the_cli_uses_the_remote_sampler(
    hour_video: Path, make_server, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server: FakeGenSServer = make_server()
    out = tmp_path / "frames"
    argv = [
        "sample",
        str(hour_video),
        QUESTION,
        "-k",
        "3",
        "--sampler",
        "remote",
        "--base-url",
        server.url,
        "--model",
        MODEL,
        "--start",
        "1700",
        "--end",
        "1900",
        "--quiet",
        "--out",
        str(out),
        "--max-side",
        "80",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert len(server.requests) == 1
    assert server.requests[0].n_images == 200
    assert {size for size in server.requests[0].image_sizes} == {(80, 45)}  # decoded at --max-side, sent as is
    for t in ("1805", "1807", "1810"):  # the relevant span 1805-1810 s: its middle and both ends
        assert t in printed
    assert len(list(out.glob("*.jpg"))) == 3


def test_the_cli_reports_an_unreachable_server(hour_video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = FakeGenSServer().start()
    url = server.url
    server.stop()
    argv = [
        "sample",
        str(hour_video),
        QUESTION,
        "--sampler",
        "remote",
        "--base-url",
        url,
        "--model",
        MODEL,
        "--start",
        "0",
        "--end",
        "300",
        "--quiet",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "cannot reach the GenS server" in err
    assert url in err
