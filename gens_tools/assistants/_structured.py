"""Structured replies: a JSON schema the model's reply must follow (:class:`ResponseSchema`).

Providers that can hold the model to a schema declare ``structured_output = True`` and send it their way
(OpenAI ``response_format``/``text.format`` with a strict ``json_schema``, Gemini ``response_json_schema``);
for the others :meth:`Assistant.answer <gens_tools.assistants.Assistant.answer>` writes the schema into the
prompt (:meth:`ResponseSchema.prompt_text`) and the caller parses the reply's text.

The schema must keep to what OpenAI's strict mode and Gemini's ``response_json_schema`` both accept: every
object lists all its properties in ``required`` and sets ``additionalProperties: false``; optional values are
``anyOf`` a type and ``{"type": "null"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gens_tools.errors import InvalidArgumentError

__all__ = ["ResponseSchema"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ResponseSchema:
    """A JSON schema for the model's reply.

    Attributes:
        name: a short name (letters, digits, ``_`` and ``-``; at most 64), as OpenAI requires one.
        schema: the JSON schema of the reply (an object schema; see the module notes for the subset).
    """

    name: str
    schema: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidArgumentError(
                f"a response schema's name must be 1-64 letters, digits, '_' or '-', got {self.name!r}"
            )
        if not isinstance(self.schema, Mapping) or self.schema.get("type") != "object":
            raise InvalidArgumentError("a response schema must be a JSON schema of an object (type: object)")

    def as_dict(self) -> dict[str, Any]:
        """The schema as a plain dict (a deep copy, safe to hand to an SDK)."""
        copied: dict[str, Any] = json.loads(json.dumps(self.schema))
        return copied

    def as_json(self) -> str:
        """The schema as compact JSON text."""
        return json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)

    def prompt_text(self) -> str:
        """The sentence sent to models that cannot be held to a schema."""
        return f"Reply with one JSON object only, no other text, following this JSON schema: {self.as_json()}"
