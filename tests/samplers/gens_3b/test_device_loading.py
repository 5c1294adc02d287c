"""Device/dtype/attention choice, model path resolution (offline), OOM advice, and lazy imports."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.samplers._local import device as device_mod
from gens_tools.samplers._local.device import pick_attn_implementation, pick_device_and_dtype, require_torch
from gens_tools.samplers._local.loading import guard_oom, resolve_model_path

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")


@no_cuda
def test_defaults_on_a_cpu_machine_are_cpu_float32() -> None:
    dev, dtype = pick_device_and_dtype()
    assert dev.type == "cpu"
    assert dtype == torch.float32
    assert pick_device_and_dtype("auto", "auto") == (dev, dtype)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("bf16", torch.bfloat16), ("bfloat16", torch.bfloat16), ("fp16", torch.float16), ("torch.float32", torch.float32)],
)
def test_explicit_dtype_overrides_the_default(spelling: str, expected: torch.dtype) -> None:
    assert pick_device_and_dtype("cpu", spelling) == (torch.device("cpu"), expected)


def test_bad_dtype_and_device_are_typed_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown dtype 'int7'"):
        pick_device_and_dtype("cpu", "int7")
    with pytest.raises(InvalidArgumentError, match=r"unknown device|unsupported device"):
        pick_device_and_dtype("toaster")


@no_cuda
def test_requesting_cuda_without_a_gpu_says_so() -> None:
    with pytest.raises(InvalidArgumentError, match="CUDA is not available"):
        pick_device_and_dtype("cuda")


def test_attention_defaults_to_sdpa_without_flash_attn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_mod, "flash_attn_installed", lambda: False)
    assert pick_attn_implementation() == "sdpa"
    assert pick_attn_implementation("eager") == "eager"
    with pytest.raises(BackendUnavailableError, match="flash-attn"):
        pick_attn_implementation("flash_attention_2")
    with pytest.raises(InvalidArgumentError, match="unknown attention implementation"):
        pick_attn_implementation("fastest")


def test_flash_attention_only_on_cuda_half_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_mod, "flash_attn_installed", lambda: True)
    assert pick_attn_implementation(device="cpu", dtype="float32") == "sdpa"
    assert pick_attn_implementation(device="cpu", dtype="bf16") == "sdpa"
    assert pick_attn_implementation("flash_attention_2") == "flash_attention_2"
    if torch.cuda.is_available():
        assert pick_attn_implementation(device="cuda", dtype="bf16") == "flash_attention_2"


def test_missing_torch_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(BackendUnavailableError, match=r"gens-tools\[local\]"):
        require_torch()


def test_core_and_models_package_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import gens_tools, gens_tools.samplers._local.device, gens_tools.samplers._local.loading\n"
        "import gens_tools.samplers._local.prefix_cache\n"
        "bad = [m for m in ('torch', 'transformers', 'huggingface_hub') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "import gens_tools.samplers; assert 'GenS3BSampler' in gens_tools.samplers.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_local_model_folder_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model_path(tmp_path) == tmp_path.resolve()
    assert resolve_model_path(str(tmp_path)) == tmp_path.resolve()


def test_a_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"no config\.json"):
        resolve_model_path(tmp_path)


def test_a_missing_local_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve_model_path(tmp_path / "nope" / "model")


def test_offline_hub_id_not_cached_names_the_model_and_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelUnavailableError) as info:
        resolve_model_path("someone/gens-model-that-is-not-here", cache_dir=tmp_path / "hub")
    message = str(info.value)
    assert "someone/gens-model-that-is-not-here" in message
    assert "HF_HUB_OFFLINE" in message
    assert "hf download someone/gens-model-that-is-not-here" in message
    assert "\n" not in message  # the CLI prints it as one line


def test_an_offline_hub_id_in_the_cache_resolves_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Lay out a Hugging Face cache entry by hand, as a download would have left it.
    repo = tmp_path / "hub" / "models--someone--cached-model"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("someone/cached-model", cache_dir=tmp_path / "hub") == snap


def test_guard_oom_turns_out_of_memory_into_advice() -> None:
    with pytest.raises(SamplerError, match="try window_size=128") as info, guard_oom(256):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert isinstance(info.value.__cause__, torch.OutOfMemoryError)
    with pytest.raises(SamplerError, match="batch_size=1"), guard_oom(256, batch_size=4):
        raise RuntimeError("CUDA error: out of memory")


def test_guard_oom_lets_other_errors_through() -> None:
    with pytest.raises(RuntimeError, match="shape mismatch"), guard_oom(256):
        raise RuntimeError("shape mismatch")
    with pytest.raises(KeyError), guard_oom(256):
        raise KeyError("x")


def test_every_lazy_name_resolves_and_the_registry_finds_the_samplers() -> None:
    import gens_tools.samplers as models
    from gens_tools.samplers._registry import sampler_class
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.samplers.similarity import SimilaritySampler

    for name in models.__all__:
        assert getattr(models, name) is not None, name
    assert sampler_class("gens-3b") is GenS3BSampler is models.GenS3BSampler
    assert sampler_class("similarity") is SimilaritySampler
    assert GenS3BSampler.name == "gens-3b"
    assert SimilaritySampler.name == "similarity"


def test_bin_weights_are_fetched_only_from_a_repository_without_safetensors() -> None:
    from gens_tools.samplers._local.loading import HUB_ALLOW_PATTERNS, hub_allow_patterns

    with_safetensors = ["config.json", "model-00001-of-00002.safetensors", "pytorch_model-00001-of-00002.bin"]
    assert hub_allow_patterns(with_safetensors) == HUB_ALLOW_PATTERNS
    only_bin = [
        "config.json",
        "pytorch_model.bin.index.json",
        "pytorch_model-00001-of-00002.bin",
        "training_args.bin",
        "modeling_yivl.py",
    ]
    patterns = hub_allow_patterns(only_bin)
    fetched = [name for name in only_bin if any(fnmatch.fnmatch(name, p) for p in patterns)]
    # the weights and their index; never another pickle nor remote code
    assert fetched == ["config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"]
    assert not any(fnmatch.fnmatch("pytorch_model.bin", p) for p in HUB_ALLOW_PATTERNS)
    assert any(fnmatch.fnmatch("pytorch_model.bin", p) for p in hub_allow_patterns(["pytorch_model.bin"]))


def test_an_online_download_asks_for_bin_weights_when_the_repository_has_no_safetensors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the hub reachable (faked here: nothing leaves the machine), the repository is listed first and
    the download's allow-patterns follow what it holds."""
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    listings = {
        "someone/bin-model": ["config.json", "pytorch_model.bin", "modeling.py"],
        "someone/st-model": ["config.json", "model.safetensors", "pytorch_model.bin"],
    }
    asked: dict[str, list[str]] = {}

    def list_repo_files(self: Any, repo_id: str, *, revision: str | None = None, **kwargs: Any) -> list[str]:
        return listings[repo_id]

    def snapshot_download(repo_id: str, **kwargs: Any) -> str:
        asked[repo_id] = list(kwargs["allow_patterns"])
        folder = tmp_path / repo_id.replace("/", "--")
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        for name in listings[repo_id]:
            if any(fnmatch.fnmatch(name, p) for p in kwargs["allow_patterns"]):
                (folder / name).write_text("x")
        return str(folder)

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    bin_folder = resolve_model_path("someone/bin-model")
    assert (bin_folder / "pytorch_model.bin").is_file()
    assert not (bin_folder / "modeling.py").exists()
    st_folder = resolve_model_path("someone/st-model")
    assert (st_folder / "model.safetensors").is_file()
    assert not (st_folder / "pytorch_model.bin").exists()


def test_loading_refuses_when_the_weights_cannot_fit(
    qwen_parts: tuple[Any, Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gens_tools.samplers._local import memory
    from gens_tools.samplers.gens_3b import GenS3BSampler

    folder = GenS3BSampler.from_components(*qwen_parts).save_pretrained(tmp_path / "gens-3b-tiny")
    monkeypatch.setattr(memory, "free_memory", lambda device: 1000)
    with pytest.raises(SamplerError, match=r"GenS-3B needs ≈.* in float32 on the CPU; this machine has 0\.0 MB free"):
        GenS3BSampler(folder, device="cpu")
