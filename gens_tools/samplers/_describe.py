"""What a sampler's constructor takes, read from the class itself: each option's name, type, default and help.

The constructor's signature is the declaration: names, annotations and defaults come from it, and each
option's help from the ``Args:`` section of the class docstring (or of a base class's). So an option is declared
once, where a Python user reads it, and the command line builds its flags from the same place.

Which callables declare the options is the class's ``option_sources`` (``("__init__",)`` by default; an
in-process sampler adds the keyword-only options of its ``_configure``). Options whose type cannot be written
on a command line (a callable, a cache object, a mapping) are described but get no flag; neither do the names
in the class's ``secret_options`` (an API key belongs in the environment, not in a shell history).
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from gens_tools.errors import InvalidArgumentError

if TYPE_CHECKING:
    from gens_tools.samplers._base import FrameSampler

__all__ = ["REQUIRED", "SamplerOption", "describe_options", "shared_options"]

#: The default of an option that has none (it must be given).
REQUIRED: Any = inspect.Parameter.empty

#: Text kinds an option can be given as on a command line.
Kind = Literal["str", "int", "float", "bool"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_ARG_SECTIONS = ("Args:", "Arguments:", "Parameters:")


@dataclass(frozen=True, slots=True)
class SamplerOption:
    """One constructor option of a sampler.

    Attributes:
        name: the keyword (``window_size``).
        help: its help text, from the class docstring (``""`` when undocumented).
        annotation: its type as written in the signature (``"int | None"``).
        default: its default value, or :data:`REQUIRED` when it must be given.
        kind: how it is written as text: ``"str"``, ``"int"``, ``"float"`` or ``"bool"``; ``None`` when it
            cannot be given as text (a callable, a cache object…) and so has no command-line flag.
        choices: text values taken as they are (a ``Literal``), alone or next to ``kind`` (``int | "auto"``).
        secret: never a flag nor shown (an API key).
    """

    name: str
    help: str
    annotation: str
    default: Any = REQUIRED
    kind: Kind | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False

    @property
    def required(self) -> bool:
        """Whether the option has no default."""
        return self.default is REQUIRED

    @property
    def flag(self) -> str | None:
        """The command-line flag (``--window-size``), or ``None`` when the option cannot be a flag."""
        if self.secret or (self.kind is None and not self.choices):
            return None
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """The value ``text`` stands for (``"8"`` → ``8`` for an ``int``).

        Raises:
            InvalidArgumentError: text that is not a value of this option, naming its flag.
        """
        if text in self.choices:
            return text
        try:
            if self.kind == "str":
                return text
            if self.kind == "int":
                return int(text)
            if self.kind == "float":
                return float(text)
            if self.kind == "bool" and text.strip().lower() in _TRUE + _FALSE:
                return text.strip().lower() in _TRUE
        except ValueError:
            pass
        raise InvalidArgumentError(f"{self.flag or self.name} expects {self.expects()}, got {text!r}")

    def expects(self) -> str:
        """What the option's text must be, in words (``"a whole number or auto"``)."""
        words = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false"}
        parts = [words[self.kind]] if self.kind else []
        parts += list(self.choices)
        return " or ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " or " + parts[-1]


def describe_options(cls: type[FrameSampler]) -> tuple[SamplerOption, ...]:
    """The options ``cls``'s constructor takes, in signature order (see the module docstring)."""
    docs = _documented_args(cls)
    secret = set(getattr(cls, "secret_options", ()))
    seen: dict[str, SamplerOption] = {}
    for index, source in enumerate(getattr(cls, "option_sources", ("__init__",))):
        func = getattr(cls, source)
        hints = _type_hints(func)
        for param in inspect.signature(func).parameters.values():
            if param.name in ("self", "cls") or param.name.startswith("_") or param.name in seen:
                continue
            if param.kind is param.KEYWORD_ONLY or (index == 0 and param.kind is param.POSITIONAL_OR_KEYWORD):
                seen[param.name] = _option(param, hints.get(param.name), docs.get(param.name, ""), secret)
    return tuple(seen.values())


def takes_any_option(cls: type[FrameSampler]) -> bool:
    """Whether ``cls``'s constructor accepts keywords beyond the described ones (its last option source
    has ``**kwargs``), so that unknown option names cannot be refused before calling it."""
    last = getattr(cls, getattr(cls, "option_sources", ("__init__",))[-1])
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(last).parameters.values())


def shared_options(classes: Iterable[tuple[str, type[FrameSampler]]]) -> dict[str, dict[str, SamplerOption]]:
    """Option name → {sampler name → its option}, for every option of the given samplers that can be a flag
    (one entry however many samplers take it), in first-seen order."""
    table: dict[str, dict[str, SamplerOption]] = {}
    for sampler, cls in classes:
        for option in cls.describe_options():
            if option.flag is not None:
                table.setdefault(option.name, {})[sampler] = option
    return table


# -------------------------------------------------------------------------------------------- types


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations of ``func``; one that cannot be resolved (a name imported only for type checking)
    is left out, so its option is described as having no text form."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # fall back to resolving one annotation at a time
        pass
    namespace = vars(sys.modules[func.__module__]) if func.__module__ in sys.modules else {}
    hints: dict[str, Any] = {}
    for name, annotation in getattr(func, "__annotations__", {}).items():
        try:
            hints[name] = eval(annotation, dict(namespace)) if isinstance(annotation, str) else annotation
        except Exception:  # an annotation naming something absent at runtime
            continue
    return hints


def _option(param: inspect.Parameter, hint: Any, help: str, secret: set[str]) -> SamplerOption:
    kind, choices = _text_form(hint) if hint is not None else (None, ())
    annotation = param.annotation if isinstance(param.annotation, str) else _type_name(param.annotation)
    if param.annotation is inspect.Parameter.empty:
        annotation = ""
    return SamplerOption(
        name=param.name,
        help=help,
        annotation=annotation,
        default=param.default,
        kind=kind,
        choices=choices,
        secret=param.name in secret,
    )


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def _text_form(hint: Any) -> tuple[Kind | None, tuple[str, ...]]:
    """How a value of type ``hint`` is written as text: its kind and the literal words it takes; ``(None,
    ())`` when some accepted type has no text form."""
    members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    kinds: set[str] = set()
    choices: list[str] = []
    for member in members:
        if member is type(None):
            continue
        if get_origin(member) is Literal:
            words = get_args(member)
            if not all(isinstance(w, str) for w in words):
                return None, ()
            choices += [w for w in words if w not in choices]
        elif member is bool:
            kinds.add("bool")
        elif member in (int, float, str):
            kinds.add(member.__name__)
        elif member is Path or get_origin(member) is os.PathLike or member is os.PathLike:
            kinds.add("str")
        else:
            return None, ()
    if kinds == {"int", "float"}:
        kinds = {"float"}
    if len(kinds) > 1 or ("bool" in kinds and choices):
        return None, ()
    kind = typing.cast(Kind, next(iter(kinds))) if kinds else None
    return kind, tuple(choices)


# ----------------------------------------------------------------------------------------- docstrings


def _documented_args(cls: type) -> dict[str, str]:
    """Option name → help, from the ``Args:`` sections of ``cls``'s docstring and its bases' (the class's
    own text wins)."""
    out: dict[str, str] = {}
    for klass in cls.__mro__:
        for name, text in _args_section(klass.__dict__.get("__doc__") or "").items():
            out.setdefault(name, text)
    return out


def _args_section(doc: str) -> dict[str, str]:
    """The entries of a Google-style ``Args:`` section; ``a, b: text`` documents both names."""
    out: dict[str, str] = {}
    names: list[str] = []
    text: list[str] = []
    indent: int | None = None
    inside = False

    def flush() -> None:
        for name in names:
            out[name] = _plain(" ".join(text))

    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        depth = len(line) - len(line.lstrip())
        if not inside:
            inside = stripped in _ARG_SECTIONS and depth == 0
            continue
        if stripped and depth == 0:  # the next section ("Raises:")
            break
        entry = re.match(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?:\([^)]*\))?:\s*(.*)$", stripped)
        if entry and (indent is None or depth == indent):
            flush()
            indent = depth
            names = [n.strip() for n in entry.group(1).split(",")]
            text = [entry.group(2)]
        elif stripped:
            text.append(stripped)
    flush()
    return out


def _plain(text: str) -> str:
    """Docstring markup made plain for a terminal: ``:role:`~a.b.c``` → ``c``, double backticks dropped."""
    text = re.sub(r":\w+:`~([^`]*)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = re.sub(r":\w+:`([^`]*)`", r"\1", text)
    return re.sub(r"\s+", " ", text.replace("``", "")).strip()
