"""Fixtures of the agent-layer tests: a time-coded video, a folder of frame images named by index, a sampler
that scores known seconds, and an assistant that answers with the frames it was sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from gens_tools import AccessPolicy, FrameSampler, Window, WindowScores
from gens_tools.assistants import Assistant, FramePlan, Reply, TokenUsage
from gens_tools.synthetic import make_test_video, paint_time_code

#: Relevance the fake sampler gives to whole seconds (all other seconds score 0).
HOT_SECONDS: dict[int, float] = {4: 5.0, 5: 5.0, 12: 3.0, 13: 4.0}


class HotSpotSampler(FrameSampler):
    """Scores frames from their timestamps with :data:`HOT_SECONDS`; records every scored window."""

    name: ClassVar[str] = "hotspots"
    needs_images = False

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def score_window(self, window: Window, question: str) -> WindowScores:
        self.calls.append((len(window), question))
        scores = [HOT_SECONDS.get(round(f.timestamp), 0.0) for f in window.frames]
        return WindowScores(window_index=window.index, scores=scores)


class EchoAssistant(Assistant):
    """An assistant without a provider: answers with the labels of the frames it was sent."""

    provider: ClassVar[str] = "echo"

    def __init__(self, **options: Any) -> None:
        super().__init__("gpt-4o", **options)
        self.plans: list[FramePlan] = []

    def _request(self, plan: FramePlan, question: str) -> Reply:
        self.plans.append(plan)
        text = "Seen: " + ", ".join(f"[{im.label}]" for im in plan.images)
        return Reply(text=text, usage=TokenUsage(input_tokens=plan.input_tokens, output_tokens=5))

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        return self._request(plan, question)


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``clock.mp4``: 20 s, 10 fps, 160×90 H.264; each frame shows its own time. Its folder also holds
    ``notes.mp4``, which is not a video."""
    folder = tmp_path_factory.mktemp("videos")
    (folder / "notes.mp4").write_text("this is not a video\n")
    return make_test_video(folder / "clock.mp4", duration=20.0, fps=10.0, size=(160, 90))


@pytest.fixture(scope="session")
def frame_folder(video: Path) -> Path:
    """``frames/`` beside the video: 40 images ``frame_0000.jpg…`` at 2 frames per second (20 s), each showing
    its own time. The names do not state times, so the folder needs a frame rate."""
    folder = video.parent / "frames"
    folder.mkdir(exist_ok=True)
    for i in range(40):
        paint_time_code(i / 2.0, (160, 90)).save(folder / f"frame_{i:04d}.jpg", quality=95)
    return folder


@pytest.fixture
def policy(video: Path) -> AccessPolicy:
    """Allows the video's folder; at most 16 frames and 60 s per call."""
    return AccessPolicy.allow([video.parent], max_k=16, max_duration=60.0)


@pytest.fixture
def sampler() -> HotSpotSampler:
    return HotSpotSampler()


@pytest.fixture
def echo() -> EchoAssistant:
    return EchoAssistant()
