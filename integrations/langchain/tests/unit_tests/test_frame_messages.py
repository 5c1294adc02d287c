"""Frames as a follow-up user message of v1 image blocks, and the agent middleware that inserts it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from gens_tools import Frame, FrameSelection, InvalidArgumentError
from gens_tools.synthetic import paint_time_code
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_gens import frames_message, with_frame_messages


def _selection(times: list[float], question: str = "Where is the ball?") -> FrameSelection:
    frames = [
        Frame(t, image=paint_time_code(t, (128, 72)), score=float(i % 6), index=int(t))
        for i, t in enumerate(times)
    ]
    return FrameSelection(video="/v/clip.mp4", question=question, frames=frames, n_candidates=60)


def _tool_msg(
    call_id: str,
    selection: FrameSelection | None,
    *,
    name: str = "video_frames",
    status: str = "success",
    content: Any = "frames listed here",
) -> ToolMessage:
    return ToolMessage(content=content, tool_call_id=call_id, name=name, artifact=selection, status=status)


def _ai_calls(*ids: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "video_frames", "args": {}, "id": i} for i in ids])


def _pairs(message: BaseMessage) -> list[tuple[str, dict[str, Any]]]:
    """(text before the image, image block) for each image of a message."""
    blocks = message.content
    assert isinstance(blocks, list)
    out = []
    for prev, block in itertools.pairwise(blocks):
        if isinstance(block, dict) and block.get("type") == "image":
            assert isinstance(prev, dict)
            assert prev["type"] == "text"
            out.append((prev["text"], block))
    return out


def test_frames_message_pairs_each_image_with_its_timestamp(helpers: Any) -> None:
    times = [3.0, 17.0, 42.5]
    msg = frames_message(_selection(times))
    assert isinstance(msg, HumanMessage)
    assert msg.content[0]["type"] == "text"  # type: ignore[index]
    assert 'for "Where is the ball?"' in msg.content[0]["text"]  # type: ignore[index]
    pairs = _pairs(msg)
    assert len(pairs) == len(times)
    for (text, block), t in zip(pairs, times, strict=True):
        assert text.startswith(f"Frame at {t:.1f}s [")
        # The picture really is the frame of that time.
        assert helpers.read_time_code(helpers.decode_image_block(block)) == pytest.approx(t, abs=1e-3)


def test_frames_message_from_a_tool_message_and_its_refusals() -> None:
    msg = frames_message(_tool_msg("call_9", _selection([1.0])))
    assert "tool call call_9" in msg.content[0]["text"]  # type: ignore[index]
    assert msg.id == "gens-frames-call_9"
    with pytest.raises(InvalidArgumentError, match="no FrameSelection"):
        frames_message(_tool_msg("call_err", None, status="error", content="Access denied: ..."))
    with pytest.raises(InvalidArgumentError, match="expected a FrameSelection"):
        frames_message("not a selection")  # type: ignore[arg-type]


def test_image_size_is_capped_when_asked(helpers: Any) -> None:
    msg = frames_message(_selection([5.0]), max_side=64)
    image = helpers.decode_image_block(_pairs(msg)[0][1])
    assert max(image.size) == 64


def test_inserted_after_the_whole_run_of_tool_results() -> None:
    history: list[BaseMessage] = [
        HumanMessage("look at clip.mp4"),
        _ai_calls("a", "b"),
        _tool_msg("a", _selection([1.0, 2.0])),
        _tool_msg("b", None, name="calculator", content="42"),
    ]
    out = with_frame_messages(history)
    assert out[:4] == history  # nothing moved, nothing changed
    assert len(out) == 5
    added = out[4]
    assert isinstance(added, HumanMessage)
    assert len(_pairs(added)) == 2
    assert history[2].content == "frames listed here"  # the tool message itself stays text-only


def test_each_turn_gets_its_own_message_and_history_modes() -> None:
    history: list[BaseMessage] = [
        HumanMessage("q"),
        _ai_calls("a"),
        _tool_msg("a", _selection([1.0, 2.0, 3.0])),
        _ai_calls("b"),
        _tool_msg("b", _selection([2.0])),
    ]
    full = with_frame_messages(history)
    kinds = [type(m).__name__ for m in full]
    assert kinds == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "HumanMessage",
    ]
    assert [len(_pairs(full[3])), len(_pairs(full[6]))] == [3, 1]
    latest = with_frame_messages(history, history="latest")
    assert len(latest) == 6
    assert len(_pairs(latest[5])) == 1
    with pytest.raises(InvalidArgumentError):
        with_frame_messages(history, history="some")  # type: ignore[arg-type]


def test_skips_errors_other_tools_images_already_present_and_duplicates() -> None:
    sel = _selection([4.0])
    with_images = frames_message(sel).content
    history: list[BaseMessage] = [
        HumanMessage("q"),
        _ai_calls("e", "o", "i"),
        _tool_msg("e", sel, status="error", content="Access denied: outside the allowed folders"),
        _tool_msg("o", sel, name="other_tool"),
        _tool_msg("i", sel, content=with_images),
    ]
    assert with_frame_messages(history, tool_names={"video_frames"}) == history
    # Without the name filter the other tool's FrameSelection counts; errors and inline images still don't.
    once = with_frame_messages(history)
    assert len(once) == len(history) + 1
    assert "tool call o" in once[-1].content[0]["text"]  # type: ignore[index]
    # Applying it to a history that already holds the frames message adds nothing.
    assert with_frame_messages(once) == once


def test_memo_reuses_encoded_frames() -> None:
    sel = _selection([1.0, 2.0])
    history: list[BaseMessage] = [HumanMessage("q"), _ai_calls("a"), _tool_msg("a", sel)]
    memo: dict[str, list[dict[str, Any]]] = {}
    first = with_frame_messages(history, memo=memo)
    assert list(memo) == ["a"]
    sel.frames[0].image = None  # a second encoding would now fail
    second = with_frame_messages(history, memo=memo)
    assert second[-1].content == first[-1].content


def _request(messages: list[BaseMessage]) -> Any:
    from langchain.agents.middleware import ModelRequest

    return ModelRequest(model=GenericFakeChatModel(messages=iter([])), messages=messages)


def test_middleware_adds_frames_to_the_model_request_only() -> None:
    from langchain.agents.middleware import ModelResponse

    from langchain_gens import GenSFramesMiddleware

    history: list[BaseMessage] = [HumanMessage("q"), _ai_calls("a"), _tool_msg("a", _selection([1.0, 9.0]))]
    seen: list[list[BaseMessage]] = []

    def handler(request: Any) -> ModelResponse:
        seen.append(list(request.messages))
        return ModelResponse(result=[AIMessage("done")])

    middleware = GenSFramesMiddleware(jpeg_quality=70)
    request = _request(history)
    response = middleware.wrap_model_call(request, handler)
    assert response.result[0].content == "done"
    assert len(seen[0]) == 4
    assert len(_pairs(seen[0][3])) == 2
    assert request.messages == history  # the agent's own state is left as it was
    # Nothing to add: the same request goes through.
    plain = _request([HumanMessage("hi")])
    middleware.wrap_model_call(plain, handler)
    assert seen[1] == [HumanMessage("hi")]


async def test_middleware_async_path() -> None:
    from langchain.agents.middleware import ModelResponse

    from langchain_gens import GenSFramesMiddleware

    history: list[BaseMessage] = [HumanMessage("q"), _ai_calls("a"), _tool_msg("a", _selection([2.0]))]
    seen: list[list[BaseMessage]] = []

    async def handler(request: Any) -> ModelResponse:
        seen.append(list(request.messages))
        return ModelResponse(result=[AIMessage("done")])

    await GenSFramesMiddleware(tool_names=["video_frames"]).awrap_model_call(_request(history), handler)
    assert len(_pairs(seen[0][-1])) == 1
    await GenSFramesMiddleware(tool_names=["another"]).awrap_model_call(_request(history), handler)
    assert seen[1] == history


def test_json_artifact_round_trips_and_feeds_the_same_message(helpers: Any) -> None:
    from langchain_gens import selection_from_dict

    sel = _selection([3.0, 12.0])
    data = sel.to_dict(images="base64")
    back = selection_from_dict(data)
    assert back.timestamps == sel.timestamps
    assert [f.score for f in back.frames] == [f.score for f in sel.frames]
    for frame in back.frames:
        assert helpers.read_time_code(frame.require_image()) == pytest.approx(frame.timestamp, abs=1e-3)
    history: list[BaseMessage] = [HumanMessage("q"), _ai_calls("a"), _tool_msg("a", data)]  # type: ignore[arg-type]
    out = with_frame_messages(history)
    times = [float(text.split("Frame at ")[1].split("s")[0]) for text, _ in _pairs(out[-1])]
    assert times == [3.0, 12.0]
    with pytest.raises(InvalidArgumentError, match="JSON form"):
        selection_from_dict({"video": "x"})
    broken = sel.to_dict(images="base64")
    broken["frames"][0]["image_base64"] = "not base64 at all!"
    with pytest.raises(InvalidArgumentError, match="not a readable image"):
        selection_from_dict(broken)


@pytest.mark.parametrize(
    "kwargs", [{"history": "everything"}, {"jpeg_quality": 101}, {"max_side": 0}, {"memo_size": -1}]
)
def test_middleware_rejects_bad_options(kwargs: dict[str, Any]) -> None:
    from langchain_gens import GenSFramesMiddleware

    with pytest.raises(InvalidArgumentError):
        GenSFramesMiddleware(**kwargs)
