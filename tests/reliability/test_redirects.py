"""Redirects are followed by gens-tools itself, one checked hop at a time: a redirect from an allowed URL to
another host, or out of the allowed prefix, is refused before anything is fetched from there."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gens_tools._redirects import MAX_REDIRECTS, resolve_redirects
from gens_tools.agent import AccessPolicy
from gens_tools.errors import AccessDeniedError, VideoError, VideoNotFoundError
from gens_tools.testing import FakeVideoHost


@pytest.fixture
def host(tmp_path: Path) -> Iterator[FakeVideoHost]:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "a.mp4").write_bytes(b"\x00" * 100)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "b.mp4").write_bytes(b"\x00" * 100)
    with FakeVideoHost(tmp_path, lifetime=60.0) as server:
        yield server


@pytest.fixture
def other(tmp_path: Path) -> Iterator[FakeVideoHost]:
    with FakeVideoHost(tmp_path, lifetime=60.0) as server:
        yield server


def policy(host: FakeVideoHost) -> AccessPolicy:
    return AccessPolicy.allow(url_prefixes=[host.url("videos/")])


def test_a_url_without_redirects_is_itself(host: FakeVideoHost) -> None:
    url = host.url("videos/a.mp4")
    assert resolve_redirects(url, policy(host).check, timeout=5) == url


def test_a_redirect_within_the_prefix_is_followed(host: FakeVideoHost) -> None:
    start = host.redirect("videos/old.mp4", "/videos/a.mp4", status=301)
    assert resolve_redirects(start, policy(host).check, timeout=5) == host.url("videos/a.mp4")


def test_a_redirect_out_of_the_prefix_is_refused_unfollowed(host: FakeVideoHost) -> None:
    start = host.redirect("videos/go.mp4", "/secret/b.mp4")
    with pytest.raises(AccessDeniedError, match=r"redirects to .*secret/b\.mp4, which may not be opened"):
        resolve_redirects(start, policy(host).check, timeout=5)
    assert host.requests_for("secret/b.mp4") == 0


def test_a_redirect_to_another_host_is_refused_unfollowed(host: FakeVideoHost, other: FakeVideoHost) -> None:
    start = host.redirect("videos/go.mp4", other.url("videos/a.mp4"), status=307)
    with pytest.raises(AccessDeniedError, match="not under an allowed prefix"):
        resolve_redirects(start, policy(host).check, timeout=5)
    assert other.requested == []


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x.mp4", "concat:/etc/passwd"])
def test_a_redirect_to_another_scheme_is_refused(host: FakeVideoHost, target: str) -> None:
    start = host.redirect("videos/go.mp4", target)
    with pytest.raises(AccessDeniedError):
        resolve_redirects(start, policy(host).check, timeout=5)


def test_a_redirect_loop_ends(host: FakeVideoHost) -> None:
    host.redirect("videos/x.mp4", "/videos/y.mp4")
    host.redirect("videos/y.mp4", "/videos/x.mp4")
    with pytest.raises(VideoError, match=f"more than {MAX_REDIRECTS} times"):
        resolve_redirects(host.url("videos/x.mp4"), policy(host).check, timeout=5)
    assert len(host.requested) == MAX_REDIRECTS + 1


def test_a_redirect_with_credentials_is_refused(host: FakeVideoHost) -> None:
    start = host.redirect("videos/go.mp4", f"http://user:pw@127.0.0.1:{host.origin.rsplit(':', 1)[1]}/videos/a.mp4")
    with pytest.raises(AccessDeniedError, match="credentials"):
        resolve_redirects(start, policy(host).check, timeout=5)


def test_a_missing_file_is_not_found(host: FakeVideoHost) -> None:
    with pytest.raises(VideoNotFoundError):
        resolve_redirects(host.url("videos/none.mp4"), policy(host).check, timeout=5)


def test_upper_case_schemes_and_hosts_come_back_normalised(host: FakeVideoHost) -> None:
    url = host.url("videos/a.mp4").replace("http://", "HTTP://")
    assert policy(host).check(url) == host.url("videos/a.mp4")
    assert resolve_redirects(url, policy(host).check, timeout=5) == host.url("videos/a.mp4")


class _Drip(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
        for i in range(len(data)):
            try:
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.5)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_dripping_server_is_cut_off_at_the_timeout() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(VideoError, match="no answer within 1s"):
            resolve_redirects(f"http://127.0.0.1:{httpd.server_port}/v.mp4", timeout=1.0)
        assert time.perf_counter() - t0 < 6
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_unreachable_host_is_a_video_error() -> None:
    with pytest.raises(VideoError, match="connection refused"):
        resolve_redirects("http://127.0.0.1:9/v.mp4", timeout=2)


# --- through the pipeline, with FFmpeg ----------------------------------------------------------------------


@pytest.fixture
def video_host(tmp_path: Path) -> Iterator[FakeVideoHost]:
    from gens_tools.synthetic import make_test_video

    make_test_video(tmp_path / "videos" / "clip.mp4", duration=6.0, fps=5.0, size=(96, 54))
    make_test_video(tmp_path / "secret" / "private.mp4", duration=3.0, fps=5.0, size=(96, 54))
    with FakeVideoHost(tmp_path, lifetime=60.0) as server:
        yield server


def _frames_of(url: str, policy: AccessPolicy, cache: Any, k: int = 3) -> Any:
    from gens_tools.pipeline import sample_frames

    return sample_frames(url, "What is shown?", sampler="uniform", k=k, policy=policy, cache=cache)


def test_a_redirect_out_of_the_prefix_is_refused_before_ffmpeg_fetches_it(video_host: FakeVideoHost) -> None:
    start = video_host.redirect("videos/go.mp4", "/secret/private.mp4")
    with pytest.raises(AccessDeniedError, match=r"private\.mp4"):
        _frames_of(start, policy(video_host), False)
    assert video_host.requests_for("secret/private.mp4") == 0


def test_a_redirect_to_another_host_is_refused_through_the_agent_tool(
    video_host: FakeVideoHost, other: FakeVideoHost
) -> None:
    from gens_tools.agent import VideoFramesTool, tool_error_text

    start = video_host.redirect("videos/go.mp4", other.url("videos/clip.mp4"), status=301)
    tool = VideoFramesTool(policy=policy(video_host), sampler="uniform", cache=False)
    with pytest.raises(AccessDeniedError) as caught:
        tool.run({"video": start, "question": "What is shown?", "k": 2})
    assert tool_error_text(caught.value).startswith("Access denied:")
    assert other.requested == []


def test_an_allowed_redirect_is_followed_and_the_cache_keys_on_the_final_url(
    video_host: FakeVideoHost, tmp_path: Path
) -> None:
    from gens_tools.video import FrameCache

    start = video_host.redirect("videos/latest.mp4", "/videos/clip.mp4", status=302)
    cache = FrameCache(tmp_path / "frames")
    selection = _frames_of(start, policy(video_host), cache, k=6)  # the whole 6 s grid: decoded via the cache
    assert len(selection.frames) == 6
    (entry,) = cache.entries()
    assert entry.source == video_host.url("videos/clip.mp4")
    assert video_host.requests_for("videos/latest.mp4") == 1  # only the check; FFmpeg got the final URL


def test_upper_case_urls_open_through_the_policy(video_host: FakeVideoHost) -> None:
    url = video_host.url("videos/clip.mp4").replace("http://127.0.0.1", "HTTP://127.0.0.1")
    assert len(_frames_of(url, policy(video_host), False).frames) == 3


def test_a_server_that_redirects_ffmpeg_later_is_not_followed(video_host: FakeVideoHost) -> None:
    # The first request (the check) is served; every later one (FFmpeg's) redirects out of the prefix.
    start = video_host.redirect("videos/clip.mp4", "/secret/private.mp4", after=1)
    with pytest.raises(VideoError):
        _frames_of(start, policy(video_host), False)
    assert video_host.requests_for("secret/private.mp4") == 0


def test_mcp_video_info_checks_redirects_too(video_host: FakeVideoHost) -> None:
    from gens_tools.agent import VideoFramesTool
    from gens_tools.mcp._tools import VideoTools

    start = video_host.redirect("videos/go.mp4", "/secret/private.mp4")
    tools = VideoTools(VideoFramesTool(policy=policy(video_host), sampler="uniform", cache=False))
    result = tools.call("video_info", {"video": start})
    assert result.is_error
    assert "Access denied" in result.content[0].text
    assert video_host.requests_for("secret/private.mp4") == 0
