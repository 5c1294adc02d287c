"""Where and how an in-process model runs: device, dtype and attention kernel.

Defaults: CUDA with bfloat16 when a GPU is there (float16 on GPUs without bf16), otherwise CPU with float32;
``flash_attention_2`` when the ``flash_attn`` package is installed and the model runs on CUDA in half
precision, otherwise PyTorch's ``sdpa``. Every choice can be overridden. torch is imported only inside the
functions, so this module imports without it.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import TYPE_CHECKING

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError

if TYPE_CHECKING:
    import torch

#: What to tell a user who lacks the in-process model dependencies.
LOCAL_INSTALL_HINT = (
    "pip install 'gens-tools[local]' (on machines without a GPU install the CPU build of torch first: "
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)"
)

#: Accepted dtype spellings → torch attribute names.
_DTYPES = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}

#: Attention implementations transformers accepts that we pass through when asked for by name.
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention")


def require_torch() -> ModuleType:
    """Import and return :mod:`torch`, or raise :class:`BackendUnavailableError` with the install hint."""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError(
            f"running a model in-process needs torch, which is not installed: {LOCAL_INSTALL_HINT}"
        ) from exc
    return torch


def require_transformers() -> ModuleType:
    """Import and return :mod:`transformers` (and torch), or raise :class:`BackendUnavailableError`."""
    require_torch()
    try:
        import transformers
    except ImportError as exc:
        raise BackendUnavailableError(
            f"running a model in-process needs transformers, which is not installed: {LOCAL_INSTALL_HINT}"
        ) from exc
    return transformers


def _parse_dtype(th: ModuleType, dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, th.dtype):
        given: torch.dtype = dtype
        return given
    if not isinstance(dtype, str):
        raise InvalidArgumentError(f"dtype must be a string such as 'bfloat16', got {dtype!r}")
    name = _DTYPES.get(dtype.strip().lower().removeprefix("torch."))
    if name is None:
        raise InvalidArgumentError(
            f"unknown dtype {dtype!r}; use one of: bfloat16 (bf16), float16 (fp16), float32 (fp32), auto"
        )
    result: torch.dtype = getattr(th, name)
    return result


def _parse_device(th: ModuleType, device: str | torch.device) -> torch.device:
    try:
        dev: torch.device = th.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"unknown device {device!r}; use 'cuda', 'cuda:N', 'cpu' or 'mps'") from exc
    if dev.type == "cuda":
        if not th.cuda.is_available():
            raise InvalidArgumentError(
                f"device {device!r} was requested but CUDA is not available (torch {th.__version__}); use device='cpu'"
            )
        if dev.index is not None and dev.index >= th.cuda.device_count():
            raise InvalidArgumentError(
                f"device {device!r} was requested but only {th.cuda.device_count()} GPU(s) are visible"
            )
    elif dev.type == "mps":
        if not (hasattr(th.backends, "mps") and th.backends.mps.is_available()):
            raise InvalidArgumentError(f"device {device!r} was requested but MPS is not available")
    elif dev.type != "cpu":
        raise InvalidArgumentError(f"unsupported device {device!r}; use 'cuda', 'cuda:N', 'cpu' or 'mps'")
    return dev


def pick_device_and_dtype(
    device: str | torch.device | None = None, dtype: str | torch.dtype | None = None
) -> tuple[torch.device, torch.dtype]:
    """The device and dtype to load a model with.

    Args:
        device: ``None``/``"auto"`` for CUDA when available else CPU; or ``"cuda"``, ``"cuda:1"``, ``"cpu"``,
            ``"mps"`` (a requested device that is not available is an error, not a silent fallback).
        dtype: ``None``/``"auto"`` for bfloat16 on CUDA (float16 where the GPU lacks bf16) and float32
            elsewhere; or ``"bfloat16"``/``"bf16"``, ``"float16"``/``"fp16"``, ``"float32"``/``"fp32"``, or a
            ``torch.dtype``.

    Raises:
        BackendUnavailableError: torch is not installed.
        InvalidArgumentError: an unknown or unavailable device, or an unknown dtype.
    """
    torch = require_torch()
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    else:
        dev = _parse_device(torch, device)
    if dtype is None or (isinstance(dtype, str) and dtype.strip().lower() == "auto"):
        if dev.type == "cuda":
            chosen = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        elif dev.type == "mps":
            chosen = torch.float16
        else:
            chosen = torch.float32
    else:
        chosen = _parse_dtype(torch, dtype)
    return dev, chosen


def flash_attn_installed() -> bool:
    """Whether the ``flash_attn`` package (FlashAttention 2) can be imported, checked without importing it."""
    try:
        return importlib.util.find_spec("flash_attn") is not None
    except (ImportError, ValueError):
        return False


def pick_attn_implementation(
    preferred: str | None = None,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> str:
    """The ``attn_implementation`` to load a transformers model with.

    Args:
        preferred: ``None``/``"auto"`` to choose; otherwise one of :data:`ATTN_IMPLEMENTATIONS`, returned as
            is (``flash_attention_2`` is checked to be installed).
        device, dtype: where the model will run (default: what :func:`pick_device_and_dtype` picks).
            FlashAttention needs CUDA and a half-precision dtype.

    Returns:
        ``"flash_attention_2"`` when ``flash_attn`` is installed and the model runs on CUDA in bf16/fp16,
        otherwise ``"sdpa"``.
    """
    if preferred is not None and preferred != "auto":
        if preferred not in ATTN_IMPLEMENTATIONS:
            raise InvalidArgumentError(
                f"unknown attention implementation {preferred!r}; use one of: "
                f"{', '.join(ATTN_IMPLEMENTATIONS)} or 'auto'"
            )
        if preferred == "flash_attention_2" and not flash_attn_installed():
            raise BackendUnavailableError(
                "attn_implementation='flash_attention_2' needs the flash-attn package: "
                "pip install flash-attn --no-build-isolation (CUDA only), or use 'sdpa'"
            )
        return preferred
    if not flash_attn_installed():
        return "sdpa"
    torch = require_torch()
    dev, dt = pick_device_and_dtype(device, dtype)
    if dev.type == "cuda" and dt in (torch.bfloat16, torch.float16):
        return "flash_attention_2"
    return "sdpa"
