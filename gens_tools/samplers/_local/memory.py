"""Whether a model fits before it is allocated: its parameter count from the config (counted on torch's meta
device, which allocates nothing), its dtype, and the memory free where it will live (the GPU's free memory for
CUDA, the host's available memory for the CPU).

Loading a model that does not fit ends in an out-of-memory error after minutes of reading weights, or, on the
CPU, in the machine swapping or the process being killed; the check refuses at once, with the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gens_tools.errors import SamplerError

if TYPE_CHECKING:
    import torch

#: GPU memory sizes (GB) a suggestion picks from: common cards.
GPU_SIZES_GB = (16, 24, 40, 48, 80, 94, 141, 192)
#: Head room asked of a suggested GPU beyond the weights (activations, the KV cache of a window).
GPU_HEADROOM = 1.25
#: 10⁹ bytes: figures are given in decimal GB, as disk and GPU sizes are.
GB = 1e9


def count_parameters(model_class: Any, config: Any) -> int:
    """Parameters of ``model_class`` built from ``config``, counted on the meta device (nothing is
    allocated; tied weights count once)."""
    import torch

    with torch.device("meta"):
        model = model_class._from_config(config)
    return sum(p.numel() for p in model.parameters())


def free_memory(device: torch.device) -> int | None:
    """Bytes free on ``device``: CUDA's own count for a GPU, the host's available memory (``MemAvailable``
    of ``/proc/meminfo``) for the CPU, else ``None`` (unknown: nothing is checked)."""
    if device.type == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def size_text(n_bytes: float) -> str:
    """A byte count in words: whole GB from 10 GB up (``"101 GB"``), one decimal below (``"7.5 GB"``), MB
    under 0.1 GB."""
    gb = n_bytes / GB
    if gb >= 10:
        return f"{gb:.0f} GB"
    if gb >= 0.1:
        return f"{gb:.1f} GB"
    return f"{n_bytes / 1e6:.1f} MB"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _where(device: torch.device) -> str:
    return "the CPU" if device.type == "cpu" else str(device)


def suggested_gpu_gb(weight_bytes: float, sizes: Sequence[int] = GPU_SIZES_GB) -> int:
    """The smallest common GPU size (GB) holding ``weight_bytes`` with :data:`GPU_HEADROOM`."""
    need = weight_bytes * GPU_HEADROOM / GB
    return next((size for size in sizes if size >= need), sizes[-1])


def check_fits(
    name: str,
    n_params: int,
    dtype: torch.dtype,
    device: torch.device,
    *,
    free: int | None = None,
    alternative: str = "",
) -> None:
    """Refuse to load a model of ``n_params`` parameters in ``dtype`` on ``device`` when its weights exceed the
    memory free there (``free``, default :func:`free_memory`; unknown → no check).

    Raises:
        SamplerError: with the figures and what would fit, e.g. "GenS needs ≈101 GB in float32 on the CPU;
            this machine has 24 GB free: use a GPU with ≥ 80 GB or dtype=bfloat16 (≈51 GB)".
    """
    available = free_memory(device) if free is None else free
    need = n_params * dtype.itemsize
    if available is None or need <= available:
        return
    half = n_params * 2
    options = [f"a GPU with ≥ {suggested_gpu_gb(min(half, need))} GB"]
    if device.type != "cpu":
        options.append(f"free memory on {device}")
    if dtype.itemsize > 2:
        options.append(f"dtype=bfloat16 (≈{size_text(half)})")
    if alternative:
        options.append(alternative)
    advice = " or ".join(options) if len(options) < 3 else ", ".join(options[:-1]) + " or " + options[-1]
    holder = "this machine has" if device.type == "cpu" else f"{device} has"
    raise SamplerError(
        f"{name} needs ≈{size_text(need)} in {_dtype_name(dtype)} on {_where(device)}; {holder} "
        f"{size_text(available)} free: use {advice}"
    )
