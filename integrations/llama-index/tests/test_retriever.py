"""GenSVideoRetriever: one ImageNode per chosen frame, with the right picture, timestamp and score."""

from __future__ import annotations

import base64
import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessDeniedError, AccessPolicy, InvalidArgumentError, TimeRangeError, UniformSampler
from gens_tools.synthetic import read_time_code
from llama_index.core.schema import ImageNode, QueryBundle
from PIL import Image

from llama_index.tools.gens import GenSVideoRetriever, VideoQueryBundle


def _painted_time(node: ImageNode) -> float:
    with Image.open(io.BytesIO(base64.b64decode(node.image))) as img:
        assert img.format == "JPEG"
        return read_time_code(img.convert("RGB"))


def test_nodes_are_the_highest_scored_frames_with_their_pictures(video: Path, sampler: Any, fakes: Any) -> None:
    retriever = GenSVideoRetriever(video, sampler=sampler, k=4, cache=False)
    results = retriever.retrieve("When does the ball bounce?")

    assert sampler.calls, "the sampler was asked to score the frames"
    assert all(q == "When does the ball bounce?" for _, q in sampler.calls)
    assert [r.node.metadata["timestamp_s"] for r in results] == [4.0, 5.0, 12.0, 13.0]
    assert [r.score for r in results] == [5.0, 5.0, 3.0, 4.0]
    for r in results:
        node = r.node
        assert isinstance(node, ImageNode)
        assert node.image_mimetype == "image/jpeg"
        t = node.metadata["timestamp_s"]
        assert _painted_time(node) == pytest.approx(t, abs=1e-3)  # the picture really is that frame
        assert node.metadata["start"] == t
        assert node.metadata["end"] == pytest.approx(t + 1.0)
        assert node.metadata["score"] == r.score
        assert node.metadata["source"] == str(video)
        assert f"[00:00:{int(t):02d}.0]" in node.text
        assert "clock.mp4" in node.text
        # the caption and the useful metadata reach an LLM; bookkeeping does not
        llm_text = node.get_content(metadata_mode="llm")
        assert "timestamp_s" in llm_text
        assert "frame_index" not in llm_text
    # frames inside a scored span carry it
    by_t = {r.node.metadata["timestamp_s"]: r.node.metadata for r in results}
    assert (by_t[4.0]["span_start"], by_t[4.0]["span_end"]) == (4.0, 6.0)
    assert (by_t[13.0]["span_start"], by_t[13.0]["span_end"]) == (13.0, 14.0)


async def test_async_retrieval_matches_sync(video: Path, sampler: Any) -> None:
    retriever = GenSVideoRetriever(video, sampler=sampler, k=3, cache=False, image_max_side=64)
    sync = retriever.retrieve("q")
    async_ = await retriever.aretrieve("q")
    assert [n.node.metadata["timestamp_s"] for n in async_] == [n.node.metadata["timestamp_s"] for n in sync]
    assert [n.score for n in async_] == [5.0, 5.0, 4.0]
    for n in async_:
        with Image.open(io.BytesIO(base64.b64decode(n.node.image))) as img:
            assert max(img.size) == 64


def test_query_bundle_gives_video_range_and_k(video: Path, sampler: Any) -> None:
    retriever = GenSVideoRetriever(sampler=sampler, k=8, cache=False)  # not bound to a video
    results = retriever.retrieve(
        VideoQueryBundle(query_str="what is shown?", video=str(video), start="0:10", end=16, k=2)
    )
    assert [r.node.metadata["timestamp_s"] for r in results] == [12.0, 13.0]
    assert all(10.0 <= r.node.metadata["timestamp_s"] < 16.0 for r in results)

    with pytest.raises(InvalidArgumentError, match="video is required"):
        retriever.retrieve("no video named anywhere")
    with pytest.raises(InvalidArgumentError, match="video is required"):
        retriever.retrieve(QueryBundle(query_str="plain bundle"))


def test_uniform_sampling_gives_unscored_evenly_spread_frames(video: Path) -> None:
    retriever = GenSVideoRetriever(video, sampler=UniformSampler(), k=4, cache=False)
    results = retriever.retrieve("anything")
    stamps = [r.node.metadata["timestamp_s"] for r in results]
    assert len(stamps) == 4
    assert all(r.score is None and r.node.metadata["score"] is None for r in results)
    assert "unscored" in results[0].node.text
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 4.0  # spread over the 20 s, not bunched


def test_policy_refuses_videos_outside_the_allowed_folders(video: Path, tmp_path: Path, sampler: Any) -> None:
    elsewhere = AccessPolicy.allow([tmp_path / "other"])
    with pytest.raises(AccessDeniedError, match="outside the allowed folders"):
        GenSVideoRetriever(video, sampler=sampler, policy=elsewhere)

    allowed = AccessPolicy.allow([video.parent], max_k=4, max_duration=8)
    retriever = GenSVideoRetriever(sampler=sampler, policy=allowed, k=2, cache=False)
    with pytest.raises(AccessDeniedError):
        retriever.retrieve(VideoQueryBundle(query_str="q", video="/etc/hosts"))
    with pytest.raises(AccessDeniedError):
        retriever.retrieve(VideoQueryBundle(query_str="q", video=str(video.parent / ".." / "x.mp4")))
    with pytest.raises(InvalidArgumentError, match="more than this tool allows"):
        retriever.retrieve(VideoQueryBundle(query_str="q", video=str(video), k=5))
    # the whole 20 s video is longer than the 8 s this policy allows per call
    with pytest.raises(InvalidArgumentError, match="at most 8s per call"):
        retriever.retrieve(VideoQueryBundle(query_str="q", video=str(video)))
    ok = retriever.retrieve(VideoQueryBundle(query_str="q", video=str(video), start=2, end=8))
    assert [r.node.metadata["timestamp_s"] for r in ok] == [4.0, 5.0]


def test_bad_configuration_fails_at_construction(video: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="k must be"):
        GenSVideoRetriever(video, k=0)
    with pytest.raises(TimeRangeError):
        GenSVideoRetriever(video, start=10, end=5)
    with pytest.raises(InvalidArgumentError, match="unknown sampler"):
        GenSVideoRetriever(video, sampler="no-such-sampler")
    with pytest.raises(InvalidArgumentError, match="sampler must be a FrameSampler"):
        GenSVideoRetriever(video, sampler=object())  # type: ignore[arg-type]


def test_range_outside_the_video_is_a_time_range_error(video: Path, sampler: Any) -> None:
    retriever = GenSVideoRetriever(video, sampler=sampler, k=2, cache=False)
    with pytest.raises(TimeRangeError, match="past the end"):
        retriever.retrieve(VideoQueryBundle(query_str="q", start=5, end=99))
