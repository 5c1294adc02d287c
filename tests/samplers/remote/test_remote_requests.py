"""The remote sampler against a real local HTTP server: request layout, concurrency, order, laziness,
usage, prefix caching, keys and options."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from gens_tools.errors import InvalidArgumentError, SamplerError, VideoError
from gens_tools.progress import ProgressEvent
from gens_tools.samplers._base import Window
from gens_tools.samplers._registry import make_sampler
from gens_tools.samplers.remote import CACHE_KEY_HEADER, RemoteGenSSampler
from gens_tools.testing import FakeGenSServer, Seen, coded_window, coded_windows

MODEL = "gens-test"


def relevant(scores: list[float] | None) -> dict[int, float]:
    assert scores is not None
    return {i: s for i, s in enumerate(scores) if s > 0}


def loop_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gens-remote-loop")


def test_one_window_is_sent_in_gens_layout(fake_server: FakeGenSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    times = [100.0 + i for i in range(12)]
    window = coded_window(0, times, size=(640, 360))
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler:
        result = sampler.score_window(window, "  Qu'arrive-t-il à l'écran between 103 and 105 seconds? ")

    assert fake_server.problems == []  # labels, order, data URLs, question, instruction, greedy, max_tokens
    (seen,) = fake_server.requests
    assert seen.n_images == 12
    assert seen.times == times  # image i is frame i: label [i] points at the right picture
    assert seen.question == "Qu'arrive-t-il à l'écran between 103 and 105 seconds?"
    assert all(size == (640, 360) for size in seen.image_sizes)  # sent as given (no max_side)
    assert seen.body["temperature"] == 0
    assert seen.body["max_tokens"] == 128
    assert seen.headers["authorization"] == "Bearer EMPTY"  # no key configured: placeholder for vLLM
    assert result.window_index == 0
    assert relevant(result.scores) == {2: 2, 3: 5, 4: 5, 5: 5, 6: 2}
    assert result.raw_output is not None
    assert result.raw_output.startswith("{")
    assert result.issues == []
    assert not result.repaired


def test_windows_run_concurrently_and_come_back_in_order(make_server) -> None:
    # Window 0 is the slowest, so later windows finish first; results must still come in window order.
    server = make_server(delay=lambda seen: 0.6 if seen.times[0] == 0 else 0.05)
    windows = coded_windows(8, 10)
    events: list[ProgressEvent] = []
    with RemoteGenSSampler(server.url, MODEL, concurrency=4) as sampler:
        results = list(
            sampler.score_windows(windows, "What happens between 15 and 24 seconds?", total=8, progress=events.append)
        )

    assert [r.window_index for r in results] == list(range(8))
    assert server.peak_in_flight == 4  # really concurrent, and never more than asked
    assert server.problems == []
    assert relevant(results[1].scores) == {4: 2, **{i: 5 for i in range(5, 10)}}
    assert relevant(results[2].scores) == {**{i: 5 for i in range(5)}, 5: 2}
    for r in (results[0], *results[3:]):
        assert relevant(r.scores) == {}
    assert [(e.stage, e.done, e.total) for e in events] == [("score", i, 8) for i in range(1, 9)]


def hold_first_window_until_the_rest_arrived(server_box: list[FakeGenSServer], n_windows: int):
    """A server delay that keeps window 0 (the frame at 0 s) pending until every other window was received."""

    def delay(seen: Seen) -> float:
        if seen.times and seen.times[0] == 0.0:
            server = server_box[0]
            for _ in range(1000):
                if len(server.requests) >= n_windows:
                    break
                threading.Event().wait(0.01)
        return 0.0

    return delay


class FrameTracker:
    """Makes windows of coded frames and tracks how many of their images are still alive."""

    def __init__(self, per_window: int) -> None:
        self.per_window = per_window
        self.refs: list[weakref.ref] = []
        self.pulled = 0

    def alive(self) -> float:
        """Windows' worth of frame images still alive."""
        gc.collect()
        return sum(r() is not None for r in self.refs) / self.per_window

    def make(self, w: int) -> Window:
        window = coded_window(w, [float(w * self.per_window + i) for i in range(self.per_window)])
        self.refs += [weakref.ref(f.image) for f in window.frames]
        self.pulled += 1
        return window


def test_a_slow_first_window_does_not_stall_the_others(make_server) -> None:
    # Results come in window order, but a pending first window must not hold up the requests behind it.
    box: list[FakeGenSServer] = []
    box.append(make_server(delay=hold_first_window_until_the_rest_arrived(box, 12)))
    concurrency = 3
    tracker = FrameTracker(per_window=5)

    with RemoteGenSSampler(box[0].url, MODEL, concurrency=concurrency) as sampler:
        stream = sampler.score_windows((tracker.make(w) for w in range(12)), "anything")
        first = next(stream)
        pulled_before_first = tracker.pulled
        rest = list(stream)

    assert first.window_index == 0
    assert [r.window_index for r in rest] == list(range(1, 12))
    assert pulled_before_first == 12  # the other windows went through while window 0 was pending
    assert box[0].peak_in_flight <= concurrency


async def test_async_scoring_is_concurrent_ordered_and_lazy(make_server) -> None:
    box: list[FakeGenSServer] = []
    box.append(make_server(delay=hold_first_window_until_the_rest_arrived(box, 6)))
    tracker = FrameTracker(per_window=10)

    async def produce() -> AsyncIterator[Window]:
        for w in range(6):
            yield tracker.make(w)

    sampler = RemoteGenSSampler(box[0].url, MODEL, concurrency=2)
    events: list[ProgressEvent] = []
    results = []
    pulled_at_first = None
    async for result in sampler.ascore_windows(produce(), "between 52 and 53", total=6, progress=events.append):
        results.append(result)
        pulled_at_first = tracker.pulled if pulled_at_first is None else pulled_at_first
    assert [r.window_index for r in results] == list(range(6))
    assert relevant(results[5].scores) == {1: 2, 2: 5, 3: 5, 4: 2}
    assert box[0].peak_in_flight == 2
    assert pulled_at_first == 6
    assert [e.done for e in events] == [1, 2, 3, 4, 5, 6]
    single = await sampler.ascore_window(coded_window(9, [7.0, 8.0]), "between 8 and 9")
    assert relevant(single.scores) == {0: 2, 1: 5}


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the sampler"
        time.sleep(0.01)


def held_by(gate: threading.Event) -> Callable[[Seen], float]:
    """A server delay that holds every request until ``gate`` is set."""

    def delay(seen: Seen) -> float:
        gate.wait(20)
        return 0.0

    return delay


def test_while_requests_wait_only_encoded_windows_are_held(make_server) -> None:
    # The server holds every request. The sampler may take `concurrency` windows for the requests in flight
    # and `concurrency` more, encoded, waiting for a slot; no more, and none of them keeps its frames.
    gate = threading.Event()
    server = make_server(delay=held_by(gate), read_images=False)
    concurrency = 3
    tracker = FrameTracker(per_window=5)
    results: list = []
    with RemoteGenSSampler(server.url, MODEL, concurrency=concurrency) as sampler:

        def consume() -> None:
            results.extend(sampler.score_windows((tracker.make(w) for w in range(12)), "q"))

        worker = threading.Thread(target=consume)
        worker.start()
        try:
            wait_until(lambda: server.in_flight == concurrency)
            time.sleep(0.3)  # every chance to take more windows than it should
            wait_until(lambda: tracker.alive() == 0, timeout=5.0)  # encoding done: frames released
            pulled, in_flight = tracker.pulled, server.in_flight
        finally:
            gate.set()
            worker.join(20)
    assert in_flight == concurrency
    assert pulled == 2 * concurrency
    assert [r.window_index for r in results] == list(range(12))


async def test_async_scoring_holds_the_same_bounds(make_server) -> None:
    gate = threading.Event()
    server = make_server(delay=held_by(gate), read_images=False)
    tracker = FrameTracker(per_window=5)

    async def produce() -> AsyncIterator[Window]:
        for w in range(10):
            yield tracker.make(w)

    sampler = RemoteGenSSampler(server.url, MODEL, concurrency=2)

    async def consume() -> list:
        return [r async for r in sampler.ascore_windows(produce(), "q")]

    task = asyncio.ensure_future(consume())
    try:
        for _ in range(1000):
            if server.in_flight == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # every chance to take more windows than it should
        for _ in range(50):
            if tracker.alive() == 0:  # encoding done: frames released
                break
            await asyncio.sleep(0.1)
        pulled, alive, in_flight = tracker.pulled, tracker.alive(), server.in_flight
    finally:
        gate.set()
    results = await task
    assert in_flight == 2
    assert pulled == 4
    assert alive == 0
    assert [r.window_index for r in results] == list(range(10))


def test_usage_and_request_size_are_recorded(fake_server: FakeGenSServer) -> None:
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler:
        result = sampler.score_window(coded_window(0, [float(i) for i in range(20)]), "between 3 and 4")
    (seen,) = fake_server.requests
    usage = result.usage
    assert usage["requests"] == 1
    assert usage["retries"] == 0
    assert usage["prompt_tokens"] == 20 * 100 + 120  # what the server reported
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["latency_s"] > 0
    # The size guard measures the very body that goes over the wire.
    assert usage["request_bytes"] == seen.body_bytes


def test_a_second_question_reuses_the_servers_prefix_cache(fake_server: FakeGenSServer) -> None:
    windows = coded_windows(3, 8)
    with RemoteGenSSampler(fake_server.url, MODEL, concurrency=3) as sampler:
        first = list(sampler.score_windows(windows, "between 2 and 3"))
        second = list(sampler.score_windows(windows, "What happens between 17 and 18 seconds?"))
    assert [r.usage["cached_tokens"] for r in first] == [0, 0, 0]
    # Frames come before the question and encode identically, so the whole image prefix is cached.
    assert [r.usage["cached_tokens"] for r in second] == [8 * 100] * 3
    keys = [s.headers[CACHE_KEY_HEADER.lower()] for s in fake_server.requests]
    by_window = {}
    for seen, key in zip(fake_server.requests, keys, strict=True):
        by_window.setdefault(seen.times[0], set()).add(key)
    assert all(len(k) == 1 for k in by_window.values())  # same window, same key, whatever the question
    assert len({next(iter(k)) for k in by_window.values()}) == 3  # different windows, different keys


def test_api_key_comes_from_the_argument_or_the_environment(make_server, monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_server(api_key="k-right")
    window = coded_window(0, [1.0, 2.0])
    monkeypatch.setenv("OPENAI_API_KEY", "k-right")
    with RemoteGenSSampler(server.url, MODEL) as sampler:
        assert sampler.score_window(window, "q").scores == [0.0, 0.0]
    monkeypatch.setenv("OPENAI_API_KEY", "k-wrong")
    monkeypatch.setenv("MY_GENS_KEY", "k-right")
    with RemoteGenSSampler(server.url, MODEL, api_key_env="MY_GENS_KEY") as sampler:
        assert sampler.score_window(window, "q").scores == [0.0, 0.0]
    with RemoteGenSSampler(server.url, MODEL, api_key="k-right") as sampler:
        assert sampler.score_window(window, "q").scores == [0.0, 0.0]
    assert [s.headers["authorization"] for s in server.requests] == ["Bearer k-right"] * 3


def test_a_rejected_key_raises_without_showing_it(make_server) -> None:
    server = make_server(api_key="k-right")
    secret = "sk-very-secret-123456"
    sampler = RemoteGenSSampler(server.url, MODEL, api_key=secret)
    assert secret not in repr(sampler)
    with pytest.raises(SamplerError) as info, sampler:
        list(sampler.score_windows(coded_windows(3, 2), "q"))
    message = str(info.value)
    assert "401" in message
    assert server.url in message
    assert MODEL in message
    assert secret not in message


def test_hosted_model_options_shape_the_request(fake_server: FakeGenSServer) -> None:
    sampler = RemoteGenSSampler(
        fake_server.url,
        MODEL,
        image_detail="low",
        max_tokens=77,
        max_tokens_param="max_completion_tokens",
        temperature=None,
        extra_body={"top_k": 1},
        default_headers={"X-Team": "video"},
        max_side=64,
    )
    with sampler:
        result = sampler.score_window(coded_window(0, [5.0, 6.0, 7.0], size=(320, 180)), "between 6 and 6")
    (seen,) = fake_server.requests
    body = seen.body
    assert "max_tokens" not in body
    assert body["max_completion_tokens"] == 77
    assert "temperature" not in body
    assert body["top_k"] == 1
    assert seen.headers["x-team"] == "video"
    images = [p for p in body["messages"][0]["content"] if p["type"] == "image_url"]
    assert [p["image_url"]["detail"] for p in images] == ["low"] * 3
    assert all(max(size) == 64 for size in seen.image_sizes)
    assert sampler.preferred_max_side == 64  # what the pipeline is asked to decode
    assert relevant(result.scores) == {0: 2, 1: 5, 2: 2}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"base_url": "localhost:8000/v1"}, "http(s) URL"),
        ({"base_url": "ftp://host/v1"}, "http(s) URL"),
        ({"base_url": ""}, "base_url"),
        ({"base_url": "http://127.0.0.1:80a/v1"}, "port"),
        ({"model": " "}, "model"),
        ({"concurrency": 0}, "concurrency"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_side": 8}, "max_side"),
        ({"max_side": 200, "min_side": 300}, "min_side"),
        ({"jpeg_quality": 0}, "jpeg_quality"),
        ({"max_request_bytes": 100}, "max_request_bytes"),
        ({"max_images_per_request": 0}, "max_images_per_request"),
        ({"max_tokens_param": "tokens"}, "max_tokens_param"),
        ({"temperature": -1}, "temperature"),
        ({"image_detail": "ultra"}, "image_detail"),
        ({"concurrency": True}, "concurrency"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(kwargs: dict, needle: str) -> None:
    settings = {"base_url": "http://127.0.0.1:8000/v1", "model": MODEL, **kwargs}
    with pytest.raises(InvalidArgumentError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        RemoteGenSSampler(**settings)


def test_a_bad_base_url_is_refused_without_showing_its_password() -> None:
    with pytest.raises(InvalidArgumentError, match="invalid port") as info:
        RemoteGenSSampler("http://user:s3cret@127.0.0.1:80a/v1", MODEL)
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:80a" in str(info.value)


def test_empty_question_is_refused(fake_server: FakeGenSServer) -> None:
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler, pytest.raises(InvalidArgumentError):
        list(sampler.score_windows(coded_windows(1, 2), "   "))
    assert fake_server.requests == []


def test_frames_without_images_are_a_clear_error(fake_server: FakeGenSServer) -> None:
    from gens_tools.frames import Frame

    window = Window(0, [Frame(timestamp=1.0)])
    with RemoteGenSSampler(fake_server.url, MODEL) as sampler, pytest.raises(InvalidArgumentError, match="image"):
        sampler.score_window(window, "q")


def test_registry_builds_it_and_close_releases_the_loop(fake_server: FakeGenSServer) -> None:
    before = loop_threads()
    sampler = make_sampler("remote", base_url=fake_server.url, model=MODEL, api_key=None, concurrency=2)
    assert isinstance(sampler, RemoteGenSSampler)
    assert sampler.preferred_max_side == 448
    assert sampler.needs_images
    assert sampler.score_window(coded_window(0, [1.0]), "between 1 and 1").scores == [5.0]
    assert loop_threads() == before + 1
    sampler.close()
    sampler.close()
    assert loop_threads() == before
    # Usable again after close: a new loop starts on demand.
    assert sampler.score_window(coded_window(1, [2.0]), "between 9 and 9").scores == [0.0]
    sampler.close()
    assert loop_threads() == before


def test_an_error_from_the_window_source_propagates(make_server) -> None:
    server = make_server(delay=0.2)

    def produce() -> Iterator[Window]:
        yield from coded_windows(2, 3)
        raise VideoError("the file ended early")

    with RemoteGenSSampler(server.url, MODEL, concurrency=2) as sampler, pytest.raises(VideoError, match="ended"):
        list(sampler.score_windows(produce(), "q"))


def test_seen_request_records_are_complete(fake_server: FakeGenSServer) -> None:
    # Guard for the fake server itself: a malformed request is reported, not silently answered.
    import json
    import urllib.request

    body = {"model": MODEL, "messages": [{"role": "user", "content": "just text"}], "max_tokens": 5}
    request = urllib.request.Request(
        fake_server.url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400
    assert fake_server.problems
    assert isinstance(fake_server.requests[0], Seen)


def test_requests_go_out_in_window_order_even_when_a_later_window_encodes_faster(
    fake_server: FakeGenSServer,
) -> None:
    slow = coded_window(0, [float(i) for i in range(30)], size=(640, 360))  # much more to encode
    fast = coded_window(1, [100.0])
    with RemoteGenSSampler(fake_server.url, MODEL, concurrency=1) as sampler:
        results = list(sampler.score_windows([slow, fast], "q"))
    assert [r.window_index for r in results] == [0, 1]
    assert [s.times[0] for s in fake_server.requests] == [0.0, 100.0]
