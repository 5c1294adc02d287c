"""The LangChain and LlamaIndex tools give the model the same thing, word for word.

Both are thin adapters over ``gens_tools.agent.VideoFramesTool``; this drives both with the same configuration
and the same model-sent arguments and compares exactly what the model would be sent and read: the tool
declaration (name, description, argument names, types, defaults, descriptions), the text of a successful call,
the caption next to each image, and the message of every kind of refusal. It also opens a folder of frame
images with a frame rate through both. Runs where both integrations are installed (``scripts/install.sh``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gens_tools import AccessPolicy, SamplingOptions

langchain_gens = pytest.importorskip("langchain_gens")
llama_gens = pytest.importorskip("llama_index.tools.gens")

from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402
from llama_index.core.base.llms.types import TextBlock  # noqa: E402

KINDS = {"Access denied", "Invalid argument", "Invalid time range", "Video not found", "Not a video"}

BAD_CALLS: list[dict[str, Any]] = [
    {"video": "/etc/passwd"},
    {"video": "{root}/../escape.mp4"},
    {"video": "https://example.com/v.mp4"},
    {"video": "file:///etc/passwd"},
    {"video": "   "},
    {"video": "{root}/missing.mp4"},
    {"video": "{root}/notes.mp4"},
    {"video": "frames"},  # a frame folder, but neither tool was given its frame rate
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


def _pair(policy: AccessPolicy, sampler: Any, *, images: bool = False, **config: Any) -> tuple[Any, Any]:
    """The LlamaIndex and LangChain ``video_frames`` tools, configured the same way."""
    (llama,) = llama_gens.GenSToolSpec(policy, sampler=sampler, include_images=images, **config).to_tool_list()
    lang = langchain_gens.GenSVideoFramesTool(policy=policy, sampler=sampler, images_in_content=images, **config)
    return llama, lang


CONFIGS: list[dict[str, Any]] = [
    {"cache": False},
    {"cache": False, "images": True, "default_k": 3},
    {"options": SamplingOptions(cache=False, min_gap=2.0), "max_spans": 2},
    {"cache": False, "video": "{video}"},
]


@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "images", "options", "bound"])
def test_the_model_is_sent_the_same_declaration(
    policy: AccessPolicy, sampler: Any, video: Path, config: dict[str, Any]
) -> None:
    config = {k: v.format(video=video) if isinstance(v, str) else v for k, v in config.items()}
    llama, lang = _pair(policy, sampler, **config)
    from_llama = llama.metadata.to_openai_tool()["function"]
    from_lang = convert_to_openai_tool(lang)["function"]
    assert from_llama == from_lang
    assert from_lang["name"] == "video_frames"
    assert from_lang["parameters"] == lang.core.json_schema() == llama.core.json_schema()
    # what LlamaIndex's Gemini and other converters read: the pydantic schema itself, without
    # additionalProperties (Google's schema has no such field)
    assert llama.metadata.fn_schema.model_json_schema() == lang.core.json_schema()
    assert "additionalProperties" not in str(llama.metadata.fn_schema.model_json_schema())


@pytest.mark.parametrize("args", BAD_CALLS, ids=[str(sorted(a.items())) for a in BAD_CALLS])
def test_refusals_read_the_same(
    policy: AccessPolicy, sampler: Any, video: Path, frame_folder: Path, args: dict[str, Any]
) -> None:
    llama, lang = _pair(policy, sampler, cache=False, default_k=4)
    call = _fill(args, video)
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    assert out.is_error
    assert msg.status == "error"
    assert msg.content == out.content
    assert msg.content.split(":")[0] in KINDS
    assert sampler.calls == []  # neither tool scored anything for a refused call


def test_every_refusal_kind_is_compared(policy: AccessPolicy, sampler: Any, video: Path, frame_folder: Path) -> None:
    _, lang = _pair(policy, sampler, cache=False)
    kinds = {_langchain_call(lang, _fill(args, video)).content.split(":")[0] for args in BAD_CALLS}
    assert kinds == KINDS


def test_missing_video_reads_the_same(policy: AccessPolicy, sampler: Any) -> None:
    llama, lang = _pair(policy, sampler, cache=False)
    out = llama.call(question="q")
    msg = _langchain_call(lang, {"question": "q"})
    assert msg.content == out.content == "Invalid argument: video: Field required"


@pytest.mark.parametrize(
    "args",
    [{}, {"k": "2"}, {"k": 2.0, "start": "0:03", "end": "00:00:15"}, {"k": 3, "start": 10, "end": "14.5"}],
)
def test_a_successful_call_reads_the_same(
    policy: AccessPolicy, sampler: Any, video: Path, args: dict[str, Any]
) -> None:
    llama, lang = _pair(policy, sampler, cache=False, default_k=4)
    call = _fill(args, video)
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    assert not out.is_error, out.content
    assert msg.status == "success", msg.content
    assert out.blocks[0].text == msg.content  # the whole text the model reads
    assert msg.artifact.timestamps == out.raw_output.selection.timestamps
    assert "Relevant spans, best first:" in msg.content


def test_image_captions_read_the_same(policy: AccessPolicy, sampler: Any, video: Path) -> None:
    llama, lang = _pair(policy, sampler, images=True, cache=False)
    call = _fill({"k": 3}, video)
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    llama_texts = [b.text for b in out.blocks if isinstance(b, TextBlock)]
    lang_texts = [b["text"] for b in msg.content if b["type"] == "text"]
    assert llama_texts == lang_texts
    assert lang_texts[1:] == [
        "Frame at 4.0s [00:00:04.0] score 5",
        "Frame at 5.0s [00:00:05.0] score 5",
        "Frame at 13.0s [00:00:13.0] score 4",
    ]


@pytest.mark.parametrize("how", ["keyword", "options"])
def test_a_frame_folder_opens_through_both_tools(
    policy: AccessPolicy, sampler: Any, video: Path, frame_folder: Path, how: str
) -> None:
    rate: dict[str, Any] = (
        {"frame_rate": 2, "cache": False} if how == "keyword" else {"options": SamplingOptions(frame_rate=2.0)}
    )
    llama, lang = _pair(policy, sampler, **rate)
    call = {"video": "frames", "question": "When does the ball bounce?", "k": 2}
    out = llama.call(**call)
    msg = _langchain_call(lang, call)
    assert not out.is_error, out.content
    assert msg.status == "success", msg.content
    assert out.raw_output.selection.timestamps == msg.artifact.timestamps == [4.0, 5.0]
    assert out.blocks[0].text == msg.content
    assert msg.content.startswith('Frames of frames for "When does the ball bounce?"')
