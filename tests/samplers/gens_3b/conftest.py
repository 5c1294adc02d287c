"""Fixtures for the in-process model tests: tiny random-weight models built from configs, tokenizers trained
locally with ``tokenizers``. Nothing touches the network: the hub is switched off for every test here."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

from gens_tools.frames import Frame
from gens_tools.samplers._base import Window
from gens_tools.testing import tiny_qwen as tiny


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test in this folder may reach the Hugging Face hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def qwen_parts() -> tuple[Any, Any, Any]:
    """(model, tokenizer, image processor) of a tiny random Qwen2.5-VL."""
    tokenizer = tiny.build_qwen_tokenizer()
    model = tiny.build_qwen_model(tokenizer)
    return model, tokenizer, tiny.build_qwen_image_processor()


@pytest.fixture(scope="session")
def clip_parts() -> tuple[Any, Any, Any]:
    """(model, tokenizer, image processor) of a tiny random CLIP."""
    return tiny.build_clip()


@pytest.fixture(scope="session")
def siglip_parts() -> tuple[Any, Any, Any]:
    """(model, tokenizer, image processor) of a tiny random SigLIP."""
    return tiny.build_siglip()


def color_frames(n: int, *, seed: int = 0, size: tuple[int, int] = (160, 90), start: float = 0.0) -> list[Frame]:
    """``n`` frames at 1 fps with distinct random pictures (a grid of coloured blocks each)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        blocks = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
        pixels = np.kron(blocks, np.ones((size[1] // 3 + 1, size[0] // 4 + 1, 1), dtype=np.uint8))
        img = Image.fromarray(pixels[: size[1], : size[0]])
        frames.append(Frame(timestamp=start + i, image=img, index=int(start) + i))
    return frames


def make_window(n: int, *, index: int = 0, seed: int = 0, video_key: str | None = "video-a") -> Window:
    """A window of ``n`` random frames; ``video_key`` set as the pipeline sets it."""
    return Window(index=index, frames=color_frames(n, seed=seed, start=float(index * 1000)), video_key=video_key)
