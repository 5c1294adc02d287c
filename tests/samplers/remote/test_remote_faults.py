"""Fault injection against the local server: retries, timeouts, bad bodies, bad answers, unreachable
servers, rejected keys and models, and the request-size guard."""

from __future__ import annotations

import socket

import pytest

from gens_tools.errors import SamplerError
from gens_tools.samplers._base import Window
from gens_tools.samplers.remote import RemoteGenSSampler
from gens_tools.testing import FakeGenSServer, Fault, coded_window, coded_windows

MODEL = "gens-test"
QUESTION = "What happens between 3 and 4 seconds?"


def relevant(scores: list[float] | None) -> dict[int, float]:
    assert scores is not None
    return {i: s for i, s in enumerate(scores) if s > 0}


def window_0_to_7() -> Window:
    return coded_window(0, [float(i) for i in range(8)])


EXPECTED = {2: 2, 3: 5, 4: 5, 5: 2}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_transient_error_is_retried_by_the_sdk(fake_server: FakeGenSServer, status: int) -> None:
    fake_server.inject(Fault("status", status))
    with RemoteGenSSampler(fake_server.url, MODEL, max_retries=2) as sampler:
        result = sampler.score_window(window_0_to_7(), QUESTION)
    assert relevant(result.scores) == EXPECTED
    assert result.issues == []
    assert result.usage["retries"] == 1
    assert len(fake_server.requests) == 2
    assert [s.headers.get("x-stainless-retry-count") for s in fake_server.requests] == ["0", "1"]


def test_a_window_that_keeps_failing_comes_back_unscored(fake_server: FakeGenSServer) -> None:
    fake_server.inject(*[Fault("status", 500)] * 3)
    windows = [window_0_to_7(), coded_window(1, [8.0, 9.0])]
    with RemoteGenSSampler(fake_server.url, MODEL, max_retries=2, concurrency=1) as sampler:
        first, second = sampler.score_windows(windows, QUESTION)
    assert first.scores is None
    assert any("HTTP 500" in issue and "injected" in issue for issue in first.issues)
    # 1 + 2 retries for window 0, then window 1: requests go out in window order.
    assert [s.times[0] for s in fake_server.requests] == [0.0, 0.0, 0.0, 8.0]
    assert second.scores == [0.0, 0.0]
    assert second.issues == []


def test_a_request_that_hangs_times_out_and_is_retried(fake_server: FakeGenSServer) -> None:
    fake_server.inject(Fault("hang", seconds=5.0))
    with RemoteGenSSampler(fake_server.url, MODEL, timeout=0.5, max_retries=1) as sampler:
        result = sampler.score_window(window_0_to_7(), QUESTION)
    assert relevant(result.scores) == EXPECTED
    assert result.usage["retries"] == 1
    assert len(fake_server.requests) == 2


def test_a_server_that_never_answers_in_time_leaves_the_window_unscored(fake_server: FakeGenSServer) -> None:
    fake_server.inject(Fault("hang", seconds=5.0), Fault("hang", seconds=5.0))
    with RemoteGenSSampler(fake_server.url, MODEL, timeout=0.4, max_retries=1) as sampler:
        (result,) = sampler.score_windows([window_0_to_7()], QUESTION)
    assert result.scores is None
    assert any("timed out after 0.4s" in issue for issue in result.issues)
    assert len(fake_server.requests) == 2


def test_a_body_that_is_not_json_leaves_the_window_unscored(fake_server: FakeGenSServer) -> None:
    fake_server.inject(Fault("not-json"))
    windows = [window_0_to_7(), coded_window(1, [8.0])]
    with RemoteGenSSampler(fake_server.url, MODEL, concurrency=1) as sampler:
        first, second = sampler.score_windows(windows, QUESTION)
    assert first.scores is None
    assert any("not JSON" in issue and "502 Bad Gateway" in issue for issue in first.issues)
    assert second.scores == [0.0]


def test_an_answer_that_is_not_gens_json_leaves_the_window_unscored(fake_server: FakeGenSServer) -> None:
    prose = "I'm sorry, I cannot tell which frames matter from these images."
    fake_server.inject(Fault("text", text=prose))
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler:
        result = sampler.score_window(window_0_to_7(), QUESTION)
    assert result.scores is None
    assert result.raw_output == prose
    assert any("no JSON relevance object" in issue for issue in result.issues)


def test_a_messy_but_readable_answer_is_repaired(fake_server: FakeGenSServer) -> None:
    fake_server.inject(Fault("text", text='Sure! ```json\n{"3-4": 5, "5s": 2, "99": 4}\n```'))
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler:
        result = sampler.score_window(window_0_to_7(), QUESTION)
    assert relevant(result.scores) == {3: 5, 4: 5, 5: 2}
    assert result.repaired
    assert any("99" in issue for issue in result.issues)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_an_error_that_names_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    sampler = RemoteGenSSampler(url, MODEL, max_retries=1, api_key="sk-do-not-show")
    with sampler, pytest.raises(SamplerError) as info:
        list(sampler.score_windows(coded_windows(3, 2), QUESTION))
    message = str(info.value)
    assert "cannot reach" in message
    assert url in message
    assert MODEL in message
    assert "sk-do-not-show" not in message


def test_a_server_lost_mid_run_leaves_the_rest_unscored(make_server) -> None:
    server = make_server(stop_after=1)  # answers window 0, then goes away for good
    with RemoteGenSSampler(server.url, MODEL, max_retries=1, concurrency=1) as sampler:
        results = list(sampler.score_windows(coded_windows(3, 4), QUESTION))
    assert relevant(results[0].scores) == {2: 2, 3: 5}
    for result in results[1:]:
        assert result.scores is None
        assert any("connection" in issue for issue in result.issues)


def test_an_unknown_model_is_an_error_listing_the_served_ones(fake_server: FakeGenSServer) -> None:
    with RemoteGenSSampler(fake_server.url, "gens-typo") as sampler, pytest.raises(SamplerError) as info:
        list(sampler.score_windows(coded_windows(2, 2), QUESTION))
    message = str(info.value)
    assert "gens-typo" in message
    assert "404" in message
    assert fake_server.url in message
    assert "it serves: gens-test" in message


# ------------------------------------------------------------------ request-size guard


def big_window(n: int = 16) -> Window:
    return coded_window(0, [float(i) for i in range(n)], size=(320, 180))


def full_size(server: FakeGenSServer, window: Window) -> int:
    with RemoteGenSSampler(server.url, MODEL, max_side=None) as sampler:
        result = sampler.score_window(window, QUESTION)
    return int(result.usage["request_bytes"])


def test_an_oversized_window_is_recompressed_or_shrunk_to_fit(make_server) -> None:
    probe = make_server()
    window = big_window()
    size = full_size(probe, window)
    limit = int(size * 0.6)  # more than recompression alone can save on these hard-edged frames
    server = make_server(max_body_bytes=limit)
    with RemoteGenSSampler(server.url, MODEL, max_side=None, max_request_bytes=limit) as sampler:
        result = sampler.score_window(window, QUESTION)
    assert server.rejected == []
    (seen,) = server.requests
    assert seen.body_bytes <= limit
    assert seen.n_images == 16
    assert max(max(s) for s in seen.image_sizes) < 320  # shrunk
    assert result.usage["image_side"] < 320
    assert any("shrunk" in issue for issue in result.issues)
    assert relevant(result.scores) == {2: 2, 3: 5, 4: 5, 5: 2}  # the shrunk frames still read right


def test_a_window_too_big_even_when_shrunk_is_split_and_mapped_back(make_server) -> None:
    probe = make_server()
    window = big_window()
    size = full_size(probe, window)
    limit = size // 4
    server = make_server(max_body_bytes=limit)
    question = "What happens between 6 and 9 seconds?"  # spans the middle of the window
    with RemoteGenSSampler(server.url, MODEL, max_side=None, min_side=160, max_request_bytes=limit) as sampler:
        result = sampler.score_window(window, question)
    assert server.rejected == []
    assert server.problems == []
    assert len(server.requests) >= 2
    assert sum(s.n_images for s in server.requests) == 16
    assert all(s.body_bytes <= limit for s in server.requests)
    assert result.usage["requests"] == len(server.requests)
    assert any("split" in issue for issue in result.issues)
    assert relevant(result.scores) == {5: 2, 6: 5, 7: 5, 8: 5, 9: 5, 10: 2}


def test_more_frames_than_the_server_allows_are_sent_in_parts(make_server) -> None:
    server = make_server(max_images=5)
    window = coded_window(0, [float(i) for i in range(12)])
    with RemoteGenSSampler(server.url, MODEL, max_images_per_request=5) as sampler:
        result = sampler.score_window(window, "between 3 and 8")
    assert [s.n_images for s in server.requests] == [4, 4, 4]
    assert server.problems == []
    assert relevant(result.scores) == {2: 2, **{i: 5 for i in range(3, 9)}, 9: 2}


def test_a_413_lowers_the_limit_for_this_and_later_windows(make_server) -> None:
    probe = make_server()
    size = full_size(probe, big_window())
    server = make_server(max_body_bytes=int(size * 0.6))
    windows = [big_window(), coded_window(1, [100.0 + i for i in range(16)], size=(320, 180))]
    with RemoteGenSSampler(server.url, MODEL, max_side=None, concurrency=1) as sampler:
        first, second = sampler.score_windows(windows, QUESTION)
    assert server.rejected
    assert all(status == 413 for status, _ in server.rejected)
    assert any("HTTP 413" in issue for issue in first.issues)
    assert relevant(first.scores) == {2: 2, 3: 5, 4: 5, 5: 2}
    # The second window is refitted to the lowered limit before it is sent: no rejection of its own.
    assert second.scores is not None
    assert not any("413" in issue for issue in second.issues)
    assert len(server.rejected) == sum("413" in issue for issue in first.issues)
    assert all(s.body_bytes <= int(size * 0.6) for s in server.requests)


def test_a_request_that_cannot_fit_even_one_frame_is_not_sent(fake_server: FakeGenSServer) -> None:
    question = "What happens here? " * 200  # ~3.8 KB of question alone
    with RemoteGenSSampler(fake_server.url, MODEL, max_request_bytes=4096) as sampler:
        result = sampler.score_window(coded_window(0, [1.0, 2.0]), question)
    assert result.scores is None
    assert any("request-size guard" in issue for issue in result.issues)
    assert fake_server.requests == []
