"""Progress reporting: a tiny callback protocol the API calls and the CLI turns into progress bars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Stage = Literal["open", "decode", "score", "select", "write"]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """``done`` units of ``total`` finished in ``stage`` (``total`` is ``None`` when unknown).

    Units: frames for ``decode``, windows for ``score``.
    """

    stage: Stage
    done: int
    total: int | None = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def emit(
    callback: ProgressCallback | None, stage: Stage, done: int, total: int | None = None, message: str = ""
) -> None:
    """Call ``callback`` if given; progress callbacks must never break the work, so errors propagate only
    from the callback's own code (we do not swallow them: a failing callback is a bug to see)."""
    if callback is not None:
        callback(ProgressEvent(stage, done, total, message))
