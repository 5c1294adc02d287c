"""Shared fixtures: tiny time-coded videos, a sampler that scores what it sees, and a scripted chat model.

Everything runs offline. Every frame of the test videos shows its own presentation time as a readable code
(``gens_tools.synthetic``), so a test can check which frame an image really is.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image


def _load_from_checkout() -> None:
    """Import ``langchain_gens`` from this checkout when it is not installed, without putting the package
    folder on ``sys.path`` (that would also expose this ``tests`` folder as a top-level ``tests`` package and
    shadow the repository's own)."""
    init = Path(__file__).resolve().parents[1] / "langchain_gens" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "langchain_gens", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["langchain_gens"] = module
    spec.loader.exec_module(module)


if importlib.util.find_spec("langchain_gens") is None:
    _load_from_checkout()

from gens_tools import FrameSampler, Window, WindowScores  # noqa: E402
from gens_tools.synthetic import read_time_code  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402
from pydantic import Field  # noqa: E402

#: The test video: 20 s at 5 fps; the "event" the sampler looks for is on screen from 8 s to 11 s.
VIDEO_SECONDS = 20.0
EVENT = (8.0, 11.0)


class EventSampler(FrameSampler):
    """A stand-in for GenS that really looks at the pictures: it reads each frame's painted time and scores
    5 inside ``event``, 2 within ``margin`` seconds of it, 0 elsewhere. Small windows, so a 20 s video
    spans several of them."""

    name: ClassVar[str] = "event-test"
    needs_images = True

    def __init__(self, event: tuple[float, float] = EVENT, margin: float = 2.0, window_size: int = 8) -> None:
        self.event = event
        self.margin = margin
        self.window_size = window_size
        self.seen: list[float] = []

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score each frame by the time painted in its picture."""
        a, b = self.event
        scores: list[float] = []
        for frame in window.frames:
            t = read_time_code(frame.require_image())
            self.seen.append(t)
            if a <= t < b:
                scores.append(5.0)
            elif a - self.margin <= t < b + self.margin:
                scores.append(2.0)
            else:
                scores.append(0.0)
        listed = {str(i): s for i, s in enumerate(scores) if s > 0}
        return WindowScores(window.index, scores, raw_output=json.dumps(listed))


class ScriptedChatModel(BaseChatModel):
    """A tool-calling chat model driven by a Python function of the messages it receives.

    It records every request (``received``) and the tools bound to it (``bound_tools``, as OpenAI tool
    dicts), so a test can check exactly what a real model would have been sent.
    """

    script: Callable[[list[BaseMessage]], AIMessage]
    received: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self.script(list(messages)))])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound_tools = [convert_to_openai_tool(t) for t in tools]
        return self


def decode_image_block(block: dict[str, Any]) -> Image.Image:
    """The picture in a v1 base64 image block."""
    assert block["type"] == "image"
    assert block["mime_type"] == "image/jpeg"
    return Image.open(io.BytesIO(base64.b64decode(block["base64"]))).convert("RGB")


@pytest.fixture(scope="session")
def video_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An allowed folder holding ``clip.mp4`` (20 s, 5 fps, 160×96, every frame time-coded)."""
    from gens_tools.synthetic import make_test_video

    root = tmp_path_factory.mktemp("allowed")
    make_test_video(root / "clip.mp4", duration=VIDEO_SECONDS, fps=5.0, size=(160, 96), gop=10)
    (root / "notes.mp4").write_bytes(b"this is not a video at all\n" * 40)
    return root


@pytest.fixture(scope="session")
def outside_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, readable video that lies outside the allowed folder."""
    from gens_tools.synthetic import make_test_video

    return make_test_video(
        tmp_path_factory.mktemp("outside") / "secret.mp4", duration=3.0, fps=5.0, size=(64, 48)
    )


@pytest.fixture
def event_sampler() -> EventSampler:
    """A fresh :class:`EventSampler`."""
    return EventSampler()


@pytest.fixture
def helpers() -> Any:
    """The helper classes and functions of this conftest (test modules cannot import it by name)."""

    class _Helpers:
        EventSampler = EventSampler
        ScriptedChatModel = ScriptedChatModel
        decode_image_block = staticmethod(decode_image_block)
        read_time_code = staticmethod(read_time_code)
        EVENT = EVENT
        VIDEO_SECONDS = VIDEO_SECONDS

    return _Helpers


@pytest.fixture(autouse=True, scope="session")
def _private_frame_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Keep the frame cache of these tests in a temporary folder, never in the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENS_TOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("gens-cache")))
        yield
