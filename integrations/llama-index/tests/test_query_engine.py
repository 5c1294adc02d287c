"""GenSVideoQueryEngine: the frames reach the model as timestamped ImageBlocks within its limits, and the
Response's source_nodes are exactly the frames it saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessPolicy, AssistantError, ContextTooLongError, EmptyAnswerError, InvalidArgumentError
from gens_tools.assistants import suggest_frame_count
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.schema import ImageNode

from llama_index.tools.gens import GenSVideoQueryEngine, GenSVideoRetriever, VideoQueryBundle


def _sent_images(request: list[Any]) -> list[ImageBlock]:
    return [b for b in request[-1].blocks if isinstance(b, ImageBlock)]


def test_answer_comes_from_the_frames_and_cites_them(video: Path, sampler: Any, vision_llm: Any, fakes: Any) -> None:
    engine = GenSVideoQueryEngine.from_video(video, vision_llm, sampler=sampler, k=4, cache=False)
    response = engine.query("When does the ball bounce?")

    assert len(vision_llm.requests) == 1
    system, user = vision_llm.requests[0]
    assert system.role.value == "system"
    assert "[hh:mm:ss]" in (system.content or "")
    # layout: label, image, label, image, …, then the question; every picture is the frame its label names
    blocks = user.blocks
    assert isinstance(blocks[-1], TextBlock)
    assert blocks[-1].text == "Question: When does the ball bounce?"
    pairs = list(zip(blocks[:-1:2], blocks[1:-1:2], strict=True))
    assert [label.text for label, _ in pairs] == ["[00:00:04]", "[00:00:05]", "[00:00:12]", "[00:00:13]"]
    for label, image in pairs:
        assert isinstance(image, ImageBlock)
        assert image.image_mimetype == "image/jpeg"
        assert image.detail == "high"
        seconds = int(label.text.strip("[]").split(":")[-1])
        assert fakes.read_block_time(image) == pytest.approx(seconds, abs=1e-3)

    assert response.response == "I looked at [00:00:04], [00:00:05], [00:00:12], [00:00:13]"
    stamps = [n.node.metadata["timestamp_s"] for n in response.source_nodes]
    assert stamps == [4.0, 5.0, 12.0, 13.0]
    assert [n.score for n in response.source_nodes] == [5.0, 5.0, 3.0, 4.0]
    assert all(isinstance(n.node, ImageNode) and n.node.image for n in response.source_nodes)
    meta = response.metadata or {}
    assert meta["citations"] == stamps  # parsed from the answer text
    assert meta["timestamps"] == stamps
    assert meta["usage"]["input_tokens"] == 400
    assert meta["estimate"]["n_frames"] == 4
    assert meta["estimate"]["family"] == "gpt-4o"
    assert meta["attempts"] == 1
    assert [s["start"] for s in meta["spans"]] == [4.0, 12.0, 13.0]


def test_frame_budget_honours_the_model_limits(video: Path, sampler: Any, vision_llm: Any, fakes: Any) -> None:
    engine = GenSVideoQueryEngine.from_video(
        video, vision_llm, sampler=sampler, k=4, cache=False, assistant_options={"budget": {"max_images": 3}}
    )
    response = engine.query("q")
    sent = _sent_images(vision_llm.requests[0])
    # only 3 images allowed: the lowest-scored frame (12 s, score 3) is the one left out
    assert sorted(fakes.read_block_time(b) for b in sent) == pytest.approx([4.0, 5.0, 13.0], abs=1e-3)
    assert [n.node.metadata["timestamp_s"] for n in response.source_nodes] == [4.0, 5.0, 13.0]
    assert (response.metadata or {})["estimate"]["n_dropped"] == 1


def test_default_k_is_what_the_model_can_take(video: Path, vision_llm: Any) -> None:
    engine = GenSVideoQueryEngine.from_video(video, vision_llm, cache=False)
    assert engine.retriever.k == suggest_frame_count("gpt-4o")
    capped = GenSVideoQueryEngine.from_video(
        video, vision_llm, cache=False, policy=AccessPolicy.allow([video.parent], max_k=5)
    )
    assert capped.retriever.k == 5


def test_context_too_long_shrinks_once_and_retries(video: Path, sampler: Any, fakes: Any) -> None:
    llm = fakes.FrameReadingLLM(
        fail_first="This model's maximum context length is 900 tokens. However, your messages resulted in 1200 tokens."
    )
    engine = GenSVideoQueryEngine.from_video(video, llm, sampler=sampler, k=4, cache=False)
    response = engine.query("q")
    assert len(llm.requests) == 2
    first, second = (_sent_images(r) for r in llm.requests)
    # the retry is cheaper: same frames at OpenAI's low detail, within the provider's 900-token limit
    assert [b.detail for b in first] == ["high"] * 4
    assert [b.detail for b in second] == ["low"] * 4
    estimate = (response.metadata or {})["estimate"]
    assert estimate["input_tokens"] < 900
    assert any("was too long" in note for note in estimate["notes"])
    assert (response.metadata or {})["attempts"] == 2
    assert len(response.source_nodes) == len(second)


def test_provider_failures_are_typed(video: Path, sampler: Any, fakes: Any) -> None:
    broken = fakes.FrameReadingLLM(fail_first="boom")
    engine = GenSVideoQueryEngine.from_video(video, broken, sampler=sampler, k=2, cache=False)
    with pytest.raises(AssistantError, match="failed: boom"):
        engine.query("q")
    empty = GenSVideoQueryEngine.from_video(video, fakes.FrameReadingLLM(empty=True), sampler=sampler, k=2, cache=False)
    with pytest.raises(EmptyAnswerError, match="empty answer"):
        empty.query("q")


def test_still_too_long_after_shrinking_fails_clearly(video: Path, sampler: Any, fakes: Any) -> None:
    class AlwaysTooLong(fakes.FrameReadingLLM):
        def _answer(self, messages: Any) -> Any:
            self.requests.append(list(messages))
            raise RuntimeError("Error code: 400 - context_length_exceeded: maximum context length is 100 tokens")

    llm = AlwaysTooLong()
    engine = GenSVideoQueryEngine.from_video(video, llm, sampler=sampler, k=4, cache=False)
    with pytest.raises(ContextTooLongError, match="still too long after shrinking"):
        engine.query("q")
    assert len(llm.requests) == 2


def test_query_bundle_picks_video_and_range(video: Path, sampler: Any, vision_llm: Any) -> None:
    policy = AccessPolicy.allow([video.parent], max_k=8)
    retriever = GenSVideoRetriever(sampler=sampler, k=2, policy=policy, cache=False)
    engine = GenSVideoQueryEngine(retriever=retriever, llm=vision_llm)
    response = engine.query(VideoQueryBundle(query_str="what now?", video=str(video), start=10, end=18))
    assert [n.node.metadata["timestamp_s"] for n in response.source_nodes] == [12.0, 13.0]
    assert response.response == "I looked at [00:00:12], [00:00:13]"
    # a plain string question has no video to look at
    with pytest.raises(InvalidArgumentError, match="video is required"):
        engine.query("what now?")


async def test_async_query(video: Path, sampler: Any, vision_llm: Any) -> None:
    engine = GenSVideoQueryEngine.from_video(video, vision_llm, sampler=sampler, k=2, cache=False)
    response = await engine.aquery("q")
    assert response.response == "I looked at [00:00:04], [00:00:05]"
    assert [n.node.metadata["timestamp_s"] for n in response.source_nodes] == [4.0, 5.0]
    response = await engine.aquery(VideoQueryBundle(query_str="later?", start="0:10"))
    assert response.response == "I looked at [00:00:12], [00:00:13]"


def test_a_gens_tools_assistant_can_answer(video: Path, sampler: Any, fakes: Any) -> None:
    assistant = fakes.EchoAssistant(max_frames=2)
    engine = GenSVideoQueryEngine.from_video(video, assistant, sampler=sampler, k=4, cache=False)
    response = engine.query("q")
    assert len(assistant.plans) == 1
    # max_frames=2 keeps the two best frames (both score 5)
    assert response.response == "Seen: [00:00:04], [00:00:05]"
    assert [n.node.metadata["timestamp_s"] for n in response.source_nodes] == [4.0, 5.0]
    assert (response.metadata or {})["citations"] == [4.0, 5.0]
    with pytest.raises(InvalidArgumentError, match="apply to llama-index LLMs"):
        GenSVideoQueryEngine.from_video(video, assistant, assistant_options={"detail": "low"})
    with pytest.raises(InvalidArgumentError, match="llm must be"):
        GenSVideoQueryEngine.from_video(video, object())
