"""``auto``, the default sampler everywhere: GenS whenever it can run here, uniform sampling otherwise.

What runs is decided by :func:`~gens_tools.samplers._default.choose_default_sampler` (a served GenS named by
``GENS_TOOLS_GENS_URL``, else GenS-3B in-process when the ``local`` extra is installed and its weights are
cached or can be downloaded, else uniform sampling). When GenS cannot run — or fails to load — the sampler
falls back to uniform sampling and carries a :attr:`~gens_tools.samplers.FrameSampler.notice` saying why and
how to get GenS, which every selection, the command line and the agent tools repeat. A sampler named
explicitly (``"gens-3b"``, ``"remote"``…) never falls back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import ClassVar

from gens_tools.errors import BackendUnavailableError, ModelUnavailableError
from gens_tools.progress import ProgressCallback
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._default import GENS_3B_ID, choose_default_sampler, fallback_notice
from gens_tools.samplers._registry import make_sampler, register_sampler


@register_sampler("auto")
class AutoSampler(FrameSampler):
    """GenS when it can run here (a served GenS, or GenS-3B in-process), else uniform sampling, said every time.

    Args:
        model: the GenS-3B checkpoint to run in-process: a hub id (default yaolily/GenS-qwen2d5-vl-3b) or a
            local model folder.
        device: torch device for GenS-3B in-process (default: CUDA when available, else CPU).
        dtype: torch dtype for GenS-3B in-process (default: bfloat16 on CUDA, float32 on CPU).
        window_size: most frames per window (default: the chosen sampler's; 256 for GenS).
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        dtype: str | None = None,
        window_size: int | None = None,
    ) -> None:
        model_id = os.fspath(model) if model is not None else GENS_3B_ID
        choice = choose_default_sampler(model_id=model_id)
        options = dict(choice.options)
        if choice.name == "gens-3b":
            options.update(device=device, dtype=dtype)
        if window_size is not None:
            options["window_size"] = window_size
        notice = choice.notice
        try:
            inner = make_sampler(choice.name, **options)
        except (ModelUnavailableError, BackendUnavailableError) as exc:
            inner = make_sampler("uniform", window_size=window_size)
            notice = fallback_notice(f"{choice.name} could not be loaded ({_first_clause(str(exc))})")
        self.inner = inner
        self.notice = notice
        self.info = choice.info
        self.window_size = inner.window_size
        self.needs_images = inner.needs_images
        self.preferred_max_side = inner.preferred_max_side
        self.generative = inner.generative

    def __repr__(self) -> str:
        return f"AutoSampler({self.inner!r})"

    @property
    def label(self) -> str:
        """The name of the sampler that actually runs."""
        return self.inner.label

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window with the chosen sampler."""
        return self.inner.score_window(window, question)

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        """Score windows with the chosen sampler (its own batching and concurrency included)."""
        return self.inner.score_windows(windows, question, total=total, progress=progress)

    def close(self) -> None:
        """Close the chosen sampler."""
        self.inner.close()


def _first_clause(message: str) -> str:
    """The reason in a loader's message, without its advice on how to get the model (said by the notice)."""
    for cut in (": download it", "; download it", ": pip install", " (pip install"):
        message = message.split(cut, 1)[0]
    return message.strip()
