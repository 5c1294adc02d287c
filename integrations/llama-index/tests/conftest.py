"""Shared fixtures: a tiny generated video whose frames show their own time, a fake scoring sampler, a fake
vision LLM that reads those times off the images it is sent, and a policy allowing the video's folder."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gens_tools import AccessPolicy, FrameSampler, Window, WindowScores, format_timestamp
from gens_tools.assistants import Assistant, FramePlan, Reply, TokenUsage
from gens_tools.synthetic import make_test_video, read_time_code
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    TextBlock,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback
from PIL import Image


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


if not _installed("llama_index.tools.gens"):
    # Not installed (pip install -e integrations/llama-index): import it from this source tree. ``llama_index``
    # is a namespace package; register ``llama_index.tools`` with this tree's folder in its search path instead
    # of putting the package folder on sys.path (which would also make this ``tests`` folder importable as a
    # top-level ``tests`` package, clashing with the repository's own).
    import llama_index

    _tools = types.ModuleType("llama_index.tools")
    _tools.__path__ = [str(Path(__file__).resolve().parents[1] / "llama_index" / "tools")]
    sys.modules["llama_index.tools"] = _tools
    llama_index.tools = _tools  # type: ignore[attr-defined]


#: Relevance the fake sampler gives to whole seconds of the test video (all other seconds score 0).
HOT_SECONDS: dict[int, float] = {4: 5.0, 5: 5.0, 12: 3.0, 13: 4.0}
VIDEO_SECONDS = 20


class HotSpotSampler(FrameSampler):
    """Scores frames from their timestamps with :data:`HOT_SECONDS`; needs no images, so only the chosen
    frames are decoded. Counts the windows it scored."""

    name: ClassVar[str] = "hotspots"
    needs_images = False

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def score_window(self, window: Window, question: str) -> WindowScores:
        self.calls.append((len(window), question))
        scores = [HOT_SECONDS.get(round(f.timestamp), 0.0) for f in window.frames]
        return WindowScores(window_index=window.index, scores=scores)


def read_block_time(block: ImageBlock) -> float:
    """The time painted into the picture an :class:`ImageBlock` carries."""
    with Image.open(block.resolve_image()) as img:
        return read_time_code(img.convert("RGB"))


class FrameReadingLLM(CustomLLM):
    """A stand-in multimodal chat model: it reads the time painted into every image it is sent and answers
    with those times as ``[hh:mm:ss]`` citations. It records each request's messages. ``fail_first`` makes
    the first call raise that error (e.g. a provider's "context too long" message)."""

    model_name: str = "gpt-4o"
    requests: list[list[ChatMessage]] = Field(default_factory=list)
    fail_first: str | None = None
    empty: bool = False

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model_name, is_chat_model=True, context_window=128_000)

    def _answer(self, messages: Sequence[ChatMessage]) -> ChatResponse:
        self.requests.append(list(messages))
        if self.fail_first is not None and len(self.requests) == 1:
            raise RuntimeError(self.fail_first)
        times = [read_block_time(b) for b in messages[-1].blocks if isinstance(b, ImageBlock)]
        text = "" if self.empty else "I looked at " + ", ".join(f"[{format_timestamp(t, decimals=0)}]" for t in times)
        return ChatResponse(
            message=ChatMessage(role="assistant", content=text),
            additional_kwargs={"prompt_tokens": 100 * len(times), "completion_tokens": 12, "total_tokens": 0},
        )

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._answer(messages)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._answer(messages)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError("chat only")

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        raise NotImplementedError("chat only")


class EchoAssistant(Assistant):
    """A gens-tools assistant without a provider: answers with the labels of the frames it was sent."""

    provider: ClassVar[str] = "echo"

    def __init__(self, **options: Any) -> None:
        super().__init__("gpt-4o", **options)
        self.plans: list[FramePlan] = []

    def _request(self, plan: FramePlan, question: str) -> Reply:
        self.plans.append(plan)
        return Reply(
            text="Seen: " + ", ".join(f"[{im.label}]" for im in plan.images),
            usage=TokenUsage(input_tokens=plan.input_tokens, output_tokens=5),
        )

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        return self._request(plan, question)


def text_of(blocks: Sequence[Any]) -> str:
    """All text blocks joined by newlines."""
    return "\n".join(b.text for b in blocks if isinstance(b, TextBlock))


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 s, 10 fps, 160×90 H.264 video; each frame shows its own time."""
    folder = tmp_path_factory.mktemp("videos")
    return make_test_video(folder / "clock.mp4", duration=float(VIDEO_SECONDS), fps=10.0, size=(160, 90))


@pytest.fixture
def policy(video: Path) -> AccessPolicy:
    """Allows the test video's folder; at most 16 frames and 60 s per call."""
    return AccessPolicy.allow([video.parent], max_k=16, max_duration=60.0)


@pytest.fixture
def sampler() -> HotSpotSampler:
    return HotSpotSampler()


@pytest.fixture
def vision_llm() -> FrameReadingLLM:
    return FrameReadingLLM()


@pytest.fixture
def fakes() -> Any:
    """The helper classes and functions of this conftest (test modules cannot import it by name)."""

    class _Fakes:
        HotSpotSampler = HotSpotSampler
        FrameReadingLLM = FrameReadingLLM
        EchoAssistant = EchoAssistant
        HOT_SECONDS = HOT_SECONDS
        VIDEO_SECONDS = VIDEO_SECONDS
        read_block_time = staticmethod(read_block_time)
        text_of = staticmethod(text_of)

    return _Fakes
