"""Reading a checkpoint folder's weights one file at a time: safetensors, or PyTorch ``.bin`` files.

Checkpoints come as ``model.safetensors`` (or shards listed in ``model.safetensors.index.json``) or as
``pytorch_model.bin`` (or shards listed in ``pytorch_model.bin.index.json``); safetensors win when a folder has
both. ``.bin`` files are pickles: they are read with ``torch.load(weights_only=True)``, which rebuilds tensors
and plain containers only and refuses any other Python object, so a weight file never runs code. They are
memory-mapped where their format allows it, so a shard is not copied whole into memory before its tensors are
used.

torch and safetensors are imported only inside the functions that read files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gens_tools.errors import ModelUnavailableError

if TYPE_CHECKING:
    import torch

#: The weight layouts looked for, in order of preference: (index file, single file, shard glob).
WEIGHT_LAYOUTS = (
    ("model.safetensors.index.json", "model.safetensors", "*.safetensors"),
    ("pytorch_model.bin.index.json", "pytorch_model.bin", "pytorch_model*.bin"),
)


def weight_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The weight files of a checkpoint folder, in index order: safetensors when there are any, otherwise
    PyTorch ``.bin`` files; each from its index, or the single file, or the shards found by name.

    Raises:
        ModelUnavailableError: no weights, an unreadable index, or shards the index lists but the folder
            lacks (an incomplete download).
    """
    root = Path(folder)
    for index_name, single_name, shard_glob in WEIGHT_LAYOUTS:
        index = root / index_name
        if index.is_file():
            return _indexed_files(root, index)
        single = root / single_name
        if single.is_file():
            return [single]
        shards = sorted(root.glob(shard_glob))
        if shards:
            return shards
    raise ModelUnavailableError(
        f"checkpoint {str(root)!r} has no weights: expected model.safetensors, pytorch_model.bin, or an index "
        "of either (model.safetensors.index.json, pytorch_model.bin.index.json)"
    )


def _indexed_files(root: Path, index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = list(dict.fromkeys(str(name) for name in weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelUnavailableError(f"cannot read the weight index {str(index)!r}: {exc}") from exc
    files = [root / name for name in names]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ModelUnavailableError(
            f"checkpoint {str(root)!r} lacks {len(missing)} weight shard(s) listed in its index "
            f"(first: {missing[0]}); the download is incomplete"
        )
    return files


def iter_file_tensors(path: Path, *, device: str = "cpu") -> Iterator[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` for every tensor of one weight file, on ``device``."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device=device) as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
                yield key, handle.get_tensor(key)
        return
    state = load_bin(path)
    for key in list(state):
        tensor = state.pop(key)
        yield key, tensor if device == "cpu" else tensor.to(device)


def load_bin(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a PyTorch ``.bin`` file, read with ``weights_only=True`` (memory-mapped when the file is
    in the zip format torch has written since 1.6; older files are read whole).

    Raises:
        ModelUnavailableError: the file holds anything but a mapping of names to tensors (refused unread), or
            cannot be read.
    """
    import pickle

    import torch

    def read(mmap: bool) -> Any:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)

    try:
        try:
            state = read(mmap=True)
        except RuntimeError as exc:  # the legacy (pre-zip) format cannot be memory-mapped
            if "mmap" not in str(exc).lower():
                raise
            state = read(mmap=False)
    except pickle.UnpicklingError as exc:
        raise ModelUnavailableError(
            f"weight file {str(path)!r} holds Python objects other than tensors; it was not unpickled "
            f"(only weights_only loading is allowed): {exc}"
        ) from exc
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot read the weight file {str(path)!r}: {exc}") from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelUnavailableError(f"weight file {str(path)!r} is not a mapping of weight names to tensors")
    return state
