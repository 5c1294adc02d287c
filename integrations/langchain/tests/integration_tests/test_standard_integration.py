"""LangChain's standard integration tests for the tool (both content modes) and the retriever, on a real
(tiny, generated) video scored by a sampler that looks at the pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests

from langchain_gens import GenSVideoFramesTool, GenSVideoRetriever


class TestGenSVideoFramesToolStandardIntegration(ToolsIntegrationTests):
    """Text content + FrameSelection artifact, sync and async, with and without a tool call."""

    @pytest.fixture(autouse=True)
    def _video(self, video_root: Path, helpers: Any) -> None:
        self.root = video_root
        self.sampler = helpers.EventSampler()

    @property
    def tool_constructor(self) -> type[GenSVideoFramesTool]:
        return GenSVideoFramesTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "allowed_roots": [self.root], "max_k": 8}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {
            "video": "clip.mp4",
            "question": "When is the event on screen?",
            "k": 3,
            "start": 5.0,
            "end": 15.0,
        }


class TestGenSVideoFramesToolImagesInContentStandardIntegration(TestGenSVideoFramesToolStandardIntegration):
    """The same with the frames as image blocks in the tool result."""

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {**super().tool_constructor_params, "images_in_content": True}


class TestGenSVideoRetrieverStandardIntegration(RetrieversIntegrationTests):
    """k from the constructor and from invoke, sync and async."""

    @pytest.fixture(autouse=True)
    def _video(self, video_root: Path, helpers: Any) -> None:
        self.video = str(video_root / "clip.mp4")
        self.sampler = helpers.EventSampler()

    @property
    def retriever_constructor(self) -> type[GenSVideoRetriever]:
        return GenSVideoRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"video": self.video, "sampler": self.sampler, "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "When is the event on screen?"
