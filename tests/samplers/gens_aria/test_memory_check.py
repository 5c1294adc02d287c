"""GenS refuses to load when its weights cannot fit: the parameter count comes from the config (counted on the
meta device, nothing allocated), the figure from the dtype, the free memory from the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import SamplerError
from gens_tools.samplers._local import memory
from gens_tools.samplers._local.memory import check_fits, count_parameters, suggested_gpu_gb
from gens_tools.samplers.gens_aria import GenSAriaSampler
from gens_tools.samplers.gens_aria._convert import aria_config_from_yi_vl
from gens_tools.testing import tiny_aria


@pytest.fixture(scope="module")
def gens_params() -> int:
    """Parameters of the published GenS sizes, counted without allocating them."""
    from transformers import AriaForConditionalGeneration

    return count_parameters(AriaForConditionalGeneration, aria_config_from_yi_vl(tiny_aria.real_gens_config()))


def test_the_real_gens_is_counted_without_allocating(gens_params: int) -> None:
    # Aria: 25.3 B parameters (3.9 B active); the count includes the vision tower and projector
    assert 25.0e9 < gens_params < 25.6e9
    assert round(gens_params * 4 / 1e9) == 101
    assert round(gens_params * 2 / 1e9) == 51


def test_float32_on_a_small_cpu_is_refused_with_the_real_figures(gens_params: int) -> None:
    with pytest.raises(SamplerError) as info:
        check_fits(
            "GenS",
            gens_params,
            torch.float32,
            torch.device("cpu"),
            free=24 * 10**9,
            alternative="the 3 B sampler (--sampler gens-3b)",
        )
    assert str(info.value) == (
        "GenS needs ≈101 GB in float32 on the CPU; this machine has 24 GB free: use a GPU with ≥ 80 GB, "
        "dtype=bfloat16 (≈51 GB) or the 3 B sampler (--sampler gens-3b)"
    )


def test_a_small_gpu_is_refused_and_a_large_one_is_not(gens_params: int) -> None:
    with pytest.raises(SamplerError) as info:
        check_fits("GenS", gens_params, torch.bfloat16, torch.device("cuda", 0), free=40 * 10**9)
    assert str(info.value) == (
        "GenS needs ≈51 GB in bfloat16 on cuda:0; cuda:0 has 40 GB free: use a GPU with ≥ 80 GB or free memory "
        "on cuda:0"
    )
    check_fits("GenS", gens_params, torch.bfloat16, torch.device("cuda", 0), free=79 * 10**9)
    check_fits("GenS", gens_params, torch.float32, torch.device("cpu"), free=128 * 10**9)


def test_unknown_free_memory_is_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "free_memory", lambda device: None)
    check_fits("GenS", 10**12, torch.float32, torch.device("cpu"))


def test_sizes_in_words() -> None:
    assert memory.size_text(101.2e9) == "101 GB"
    assert memory.size_text(7.5e9) == "7.5 GB"
    assert memory.size_text(2.5e6) == "2.5 MB"


def test_suggested_gpu_sizes() -> None:
    assert suggested_gpu_gb(51e9) == 80
    assert suggested_gpu_gb(7.5e9) == 16
    assert suggested_gpu_gb(500e9) == 192


def test_the_host_reports_some_free_memory() -> None:
    free = memory.free_memory(torch.device("cpu"))
    assert free is None or free > 0


def test_the_sampler_refuses_before_allocating(yi_vl_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gens_tools.samplers.gens_aria._loading as loading

    def allocate(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model was allocated before the memory check")

    monkeypatch.setattr(loading, "_empty_model", allocate)
    monkeypatch.setattr(memory, "free_memory", lambda device: 1000)
    refusal = r"GenS needs ≈\d+\.\d MB in float32 on the CPU; this machine has 0\.0 MB free"
    with pytest.raises(SamplerError, match=refusal):
        GenSAriaSampler(str(yi_vl_dir), device="cpu")
