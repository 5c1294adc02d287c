"""Fixtures for the GenS-Aria tests: a locally trained tokenizer, tiny yi_vl-style checkpoints written to
temporary folders and native Aria models built from configs. The hub is switched off for every test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from gens_tools.testing import tiny_aria


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test here may reach the Hugging Face hub, nor see the user's cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-cache")))


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return tiny_aria.build_tokenizer()


@pytest.fixture(scope="session")
def yi_cfg(tokenizer: Any) -> dict[str, Any]:
    return tiny_aria.yi_vl_config(len(tokenizer))


@pytest.fixture(scope="session")
def yi_sd(yi_cfg: dict[str, Any]) -> dict[str, Any]:
    return tiny_aria.yi_vl_state_dict(yi_cfg, seed=0)


@pytest.fixture(scope="session")
def aria_model(yi_cfg: dict[str, Any], yi_sd: dict[str, Any]) -> Any:
    """The tiny GenS converted in memory to native Aria (float32, eval)."""
    return tiny_aria.native_model(yi_cfg, yi_sd)


@pytest.fixture(scope="session")
def yi_vl_dir(
    tmp_path_factory: pytest.TempPathFactory, yi_cfg: dict[str, Any], yi_sd: dict[str, Any], tokenizer: Any
) -> Path:
    """The tiny GenS saved like the published checkpoint (sharded safetensors, yi_vl config, tokenizer)."""
    return tiny_aria.write_yi_vl_checkpoint(tmp_path_factory.mktemp("gens-yi-vl") / "GenS", yi_cfg, yi_sd, tokenizer)
