"""LangChain's standard unit tests for tools, run against GenSVideoFramesTool."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ToolsUnitTests

from langchain_gens import GenSVideoFramesTool


class TestGenSVideoFramesToolStandardUnit(ToolsUnitTests):
    """Construction, name, input schema and the example call's arguments (no video is opened)."""

    @property
    def tool_constructor(self) -> type[GenSVideoFramesTool]:
        return GenSVideoFramesTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"sampler": "uniform", "allowed_roots": ["/srv/videos"], "max_k": 16, "max_duration": 3600}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {
            "video": "talk.mp4",
            "question": "When is the demo shown?",
            "k": 4,
            "start": 60.0,
            "end": 180.0,
        }
