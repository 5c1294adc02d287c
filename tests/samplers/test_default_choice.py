"""``auto``: GenS whenever it can run, uniform sampling otherwise, with the reason said — decided from the
environment and the Hugging Face cache's files, without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gens_tools.samplers._default import (
    GENS_3B_ID,
    GENS_MODEL_ENV,
    GENS_URL_ENV,
    HOW_TO_GET_GENS,
    choose_default_sampler,
    weights_in_cache,
)


def _fake_hub_cache(root: Path, model_id: str, files: dict[str, str]) -> Path:
    """A Hugging Face cache laid out as huggingface_hub writes it, holding ``files`` for ``model_id``."""
    repo = root / ("models--" + model_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, text in files.items():
        (snapshot / name).write_text(text)
    return root


def test_a_served_gens_wins() -> None:
    choice = choose_default_sampler(environ={GENS_URL_ENV: "http://127.0.0.1:8000/v1", GENS_MODEL_ENV: "gens"})
    assert choice.name == "remote"
    assert choice.options == {"base_url": "http://127.0.0.1:8000/v1", "model": "gens"}
    assert choice.notice is None


def test_cached_weights_run_gens_3b(tmp_path: Path) -> None:
    index = {"weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    cache = _fake_hub_cache(
        tmp_path,
        GENS_3B_ID,
        {
            "config.json": "{}",
            "model.safetensors.index.json": json.dumps(index),
            "model-00001-of-00002.safetensors": "x",
            "model-00002-of-00002.safetensors": "x",
        },
    )
    choice = choose_default_sampler(environ={"HF_HUB_OFFLINE": "1"}, cache_dir=cache)
    assert (choice.name, choice.options, choice.notice) == ("gens-3b", {"model": GENS_3B_ID}, None)


def test_a_partial_download_is_not_taken_for_the_model(tmp_path: Path) -> None:
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    cache = _fake_hub_cache(
        tmp_path,
        GENS_3B_ID,
        {
            "config.json": "{}",
            "model.safetensors.index.json": json.dumps(index),
            "model-00001-of-00002.safetensors": "",
        },
    )
    assert not weights_in_cache(GENS_3B_ID, cache_dir=cache)
    choice = choose_default_sampler(environ={"HF_HUB_OFFLINE": "1"}, cache_dir=cache)
    assert choice.name == "uniform"
    assert "not in the Hugging Face cache" in (choice.notice or "")


def test_offline_without_weights_falls_back_and_says_how_to_get_gens(tmp_path: Path) -> None:
    choice = choose_default_sampler(environ={"HF_HUB_OFFLINE": "1"}, cache_dir=tmp_path)
    assert choice.name == "uniform"
    assert choice.notice is not None
    assert choice.notice.startswith("uniform sampling (the question is ignored)")
    assert HOW_TO_GET_GENS in choice.notice


def test_online_without_weights_downloads_gens_3b_and_says_so(tmp_path: Path) -> None:
    choice = choose_default_sampler(environ={}, cache_dir=tmp_path)
    assert choice.name == "gens-3b"
    assert choice.notice is None
    assert "7.5 GB" in (choice.info or "")


def test_without_the_local_extra_it_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    choice = choose_default_sampler(environ={})
    assert choice.name == "uniform"
    assert "the local extra is not installed (torch missing)" in (choice.notice or "")


def test_deciding_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    code = (
        "import sys, time; t = time.perf_counter();"
        "from gens_tools.samplers._default import choose_default_sampler;"
        f"c = choose_default_sampler(environ={{'HF_HUB_OFFLINE': '1'}}, cache_dir={str(tmp_path)!r});"
        "print(c.name, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["uniform", "False", "False"]
