"""A toy assistant provider written the way a user outside the package would write one: only public names of
``gens_tools.assistants``, one module, registered with :func:`register_assistant`.

It brings its own model-table row (``toy-vlm``), its own image rule (``toy_pixels``, with a ``grain`` setting the
planner may lower to fit), and its own options (``style``, a plain provider option, and ``grain``). It needs no
network: it "answers" by reading the time painted into every frame it is sent (test videos carry one) and
citing the first and last labels. Everything it was sent is kept in :attr:`ToyAssistant.sent`.

Self-contained on purpose (nothing from the test suite), so other tests can register it too::

    with toy_assistant_registered():
        make_assistant("toy-vlm", style="pirate")
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from PIL import Image

from gens_tools.assistants import (
    Assistant,
    FramePlan,
    ImagePart,
    ImageRule,
    ImageSetting,
    ModelLimits,
    ProviderOption,
    Reply,
    TextPart,
    TokenUsage,
    message_parts,
    register_assistant,
    unregister_assistant,
)
from gens_tools.errors import InvalidArgumentError
from gens_tools.synthetic import read_time_code

STYLES = ("plain", "pirate")
GRAINS = ("fine", "coarse")


class ToyPixelRule(ImageRule):
    """One token per 1000 pixels at ``grain="fine"``, per 4000 at ``"coarse"``."""

    name: ClassVar[str] = "toy_pixels"
    title: ClassVar[str] = "toy pixel pricing"
    settings: ClassVar[dict[str, tuple[str, ...]]] = {"grain": GRAINS}

    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        per = 4000 if setting.get("grain") == "coarse" else 1000
        return math.ceil(width * height / per)

    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        side = wanted.max_side or limits.default_max_side
        grain = wanted.get("grain")
        if grain is not None:
            return [ImageSetting.of(side, grain=grain)]
        return [ImageSetting.of(side, grain="fine"), ImageSetting.of(side, grain="coarse")]


@dataclass(frozen=True)
class SentFrame:
    """One image the toy was sent: the label before it, the time painted in it, its size and grain."""

    label: str
    painted: float
    width: int
    height: int
    grain: str | None


class ToyAssistant(Assistant):
    """Answers by reading the frames' painted times; ``style="pirate"`` starts the answer with "Arr"."""

    provider: ClassVar[str] = "toy"
    default_model: ClassVar[str] = "toy-vlm"
    model_prefixes: ClassVar[tuple[str, ...]] = ("toy-",)
    model_table: ClassVar[dict[str, dict[str, Any]]] = {
        "toy-vlm": {
            "context_window": 8_000,
            "output_reserve": 1_000,
            "image_rule": "toy_pixels",
            "max_images": 12,
            "default_frames": 6,
            "default_max_side": 160,
        },
    }
    image_rules = (ToyPixelRule(),)
    provider_options = (
        ProviderOption("style", "how the toy words its answer", choices=STYLES),
        ProviderOption("grain", "toy image grain (default: planner)", choices=GRAINS),
    )
    sends_image_settings: ClassVar[tuple[str, ...]] = ("grain",)

    #: Per request, the frames sent (newest last); cleared by :func:`toy_assistant_registered`.
    sent: ClassVar[list[list[SentFrame]]] = []

    def __init__(self, model: str = "toy-vlm", *, style: str = "plain", grain: str | None = None, **options: Any):
        super().__init__(model, grain=grain, **options)
        if style not in STYLES:
            raise InvalidArgumentError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        self.style = style

    def _request(self, plan: FramePlan, question: str) -> Reply:
        frames: list[SentFrame] = []
        label = ""
        for part in message_parts(plan, question):
            if isinstance(part, TextPart):
                label = part.text
            elif isinstance(part, ImagePart):
                with Image.open(io.BytesIO(part.image.jpeg)) as img:
                    painted = read_time_code(img.convert("RGB"))
                    frames.append(SentFrame(label, painted, img.width, img.height, part.image.settings.get("grain")))
        ToyAssistant.sent.append(frames)
        opening = "Arr, " if self.style == "pirate" else ""
        text = f"{opening}I saw {len(frames)} frames, from {frames[0].label} to {frames[-1].label}."
        usage = TokenUsage(input_tokens=plan.input_tokens, output_tokens=len(text.split()))
        return Reply(text, "stop", usage, response_id=f"toy-{len(ToyAssistant.sent)}", model=f"{self.model}-001")

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        return self._request(plan, question)


@contextmanager
def toy_assistant_registered() -> Iterator[type[ToyAssistant]]:
    """Register :class:`ToyAssistant` for the duration of the block (its log cleared), then remove it."""
    ToyAssistant.sent.clear()
    register_assistant(ToyAssistant)
    try:
        yield ToyAssistant
    finally:
        unregister_assistant(ToyAssistant.provider)
        ToyAssistant.sent.clear()
