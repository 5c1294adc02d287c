"""Assistant providers by name: registration, choosing a provider for a model name, building an assistant.

A provider is an :class:`~gens_tools.assistants.Assistant` subclass that declares what it serves (see its
class attributes). :func:`register_assistant` checks those declarations, registers its image rules and its rows
of the model table, and makes it available to :func:`make_assistant`, :func:`provider_for` and ``gens-tools
ask``. The built-in providers register when :mod:`gens_tools.assistants` is imported; their modules load their
SDKs only when an assistant is built.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, TypeVar, overload

from gens_tools.assistants._base import Assistant, ProviderOption
from gens_tools.assistants._image_rules import ImageRule, register_image_rule, unregister_image_rule
from gens_tools.assistants._limits import add_model_rows, remove_model_rows
from gens_tools.errors import InvalidArgumentError

A = TypeVar("A", bound=type[Assistant])

_PROVIDERS: dict[str, type[Assistant]] = {}
_RULES_OF: dict[str, list[str]] = {}

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
#: Options every assistant has, or that ``gens-tools ask`` offers to all providers: not provider options.
SHARED_OPTIONS = frozenset(
    {
        "model",
        "max_side",
        "max_frames",
        "jpeg_quality",
        "budget",
        "system_instruction",
        "max_output_tokens",
        "api_key",
        "api_key_env",
        "base_url",
        "timeout",
        "max_retries",
    }
)


@overload
def register_assistant(cls: A, *, replace: bool = False) -> A: ...


@overload
def register_assistant(cls: None = None, *, replace: bool = False) -> Any: ...


def register_assistant(cls: A | None = None, *, replace: bool = False) -> A | Any:
    """Register an assistant provider class (use as a decorator, or call it with the class).

    The class declares ``provider``, ``default_model``, ``model_prefixes`` (or ``serves_any_model``),
    ``model_table``, ``image_rules`` and ``provider_options`` (see :class:`~gens_tools.assistants.Assistant`).
    ``replace=True`` lets it take over a provider name already registered.

    Raises:
        InvalidArgumentError: a declaration is missing or wrong, or clashes with another provider's.
    """
    if cls is None:
        return lambda c: register_assistant(c, replace=replace)
    _check_declarations(cls, replace)
    name = cls.provider
    previous = _PROVIDERS.get(name)
    if previous is not None:
        unregister_assistant(name)
    added: list[str] = []
    try:
        for rule in cls.image_rules:
            register_image_rule(rule)
            added.append(rule.name)
        add_model_rows(name, cls.model_table)
    except BaseException:
        for rule_name in added:
            unregister_image_rule(rule_name)
        if previous is not None:
            register_assistant(previous)
        raise
    _RULES_OF[name] = added
    _PROVIDERS[name] = cls
    return cls


def unregister_assistant(name: str) -> None:
    """Remove the provider registered under ``name``, with its image rules and model-table rows (nothing
    happens when there is none)."""
    if _PROVIDERS.pop(name, None) is None:
        return
    remove_model_rows(name)
    for rule_name in _RULES_OF.pop(name, []):
        unregister_image_rule(rule_name)


def _check_declarations(cls: type[Assistant], replace: bool) -> None:
    if not (inspect.isclass(cls) and issubclass(cls, Assistant)):
        raise InvalidArgumentError(f"an assistant provider must be an Assistant subclass, got {cls!r}")
    if inspect.isabstract(cls):
        raise InvalidArgumentError(f"{cls.__name__} does not implement _request and _arequest")
    name = cls.provider
    if not isinstance(name, str) or not _NAME.match(name) or name == Assistant.provider:
        raise InvalidArgumentError(f"{cls.__name__}.provider must be a lower-case name such as 'openai', got {name!r}")
    current = _PROVIDERS.get(name)
    if current is not None and current is not cls and not replace:
        raise InvalidArgumentError(f"an assistant provider named {name!r} is already registered ({current.__name__})")
    if not isinstance(cls.default_model, str) or not cls.default_model.strip():
        raise InvalidArgumentError(f"{cls.__name__}.default_model must name the model make_assistant({name!r}) uses")
    for prefix in cls.model_prefixes:
        if not isinstance(prefix, str) or not prefix.strip() or prefix != prefix.lower():
            raise InvalidArgumentError(f"{cls.__name__}.model_prefixes must be lower-case names, got {prefix!r}")
        for other, other_cls in _PROVIDERS.items():
            if other != name and prefix in other_cls.model_prefixes:
                raise InvalidArgumentError(f"the model prefix {prefix!r} is already served by the {other} provider")
    if cls.serves_any_model:
        for other, other_cls in _PROVIDERS.items():
            if other != name and other_cls.serves_any_model:
                raise InvalidArgumentError(f"the {other} provider already serves every other model name")
    for rule in cls.image_rules:
        if not isinstance(rule, ImageRule):
            raise InvalidArgumentError(f"{cls.__name__}.image_rules must hold ImageRule objects, got {rule!r}")
    seen: set[str] = set()
    for option in cls.provider_options:
        if not isinstance(option, ProviderOption) or not _NAME.match(option.name.replace("_", "-")):
            raise InvalidArgumentError(f"{cls.__name__}.provider_options must hold ProviderOption s, got {option!r}")
        if option.name in SHARED_OPTIONS or option.name in seen:
            raise InvalidArgumentError(f"{cls.__name__} declares the option {option.name!r} twice or as its own")
        seen.add(option.name)


def assistant_providers() -> dict[str, type[Assistant]]:
    """The registered providers by name, in registration order."""
    return dict(_PROVIDERS)


def provider_class(name: str) -> type[Assistant]:
    """The class registered under the provider name ``name``."""
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown assistant provider {name!r}; registered: {', '.join(_PROVIDERS) or 'none'}"
        ) from None


def provider_for(name: str) -> tuple[str, str]:
    """``(provider, model)`` for an assistant name.

    ``"PROVIDER:MODEL"`` names both; a provider's name alone (``"gemini"``) means its default model; a model
    name goes to the provider whose ``model_prefixes`` match it (the longest prefix wins: ``"gemini-…"`` →
    Gemini), and any other name to the provider that serves every other model (OpenAI, which also speaks to
    OpenAI-compatible servers).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError("assistant must be a model name such as 'gpt-4o' or 'gemini-2.5-flash'")
    text = name.strip()
    head, sep, rest = text.partition(":")
    if sep and head.strip().lower() in _PROVIDERS:
        provider = head.strip().lower()
        if not rest.strip():
            raise InvalidArgumentError(f"assistant {name!r} names no model after '{provider}:'")
        return provider, rest.strip()
    lower = text.lower()
    if lower in _PROVIDERS:
        default = _PROVIDERS[lower].default_model
        assert default is not None  # checked at registration
        return lower, default
    matches = [
        (len(p), provider) for provider, cls in _PROVIDERS.items() for p in cls.model_prefixes if lower.startswith(p)
    ]
    if matches:
        return max(matches)[1], text
    for provider, cls in _PROVIDERS.items():
        if cls.serves_any_model:
            return provider, text
    raise InvalidArgumentError(
        f"no assistant provider serves {name!r}; name one as PROVIDER:MODEL ({', '.join(_PROVIDERS) or 'none'})"
    )


def make_assistant(name: str = "gpt-4o", **options: Any) -> Assistant:
    """The assistant for a model name (see :func:`provider_for`); ``options`` go to its constructor, and
    those set to ``None`` are left to the defaults."""
    provider, model = provider_for(name)
    cls = _PROVIDERS[provider]
    kwargs = {k: v for k, v in options.items() if v is not None}
    try:
        return cls(model, **kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"the {provider} assistant does not accept these options: {exc}") from exc
