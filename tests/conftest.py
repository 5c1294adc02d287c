"""Shared fixtures: generated videos and an isolated frame cache for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from gens_tools.synthetic import make_test_video


@pytest.fixture(autouse=True)
def isolated_frame_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own frame cache folder, so no test sees another's cached frames."""
    cache_dir = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("GENS_TOOLS_CACHE_DIR", str(cache_dir))
    return cache_dir


@pytest.fixture(scope="session")
def video_40s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of H.264 at 10 fps, 160×90, every frame painted with its own time."""
    return make_test_video(tmp_path_factory.mktemp("videos") / "clip40.mp4", duration=40.0, fps=10.0, size=(160, 90))
