"""Fixtures of the MCP server tests: a time-coded video in an allowed folder, and a way to start
``gens-tools mcp`` the way a client does (a subprocess speaking stdio, or serving HTTP on 127.0.0.1)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gens_tools.synthetic import make_test_video

pytest.importorskip("mcp")


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``allowed/clock.mp4``: 20 s, 10 fps, 160×90 H.264; each frame shows its own time. ``secret/`` beside
    ``allowed/`` holds a video that must never be opened."""
    root = tmp_path_factory.mktemp("mcp")
    (root / "allowed").mkdir()
    (root / "secret").mkdir()
    make_test_video(root / "secret" / "private.mp4", duration=2.0, fps=10.0, size=(64, 48))
    return make_test_video(root / "allowed" / "clock.mp4", duration=20.0, fps=10.0, size=(160, 90))


def server_command(*args: str) -> tuple[str, list[str]]:
    """``gens-tools mcp ARGS`` as this interpreter runs it (no frame cache, so tests leave nothing behind)."""
    return sys.executable, ["-m", "gens_tools", "mcp", "--no-cache", *args]


def server_env(**extra: str) -> dict[str, str]:
    """The environment of the server process: this one's, offline, without real keys, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env
