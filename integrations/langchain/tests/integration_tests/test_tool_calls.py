"""GenSVideoFramesTool called the way an agent calls it: what comes back, zooming in, and every refusal."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import Any

import pytest
from gens_tools import FrameSelection, SamplerError, Window, WindowScores
from langchain_core.messages import ToolMessage

from langchain_gens import GenSVideoFramesTool

QUESTION = "When is the event on screen?"


def _call(tool: GenSVideoFramesTool, **args: Any) -> ToolMessage:
    msg = tool.invoke({"type": "tool_call", "id": "call_1", "name": tool.name, "args": args})
    assert isinstance(msg, ToolMessage)
    return msg


async def _acall(tool: GenSVideoFramesTool, **args: Any) -> ToolMessage:
    msg = await tool.ainvoke({"type": "tool_call", "id": "call_1", "name": tool.name, "args": args})
    assert isinstance(msg, ToolMessage)
    return msg


@pytest.fixture
def tool(video_root: Path, event_sampler: Any) -> GenSVideoFramesTool:
    return GenSVideoFramesTool(sampler=event_sampler, allowed_roots=[video_root], max_k=8, default_k=4)


def _listed_times(text: str) -> list[float]:
    return [float(t) for t in re.findall(r"^- ([\d.]+)s \[", text, flags=re.M)]


def test_content_lists_the_frames_the_artifact_holds(tool: GenSVideoFramesTool, helpers: Any) -> None:
    msg = _call(tool, video="clip.mp4", question=QUESTION, k=3)
    assert msg.status == "success"
    assert isinstance(msg.content, str)
    selection = msg.artifact
    assert isinstance(selection, FrameSelection)
    # The sampler found the event: 8, 9 and 10 s score 5.
    assert selection.timestamps == pytest.approx([8.0, 9.0, 10.0])
    assert _listed_times(msg.content) == pytest.approx(selection.timestamps)
    assert "- 8.0s [00:00:08.0] score 5" in msg.content
    spans = re.findall(r"^- ([\d.]+)-([\d.]+)s \[[^\]]+\] score (\d+)$", msg.content, flags=re.M)
    assert spans[0] == ("8.0", "11.0", "5")
    assert ("6.0", "8.0", "2") in spans
    assert ("11.0", "13.0", "2") in spans
    assert "Searched 0.0-20.0s of a 20.0s video at 1 fps: 20 candidate frames." in msg.content
    # The artifact's images are the frames named.
    for frame in selection.frames:
        assert helpers.read_time_code(frame.require_image()) == pytest.approx(frame.timestamp, abs=1e-3)


def test_arguments_as_models_send_them(tool: GenSVideoFramesTool) -> None:
    # k as a string or a whole float, times as clock strings: the same coercions as the LlamaIndex tools.
    msg = _call(tool, video="clip.mp4", question=QUESTION, k="2", start="0:07", end="00:00:12")
    assert msg.status == "success", msg.content
    assert msg.artifact.timestamps == pytest.approx([8.0, 9.0])
    assert (msg.artifact.start, msg.artifact.end) == (7.0, 12.0)
    again = _call(tool, video="clip.mp4", question=QUESTION, k=2.0, start=7, end="12")
    assert again.artifact.timestamps == msg.artifact.timestamps


def test_default_k_and_zooming_in(tool: GenSVideoFramesTool) -> None:
    first = _call(tool, video="clip.mp4", question=QUESTION)
    assert len(first.artifact.frames) == 4
    zoom = _call(tool, video="clip.mp4", question=QUESTION, start=7.0, end=12.0, k=2)
    assert zoom.artifact.timestamps == pytest.approx([8.0, 9.0])
    assert (zoom.artifact.start, zoom.artifact.end) == (7.0, 12.0)
    assert "Searched 7.0-12.0s of a 20.0s video at 1 fps: 5 candidate frames." in zoom.content


async def test_async_matches_sync(tool: GenSVideoFramesTool) -> None:
    sync = _call(tool, video="clip.mp4", question=QUESTION, k=3)
    amsg = await _acall(tool, video="clip.mp4", question=QUESTION, k=3)
    assert amsg.content == sync.content
    assert amsg.artifact.timestamps == sync.artifact.timestamps


@pytest.mark.parametrize("use_async", [False, True])
async def test_images_in_content_for_models_that_take_them(
    video_root: Path, event_sampler: Any, helpers: Any, use_async: bool
) -> None:
    tool = GenSVideoFramesTool(
        sampler=event_sampler, allowed_roots=[video_root], images_in_content=True, image_max_side=96
    )
    args = {"video": "clip.mp4", "question": QUESTION, "k": 3}
    msg = await _acall(tool, **args) if use_async else _call(tool, **args)
    blocks = msg.content
    assert isinstance(blocks, list)
    assert blocks[0]["type"] == "text"
    assert "- 9.0s [00:00:09.0] score 5" in blocks[0]["text"]
    images = [(prev["text"], b) for prev, b in itertools.pairwise(blocks) if b["type"] == "image"]
    assert len(images) == 3
    for text, block in images:
        t = float(re.match(r"Frame at ([\d.]+)s", text).group(1))  # type: ignore[union-attr]
        picture = helpers.decode_image_block(block)
        assert max(picture.size) == 96
        assert helpers.read_time_code(picture) == pytest.approx(t, abs=1e-3)
    assert isinstance(msg.artifact, FrameSelection)


def _symlink_out(root: Path, outside: Path) -> str:
    link = root / "link-to-secret.mp4"
    if not link.is_symlink():
        os.symlink(outside, link)
    return link.name


REFUSALS: list[Any] = [
    pytest.param(lambda r, o: {"video": str(o)}, "Access denied: ", id="absolute-outside"),
    pytest.param(lambda r, o: {"video": os.path.relpath(o, r)}, "Access denied: ", id="dotdot-outside"),
    pytest.param(lambda r, o: {"video": _symlink_out(r, o)}, "Access denied: ", id="symlink-outside"),
    pytest.param(
        lambda r, o: {"video": "https://example.com/clip.mp4"},
        "Access denied: opening URLs is not allowed",
        id="url",
    ),
    pytest.param(
        lambda r, o: {"video": "file:///etc/passwd"},
        "Access denied: URL scheme 'file' is not allowed",
        id="file-url",
    ),
    pytest.param(lambda r, o: {"video": "missing.mp4"}, "Video not found: ", id="missing"),
    pytest.param(lambda r, o: {"video": "notes.mp4"}, "Not a video: ", id="not-a-video"),
    pytest.param(lambda r, o: {"video": ""}, "Invalid argument: video is required", id="empty-video"),
    pytest.param(
        lambda r, o: {"k": 100}, "Invalid argument: k=100 is more than this tool allows (8)", id="k-over-cap"
    ),
    pytest.param(
        lambda r, o: {"k": 0}, "Invalid argument: k: Input should be greater than or equal to 1", id="k-zero"
    ),
    pytest.param(
        lambda r, o: {"k": "many"}, "Invalid argument: k: Input should be a valid integer", id="k-not-int"
    ),
    pytest.param(
        lambda r, o: {"k": 2.5}, "Invalid argument: k: Input should be a valid integer", id="k-fraction"
    ),
    pytest.param(
        lambda r, o: {"start": 30.0},
        "Invalid time range: start=30s is at or past the end of the video",
        id="start-past-end",
    ),
    pytest.param(
        lambda r, o: {"start": 9.0, "end": 4.0},
        "Invalid time range: end=4s must be after start=9s",
        id="reversed",
    ),
    pytest.param(
        lambda r, o: {"start": "0:09", "end": "0:04"},
        "Invalid time range: end=4s must be after start=9s",
        id="reversed-clock",
    ),
    pytest.param(
        lambda r, o: {"start": -3},
        "Invalid time range: start: invalid time -3.0: must be a finite number of seconds >= 0",
        id="negative-start",
    ),
    pytest.param(
        lambda r, o: {"start": "soon"},
        "Invalid time range: start: invalid time 'soon'",
        id="start-not-a-time",
    ),
    pytest.param(lambda r, o: {"question": ""}, "Invalid argument: question is empty", id="empty-question"),
    pytest.param(
        lambda r, o: {"question": "   "}, "Invalid argument: question is empty", id="blank-question"
    ),
    pytest.param(
        lambda r, o: {"fps": 10},
        "Invalid argument: fps: Extra inputs are not permitted",
        id="unknown-argument",
    ),
]


@pytest.mark.parametrize(("make_args", "expected"), REFUSALS)
def test_refusals_come_back_as_readable_error_messages(
    video_root: Path, outside_video: Path, event_sampler: Any, make_args: Any, expected: str
) -> None:
    tool = GenSVideoFramesTool(sampler=event_sampler, allowed_roots=[video_root], max_k=8)
    msg = _call(tool, **{"video": "clip.mp4", "question": QUESTION, **make_args(video_root, outside_video)})
    assert msg.status == "error"
    assert msg.artifact is None
    assert isinstance(msg.content, str)
    assert msg.content.startswith(expected), msg.content
    assert "Traceback" not in msg.content
    assert event_sampler.seen == []  # nothing was scored


async def test_refusal_in_async(video_root: Path, outside_video: Path, event_sampler: Any) -> None:
    tool = GenSVideoFramesTool(sampler=event_sampler, allowed_roots=[video_root])
    msg = await _acall(tool, video=str(outside_video), question=QUESTION)
    assert msg.status == "error"
    assert "outside the allowed folders" in msg.content
    assert event_sampler.seen == []


def test_duration_cap_asks_for_a_narrower_range(video_root: Path, event_sampler: Any) -> None:
    tool = GenSVideoFramesTool(sampler=event_sampler, allowed_roots=[video_root], max_duration=10)
    msg = _call(tool, video="clip.mp4", question=QUESTION)
    assert msg.status == "error"
    assert "at most 10s per call: pass start/end" in msg.content
    ok = _call(tool, video="clip.mp4", question=QUESTION, start=5, end=15, k=3)
    assert ok.status == "success"
    assert ok.artifact.timestamps == pytest.approx([8.0, 9.0, 10.0])


def test_plain_invoke_returns_the_text(tool: GenSVideoFramesTool) -> None:
    text = tool.invoke({"video": "clip.mp4", "question": QUESTION, "k": 2})
    assert isinstance(text, str)
    assert "- 8.0s [00:00:08.0] score 5" in text


def test_deployment_failures_are_not_hidden(video_root: Path, helpers: Any) -> None:
    class ServerDown(helpers.EventSampler):  # type: ignore[name-defined, misc]
        def score_window(self, window: Window, question: str) -> WindowScores:
            raise SamplerError("the GenS server at http://gpu:8000 is not answering")

    tool = GenSVideoFramesTool(sampler=ServerDown(), allowed_roots=[video_root])
    with pytest.raises(SamplerError, match="not answering"):
        _call(tool, video="clip.mp4", question=QUESTION)
