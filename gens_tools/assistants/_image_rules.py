"""How a model prices an image in tokens, and which settings the planner tries for it: image rules as strategy
objects, registered by name.

Each row of the model table names its rule (``image_rule="openai_tile"``). A rule answers two questions:

* :meth:`ImageRule.tokens` — what one ``width``×``height`` image costs at a given :class:`ImageSetting`;
* :meth:`ImageRule.ladder` — the settings to try, best first: the planner takes the first at which every
  wanted frame fits the token budget, and drops frames only at the last (cheapest) one.

A rule may take settings of its own (OpenAI's ``detail``, Gemini 3's ``media_resolution``), declared in
:attr:`ImageRule.settings`; users force them through the assistant's options and the planner's keyword arguments.
The providers' rules live with the providers (:mod:`gens_tools.assistants._openai_models`,
:mod:`gens_tools.assistants._gemini_models`) and are registered with them; a new provider registers its own
rule the same way, without touching the planner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from gens_tools._checks import choice
from gens_tools.errors import InvalidArgumentError

if TYPE_CHECKING:
    from gens_tools.assistants._limits import ModelLimits


@dataclass(frozen=True, slots=True)
class ImageSetting:
    """One way of sending the images: their longest side (``None``: as they are) and the rule's own settings
    (``(("detail", "low"),)``…)."""

    max_side: int | None
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, max_side: int | None, **values: str | None) -> ImageSetting:
        """A setting from keyword values; those set to ``None`` are left out."""
        return cls(max_side, tuple((k, v) for k, v in values.items() if v is not None))

    def get(self, name: str) -> str | None:
        """The value of the rule's setting ``name``, or ``None`` when not set."""
        for key, value in self.values:
            if key == name:
                return value
        return None

    def as_dict(self) -> dict[str, str]:
        """The rule's settings as a dict (without ``max_side``)."""
        return dict(self.values)

    def describe(self) -> str:
        """``"max side 512px, detail=low"``: for the planner's notes."""
        parts = [f"max side {self.max_side}px" if self.max_side else "full size"]
        parts += [f"{k}={v}" for k, v in self.values]
        return ", ".join(parts)


class ImageRule(ABC):
    """How one family of models prices images, and the settings the planner may try (best first).

    Subclasses set :attr:`name` (the ``image_rule`` of model-table rows), :attr:`title` (words for messages)
    and, when the rule takes settings of its own, :attr:`settings`; they implement :meth:`tokens` and
    :meth:`ladder`. The rule's figures come from the :class:`~gens_tools.assistants.ModelLimits` of the
    model (the table row), or from the rule object itself.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: The settings this rule takes, each with the values it accepts (``{"detail": ("low", "high", "auto")}``).
    settings: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def choices(self, limits: ModelLimits, name: str) -> tuple[str, ...]:
        """The values the setting ``name`` accepts for a model with these ``limits``."""
        return self.settings[name]

    def check_limits(self, limits: ModelLimits) -> None:  # noqa: B027 - optional hook
        """Refuse limits this rule cannot price with (raise :class:`InvalidArgumentError`)."""

    def check_setting(self, limits: ModelLimits, setting: ImageSetting, model: str) -> None:
        """Refuse settings this rule does not take, or values it does not accept."""
        for name, value in setting.values:
            if name not in self.settings:
                takes = f"it takes {', '.join(self.settings)}" if self.settings else "it takes no image settings"
                raise InvalidArgumentError(
                    f"{name} does not apply to {model!r} ({limits.family}: {self.title or self.name}); {takes}"
                )
            choice(name, value, self.choices(limits, name))

    @abstractmethod
    def tokens(self, limits: ModelLimits, width: int, height: int, setting: ImageSetting) -> int:
        """Tokens one ``width``×``height`` image costs at ``setting`` (the size is the one sent)."""

    @abstractmethod
    def ladder(self, limits: ModelLimits, wanted: ImageSetting) -> list[ImageSetting]:
        """The settings to try, best first; ``wanted`` holds what the caller forced (``max_side``, settings)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def side_steps(default: int, max_side: int | None, smaller: Sequence[int]) -> list[int]:
    """The longest sides to try, largest first: ``max_side`` alone when forced, else ``default`` and those of
    ``smaller`` below it."""
    if max_side is not None:
        return [max_side]
    return sorted({default, *[s for s in smaller if s < default]}, reverse=True)


_RULES: dict[str, ImageRule] = {}

#: Names a rule's setting may not take: they are the planner's and the assistants' own arguments, or fields of
#: the plan's JSON form (where each setting is reported by name).
_RESERVED_SETTINGS = frozenset(
    {
        "model",
        "selection",
        "question",
        "system",
        "max_frames",
        "max_input_tokens",
        "max_side",
        "jpeg_quality",
        "overrides",
        "limits",
        "budget",
        "system_instruction",
        "max_output_tokens",
        "timestamp",
        "label",
        "score",
        "width",
        "height",
        "tokens",
        "bytes",
        "family",
        "n_frames",
        "n_dropped",
        "input_tokens",
        "image_tokens",
        "text_tokens",
        "context_window",
        "output_reserve",
        "image_bytes",
        "request_bytes",
        "image_settings",
        "notes",
    }
)


def register_image_rule(rule: ImageRule, *, replace: bool = False) -> ImageRule:
    """Make ``rule`` available to model-table rows under ``rule.name``.

    Raises:
        InvalidArgumentError: not an :class:`ImageRule`, no name, or another rule already has the name
            (unless ``replace``).
    """
    if not isinstance(rule, ImageRule):
        raise InvalidArgumentError(f"an image rule must be an ImageRule, got {type(rule).__name__}")
    if not isinstance(rule.name, str) or not rule.name.strip():
        raise InvalidArgumentError(f"{type(rule).__name__} has no name")
    clash = sorted(set(rule.settings) & _RESERVED_SETTINGS)
    if clash:
        raise InvalidArgumentError(f"image rule {rule.name!r} may not name a setting {clash[0]!r}")
    current = _RULES.get(rule.name)
    if current is not None and current is not rule and not replace:
        raise InvalidArgumentError(f"an image rule named {rule.name!r} is already registered ({current!r})")
    _RULES[rule.name] = rule
    return rule


def unregister_image_rule(name: str) -> None:
    """Forget the rule registered under ``name`` (nothing happens when there is none)."""
    _RULES.pop(name, None)


def image_rule(name: str) -> ImageRule:
    """The rule registered under ``name``."""
    try:
        return _RULES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_RULES)) or "none"
        raise InvalidArgumentError(f"unknown image_rule {name!r}; registered: {known}") from None


def setting_names() -> list[str]:
    """Every setting any registered rule takes, in registration order."""
    names: dict[str, None] = {}
    for rule in _RULES.values():
        names.update(dict.fromkeys(rule.settings))
    return list(names)
