"""A sampler defined outside gens-tools, as a user or a plugin package writes one: it reads the time painted on
each generated frame and calls the frames near one chosen second relevant."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from gens_tools import FrameSampler, InvalidArgumentError, Window, WindowScores
from gens_tools.synthetic import read_time_code


class ToySampler(FrameSampler):
    """Calls the frames painted with times near ``toy_option`` seconds relevant.

    Args:
        toy_option: the second of video this sampler looks for.
        width: seconds either side of it that count too.
        mode: ``peak`` scores 5 at the second and 3 around it; ``flat`` scores 5 everywhere in the band.
        blank_first: leave the first window unscored (as a model whose answer could not be read).
        window_size: frames per window.
        api_key: a secret the sampler would send somewhere (never a flag).
        on_window: called with each window's index (not a command-line option).
    """

    name: ClassVar[str] = "toy"
    needs_images = True
    preferred_max_side: int | None = 160

    def __init__(
        self,
        toy_option: float = 20.0,
        *,
        width: int = 0,
        mode: Literal["peak", "flat"] = "peak",
        blank_first: bool = False,
        window_size: int = 16,
        api_key: str | None = None,
        on_window: Callable[[int], object] | None = None,
    ) -> None:
        if width < 0:
            raise InvalidArgumentError(f"width must be >= 0, got {width}")
        self.toy_option = toy_option
        self.width = width
        self.mode = mode
        self.blank_first = blank_first
        self.window_size = window_size
        self.api_key = api_key
        self.on_window = on_window

    secret_options: ClassVar[tuple[str, ...]] = ("api_key",)

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score each frame by the time painted on it."""
        if self.on_window is not None:
            self.on_window(window.index)
        if self.blank_first and window.index == 0:
            return WindowScores(window.index, None, raw_output="?")
        scores: list[float] = []
        for frame in window.frames:
            seconds = read_time_code(frame.require_image())
            distance = abs(seconds - self.toy_option)
            if distance > self.width + 0.01:
                scores.append(0.0)
            else:
                scores.append(5.0 if self.mode == "flat" or distance < 0.01 else 3.0)
        return WindowScores(window.index, scores)
