"""Samplers and assistants written as one string, so a run can name several on the command line and ship
them to worker processes: ``NAME`` or ``NAME:key=value,key=value``.

Values are read as JSON where they parse (``8``, ``0.5``, ``true``, ``null``, ``"text"``), else as text, so
``remote:base_url=http://127.0.0.1:8000/v1,model=gens`` and ``precomputed:path=rag.jsonl`` work unquoted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gens_tools.errors import InvalidArgumentError

if TYPE_CHECKING:
    from gens_tools.assistants._base import Assistant
    from gens_tools.samplers._base import FrameSampler

#: The assistant name that means "no assistant": only frames are chosen and scored.
NO_ASSISTANT = "none"


@dataclass(frozen=True, slots=True)
class Spec:
    """A sampler or assistant by name, with its constructor options (picklable, so it can go to workers).

    Attributes:
        name: the registered sampler name, or the assistant's model name.
        options: keyword arguments for its constructor.
        label: how results name it (default: the text it was parsed from).
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", format_spec(self.name, self.options))

    @classmethod
    def parse(cls, text: str) -> Spec:
        """``NAME`` or ``NAME:key=value,…`` (see the module docstring).

        Raises:
            InvalidArgumentError: an empty name, or an option without ``=``.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError("a sampler or assistant must be named, e.g. 'uniform' or 'gpt-4o'")
        name, _, rest = text.strip().partition(":")
        if not name.strip():
            raise InvalidArgumentError(f"{text!r} names nothing before ':'")
        options: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise InvalidArgumentError(f"{text!r}: option {part!r} is not key=value")
            options[key.strip()] = _value(value.strip())
        return cls(name.strip(), options)

    def build_sampler(self) -> FrameSampler:
        """The sampler this spec names (:func:`gens_tools.make_sampler`)."""
        from gens_tools.samplers._registry import make_sampler

        return make_sampler(self.name, **self.options)

    def build_assistant(self) -> Assistant | None:
        """The assistant this spec names (:func:`gens_tools.make_assistant`), or ``None`` for ``none``."""
        if self.name == NO_ASSISTANT:
            return None
        from gens_tools.assistants import make_assistant

        return make_assistant(self.name, **self.options)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


#: Options never written into a label (labels go into results files and tables).
SECRET_OPTIONS = frozenset({"api_key"})


def format_spec(name: str, options: dict[str, Any]) -> str:
    """The text form of a spec (options in the order given; secrets such as ``api_key`` left out)."""
    shown = {k: v for k, v in options.items() if k not in SECRET_OPTIONS}
    if not shown:
        return name
    parts = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in shown.items()]
    return f"{name}:{','.join(parts)}"
