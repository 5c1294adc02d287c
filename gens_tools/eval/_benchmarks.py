"""Benchmarks by name: each reader turns a published annotation file into :class:`EvalItem` s."""

from __future__ import annotations

import os
from collections.abc import Callable

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval._items import EvalItem, read_items
from gens_tools.eval._longvideobench import read_longvideobench
from gens_tools.eval._mlvu import read_mlvu
from gens_tools.eval._videomme import read_videomme

Reader = Callable[..., list[EvalItem]]

#: name → reader(path, video_root=None). ``jsonl`` is gens-tools' own item format (the synthetic benchmark).
BENCHMARKS: dict[str, Reader] = {
    "longvideobench": read_longvideobench,
    "mlvu": read_mlvu,
    "videomme": read_videomme,
    "jsonl": read_items,
}


def load_benchmark(
    name: str, path: str | os.PathLike[str], *, video_root: str | os.PathLike[str] | None = None
) -> list[EvalItem]:
    """The items of benchmark ``name`` read from its annotation file ``path`` (see each reader for the
    fields it reads and where it looks for the videos)."""
    try:
        reader = BENCHMARKS[name]
    except KeyError:
        raise InvalidArgumentError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}") from None
    return reader(path, video_root=video_root)
