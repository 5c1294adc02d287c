"""A tool's arguments, declared once without any framework: names, kinds, descriptions, defaults.

Every adapter builds what its framework wants from the same declaration: :meth:`ToolArguments.json_schema`
(an OpenAI function's ``parameters``, a Gemini function declaration, an MCP tool's ``inputSchema``) and
:meth:`ToolArguments.pydantic_model` (LangChain's ``args_schema``, LlamaIndex's ``fn_schema``). The schema
uses only what all of them accept: ``type``, ``description``, ``default``, ``minimum``, ``anyOf``,
``properties`` and ``required`` — no ``additionalProperties`` (Gemini's schema has no such field) and no
``null`` types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gens_tools.errors import InvalidArgumentError

__all__ = ["ArgumentKind", "ToolArgument", "ToolArguments"]

#: What an argument holds: ``"text"`` a string; ``"count"`` a whole number >= 1; ``"time"`` seconds (a number)
#: or a ``[hh:]mm:ss`` string.
ArgumentKind = Literal["text", "count", "time"]

_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "count": {"type": "integer", "minimum": 1},
    "time": {"anyOf": [{"type": "number"}, {"type": "string"}]},
}


@dataclass(frozen=True, slots=True)
class ToolArgument:
    """One argument a model passes to a tool.

    Attributes:
        name: the argument's name.
        kind: what it holds (:data:`ArgumentKind`).
        description: what the model reads about it.
        required: whether the model must give it.
        default: the value used when it is left out (``None``: nothing, or decided by the tool).
    """

    name: str
    kind: ArgumentKind
    description: str
    required: bool = False
    default: Any = None

    def json_schema(self) -> dict[str, Any]:
        """This argument's JSON schema (a copy)."""
        schema: dict[str, Any] = {**_SCHEMAS[self.kind], "description": self.description}
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def annotation(self) -> Any:
        """The Python type a validating schema (pydantic) checks the value against."""
        base: Any = {"text": str, "count": int, "time": float | str}[self.kind]
        return base if self.required else base | None


@dataclass(frozen=True, slots=True)
class ToolArguments:
    """The arguments of one tool, in the order the model reads them."""

    items: tuple[ToolArgument, ...]

    def __iter__(self) -> Iterator[ToolArgument]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, name: str) -> ToolArgument:
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The argument names."""
        return tuple(a.name for a in self.items)

    @property
    def required(self) -> tuple[str, ...]:
        """The names the model must give."""
        return tuple(a.name for a in self.items if a.required)

    def json_schema(self) -> dict[str, Any]:
        """The arguments as one JSON schema object, valid as OpenAI function ``parameters``, a Gemini function
        declaration's ``parameters`` and an MCP ``inputSchema``."""
        return {
            "type": "object",
            "properties": {a.name: a.json_schema() for a in self.items},
            "required": list(self.required),
        }

    def check_names(self, arguments: Mapping[str, object]) -> None:
        """Refuse names that are not arguments, and missing required ones.

        Raises:
            InvalidArgumentError: e.g. ``"fps: not an argument of this tool (it takes video, question, k,
                start, end)"``.
        """
        unknown = [name for name in arguments if name not in self.names]
        if unknown:
            raise InvalidArgumentError(
                f"{', '.join(map(str, unknown))}: not an argument of this tool (it takes {', '.join(self.names)})"
            )
        missing = [name for name in self.required if arguments.get(name) is None]
        if missing:
            raise InvalidArgumentError(f"{', '.join(missing)}: required")

    def pydantic_model(self, name: str) -> Any:
        """A pydantic model class for frameworks that take one (LangChain's ``args_schema``, LlamaIndex's
        ``fn_schema``).

        It checks the shapes (a string, a whole number >= 1, a number or a string; unknown arguments refused)
        and its JSON schema is exactly :meth:`json_schema` (no ``additionalProperties``), so every framework
        sends the model the same declaration. Values are checked when the tool runs. Needs pydantic (which both
        frameworks bring); it is imported only here.
        """
        from typing import Annotated

        from pydantic import BeforeValidator, ConfigDict, Field, create_model

        fields: dict[str, Any] = {}
        for arg in self.items:
            annotation = arg.annotation()
            if arg.kind in ("count", "time"):
                # pydantic's lax mode reads true as 1: a flag is not a number of frames or seconds.
                annotation = Annotated[annotation, BeforeValidator(_refuse_bool)]
            schema = arg.json_schema()

            def _replace(field_schema: dict[str, Any], schema: dict[str, Any] = schema) -> None:
                field_schema.clear()
                field_schema.update(schema)

            constraints: dict[str, Any] = {"ge": 1} if arg.kind == "count" else {}
            default: Any = ... if arg.required else arg.default
            fields[arg.name] = (
                annotation,
                Field(default, description=arg.description, json_schema_extra=_replace, **constraints),
            )
        whole = self.json_schema()

        def _object(schema: dict[str, Any]) -> None:
            schema.clear()
            schema.update(whole)

        config = ConfigDict(extra="forbid", json_schema_extra=_object)
        model: Any = create_model(name, __config__=config, **fields)
        return model


def _refuse_bool(value: object) -> object:
    """``value`` unless it is ``true``/``false``, which a number argument does not take."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value
