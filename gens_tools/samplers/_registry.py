"""Samplers by name: the registry behind :func:`make_sampler`, the command line's ``--sampler`` and the agent tools.

A sampler registers itself where it is defined::

    @register_sampler("gens-3b", extra="local")
    class GenS3BSampler(LocalSampler): ...

Built-in samplers are the public modules of :mod:`gens_tools.samplers` (``uniform``, ``gens_3b``, ``remote``…):
they are imported, and so registered, the first time the registry is asked for a name. They import torch,
transformers and openai only when a sampler is built, so ``import gens_tools`` and ``gens-tools --help`` stay
light. Other packages register theirs in the entry-point group ``gens_tools.samplers`` (name = sampler name,
value = ``"module:Class"``), loaded only when that sampler is used, or by calling :func:`register_sampler`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError
from gens_tools.samplers._base import FrameSampler
from gens_tools.samplers._describe import takes_any_option

__all__ = [
    "ENTRY_POINT_GROUP",
    "SamplerEntry",
    "make_sampler",
    "register_sampler",
    "registered_sampler",
    "sampler_class",
    "sampler_entries",
    "sampler_names",
    "unregister_sampler",
]

#: The entry-point group other packages register samplers in.
ENTRY_POINT_GROUP = "gens_tools.samplers"

S = TypeVar("S", bound=type[FrameSampler])

#: The origin of the samplers gens-tools itself defines.
BUILT_IN = "gens-tools"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class SamplerEntry:
    """A registered sampler.

    Attributes:
        name: what :func:`make_sampler` and ``--sampler`` take.
        target: the class, or ``"module:Class"`` for one imported when first used.
        extra: the gens-tools extra that installs its dependencies (``"local"``), if any.
        origin: where it came from: ``"gens-tools"``, ``"entry point (dist)"``, or the registering module.
    """

    name: str
    target: type[FrameSampler] | str
    extra: str | None = None
    origin: str = ""

    @property
    def spec(self) -> str:
        """``"module:Class"`` of the target."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def install_hint(self) -> str:
        """`` (pip install 'gens-tools[extra]')`` when the sampler names an extra, else ``""``."""
        return f" (pip install 'gens-tools[{self.extra}]')" if self.extra else ""


_entries: dict[str, SamplerEntry] = {}
_lock = threading.RLock()
_discovered = False


# ------------------------------------------------------------------------------------------- registering


@overload
def register_sampler(
    name: str, target: None = None, *, extra: str | None = None, replace: bool = False
) -> Callable[[S], S]: ...


@overload
def register_sampler(name: str, target: S, *, extra: str | None = None, replace: bool = False) -> S: ...


@overload
def register_sampler(name: str, target: str, *, extra: str | None = None, replace: bool = False) -> None: ...


def register_sampler(
    name: str,
    target: type[FrameSampler] | str | None = None,
    *,
    extra: str | None = None,
    replace: bool = False,
) -> Any:
    """Make a sampler class available by ``name`` to :func:`make_sampler`, ``sample_frames(sampler=name)``,
    the agent tools and ``gens-tools sample --sampler name`` (whose flags come from the class's constructor).

    Use it as a class decorator, ``@register_sampler("toy")``, or call it: ``register_sampler("toy", Toy)``,
    or ``register_sampler("toy", "my_package.toy:ToySampler")`` to import the module only when the sampler is
    first used. A class whose ``name`` attribute is still the inherited one takes ``name``.

    Args:
        name: lower-case letters, digits, ``-``, ``_`` and ``.`` (it is typed on command lines).
        target: the :class:`FrameSampler` subclass or its ``"module:Class"``; omitted for the decorator form.
        extra: the gens-tools extra that installs the sampler's dependencies, named in error messages.
        replace: replace another sampler registered under ``name`` (otherwise that is an error).

    Raises:
        InvalidArgumentError: a malformed name or target, or a name already taken by another sampler.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgumentError(f"a sampler name is lower-case letters, digits, '-', '_' and '.', got {name!r}")
    if target is None:

        def decorate(cls: S) -> S:
            _add(name, cls, extra, replace)
            return cls

        return decorate
    _add(name, target, extra, replace)
    return None if isinstance(target, str) else target


def unregister_sampler(name: str) -> None:
    """Forget the sampler registered under ``name`` (nothing happens when there is none)."""
    with _lock:
        _entries.pop(name, None)


@contextlib.contextmanager
def registered_sampler(name: str, target: type[FrameSampler] | str, *, extra: str | None = None) -> Iterator[None]:
    """Register a sampler for the duration of a ``with`` block (tests), then restore what ``name`` meant."""
    _discover()
    with _lock:
        previous = _entries.get(name)
    register_sampler(name, target, extra=extra, replace=True)
    try:
        yield
    finally:
        with _lock:
            if previous is None:
                _entries.pop(name, None)
            else:
                _entries[name] = previous


def _add(name: str, target: type[FrameSampler] | str, extra: str | None, replace_existing: bool) -> None:
    if isinstance(target, str):
        if not re.match(r"^[\w.]+:[\w.]+$", target):
            raise InvalidArgumentError(f"a sampler target is a class or 'module:Class', got {target!r}")
    elif not (inspect.isclass(target) and issubclass(target, FrameSampler)):
        raise InvalidArgumentError(f"sampler {name!r} must be a FrameSampler subclass, got {target!r}")
    else:
        if "name" not in vars(target) and target.name == FrameSampler.name:
            target.name = name
    entry = SamplerEntry(name, target, extra, _origin(target))
    if entry.origin != BUILT_IN:
        _discover()  # so that a name taken by a built-in sampler is refused now, not when that one is imported
    with _lock:
        old = _entries.get(name)
        if old is not None and not replace_existing and old.spec != entry.spec:
            raise InvalidArgumentError(
                f"sampler name {name!r} is taken by {old.spec}; unregister it first or pass replace=True"
            )
        if old is not None and old.spec == entry.spec:
            # the same sampler again (its module imported after its entry point was read): keep what was known
            entry = replace(entry, extra=entry.extra or old.extra, origin=old.origin or entry.origin)
        _entries[name] = entry


def _origin(target: type[FrameSampler] | str) -> str:
    module = target.partition(":")[0] if isinstance(target, str) else target.__module__
    return BUILT_IN if module.startswith("gens_tools.") else module


# --------------------------------------------------------------------------------------------- discovery


def _discover() -> None:
    """Import the built-in sampler modules and read the entry points, once."""
    global _discovered
    with _lock:
        if _discovered:
            return
        _discovered = True
    import gens_tools.samplers as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(point.dist, "name", None) or "?"
        with _lock:
            taken = _entries.get(point.name)
        if taken is not None and taken.spec != point.value:
            warnings.warn(
                f"entry point {point.name!r} of {dist} is ignored: the sampler name is taken by {taken.spec}",
                stacklevel=2,
            )
            continue
        try:
            register_sampler(point.name, point.value)
        except InvalidArgumentError as exc:
            warnings.warn(f"entry point {point.name!r} of {dist} is ignored: {exc}", stacklevel=2)
            continue
        with _lock:
            _entries[point.name] = replace(_entries[point.name], origin=f"entry point ({dist})")


# ---------------------------------------------------------------------------------------------- looking up


def sampler_names() -> list[str]:
    """Names accepted by :func:`make_sampler`, in registration order (built-in samplers first)."""
    _discover()
    with _lock:
        return list(_entries)


def sampler_entries() -> list[SamplerEntry]:
    """Every registered sampler, in registration order."""
    _discover()
    with _lock:
        return list(_entries.values())


def sampler_class(name: str) -> type[FrameSampler]:
    """The class registered under ``name`` (its module is imported now for a ``"module:Class"`` entry).

    Raises:
        InvalidArgumentError: no sampler is registered under ``name``.
        BackendUnavailableError: its module needs a package that is not installed (the message names the
            extra that installs it).
    """
    _discover()
    with _lock:
        entry = _entries.get(name)
    if entry is None:
        raise InvalidArgumentError(f"unknown sampler {name!r}; choose one of: {', '.join(sampler_names())}")
    if not isinstance(entry.target, str):
        return entry.target
    module_name, _, class_name = entry.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or "a missing package"
        raise BackendUnavailableError(f"sampler {name!r} needs {missing}{entry.install_hint()}") from exc
    for part in class_name.split("."):
        obj = getattr(obj, part, None)
    if not (inspect.isclass(obj) and issubclass(obj, FrameSampler)):
        raise InvalidArgumentError(f"sampler {name!r} points at {entry.target}, which is not a FrameSampler class")
    with _lock:
        if _entries.get(name) is entry:
            _entries[name] = replace(entry, target=obj)
    return obj


def make_sampler(name: str, **options: Any) -> FrameSampler:
    """Build the sampler registered under ``name`` with ``options`` (its constructor's keyword arguments;
    options set to ``None`` are left to the defaults).

    Raises:
        InvalidArgumentError: an unknown sampler, an option it does not take, or a required one missing.
        BackendUnavailableError: the sampler's dependencies are not installed.
    """
    cls = sampler_class(name)
    kwargs = {k: v for k, v in options.items() if v is not None}
    known = {option.name for option in cls.describe_options()}
    unknown = sorted(set(kwargs) - known)
    if unknown and not takes_any_option(cls):
        raise InvalidArgumentError(
            f"sampler {name!r} does not take {', '.join(unknown)}; its options are: {', '.join(sorted(known))}"
        )
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"sampler {name!r}: {exc}") from None
    except ValueError:  # a constructor without a readable signature: let it check its own arguments
        pass
    return cls(**kwargs)
