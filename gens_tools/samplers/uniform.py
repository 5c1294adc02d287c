"""The model-free baseline: evenly spaced frames."""

from __future__ import annotations

from typing import ClassVar

from gens_tools import _checks as checks
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._registry import register_sampler


@register_sampler("uniform")
class UniformSampler(FrameSampler):
    """Scores nothing, so the selection falls back to K evenly spaced frames.

    It needs no decoded images to decide, so the pipeline decodes only the K chosen frames — the cheapest
    baseline, and what most video-LLM pipelines do by default.

    Args:
        window_size: frames per window (any size works; windows only group frames in the selection's report).
    """

    name: ClassVar[str] = "uniform"
    needs_images = False

    def __init__(self, window_size: int = 256) -> None:
        self.window_size = checks.positive_int("window_size", window_size)

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Return an unscored result for every window."""
        return WindowScores(window_index=window.index, scores=None)
