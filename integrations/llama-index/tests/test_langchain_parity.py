"""The LlamaIndex frames tool and the LangChain tool accept and refuse the same arguments, word for word.

Both run the checks of ``gens_tools.agent._args``; this drives both tools with the same model-sent arguments
and compares what the model would read. Runs only where ``langchain-gens`` is installed too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessPolicy

from llama_index.tools.gens import make_frames_tool

langchain_gens = pytest.importorskip("langchain_gens")

BAD_CALLS: list[dict[str, Any]] = [
    {"video": "/etc/passwd"},
    {"video": "{root}/../escape.mp4"},
    {"video": "https://example.com/v.mp4"},
    {"video": "file:///etc/passwd"},
    {"video": "   "},
    {"video": "{root}/missing.mp4"},
    {"video": "{root}/notes.mp4"},
    {"k": 17},
    {"k": 0},
    {"k": "many"},
    {"k": 2.5},
    {"question": "   "},
    {"start": "soon"},
    {"start": -3},
    {"start": 9, "end": 3},
    {"start": "0:09", "end": "0:03"},
    {"start": 5, "end": 90},
    {"start": 25},
    {"start": 5, "end": 30},
    {"fps": 10},
]


def _fill(args: dict[str, Any], video: Path) -> dict[str, Any]:
    full = {"video": str(video), "question": "When does it happen?", **args}
    return {k: v.format(root=video.parent) if isinstance(v, str) else v for k, v in full.items()}


def _langchain_call(tool: Any, args: dict[str, Any]) -> Any:
    return tool.invoke({"type": "tool_call", "id": "call_1", "name": tool.name, "args": args})


@pytest.fixture
def both_tools(policy: AccessPolicy, sampler: Any) -> tuple[Any, Any]:
    llama = make_frames_tool(policy, sampler=sampler, cache=False, default_k=4, include_images=False)
    lang = langchain_gens.GenSFrameTool(policy=policy, sampler=sampler, cache=False, default_k=4)
    return llama, lang


@pytest.mark.parametrize("args", BAD_CALLS, ids=[str(sorted(a.items())) for a in BAD_CALLS])
def test_refusals_read_the_same(
    both_tools: tuple[Any, Any], video: Path, sampler: Any, args: dict[str, Any]
) -> None:
    (video.parent / "notes.mp4").write_text("this is not a video\n")
    llama, lang = both_tools
    call = _fill(args, video)
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    assert out.is_error
    assert msg.status == "error"
    assert msg.content == out.content
    assert msg.content.split(":")[0] in {
        "Access denied", "Invalid argument", "Invalid time range", "Video not found", "Not a video",
    }
    assert sampler.calls == []  # neither tool scored anything for a refused call


def test_missing_video_reads_the_same(both_tools: tuple[Any, Any]) -> None:
    llama, lang = both_tools
    out = llama.call(question="q")
    msg = _langchain_call(lang, {"question": "q"})
    assert msg.content == out.content == "Invalid argument: video: Field required"


@pytest.mark.parametrize(
    "args",
    [{"k": "2"}, {"k": 2.0, "start": "0:03", "end": "00:00:15"}, {"k": 3, "start": 10, "end": "14.5"}],
)
def test_accepted_arguments_give_the_same_frames(
    both_tools: tuple[Any, Any], video: Path, args: dict[str, Any]
) -> None:
    llama, lang = both_tools
    call = _fill(args, video)
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    assert not out.is_error, out.content
    assert msg.status == "success", msg.content
    selection = out.raw_output.selection
    assert msg.artifact.timestamps == selection.timestamps
    assert (msg.artifact.start, msg.artifact.end) == (selection.start, selection.end)
    assert len(selection.frames) == int(float(args["k"]))
