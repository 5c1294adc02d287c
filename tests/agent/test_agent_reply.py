"""The reader of a step's reply: strict JSON, JSON in prose or fences, odd confidences and times."""

from __future__ import annotations

import pytest

from gens_tools.agent import AGENT_REPLY_SCHEMA, LookNext, parse_agent_reply
from gens_tools.assistants import ResponseSchema
from gens_tools.errors import InvalidArgumentError


def test_strict_json_is_read_as_is() -> None:
    reply = parse_agent_reply('{"answer": "At [00:01:02].", "confidence": 0.9, "look_next": null}')
    assert (reply.answer, reply.confidence, reply.look_next, reply.format, reply.notes) == (
        "At [00:01:02].",
        0.9,
        None,
        "json",
        [],
    )


@pytest.mark.parametrize(
    ("confidence", "read", "note"),
    [
        (85, 0.85, "confidence 85 read as a percentage (0.85)"),
        ("70%", 0.7, None),
        ("high", 0.85, "confidence 'high' read as 0.85"),
        (-1, None, "confidence -1 is outside 0-1; taken as unknown"),
        (True, None, "confidence True is not a number; taken as unknown"),
        ("sure", None, "confidence 'sure' could not be read; taken as unknown"),
    ],
)
def test_confidences_in_other_shapes(confidence: object, read: float | None, note: str | None) -> None:
    import json

    reply = parse_agent_reply(json.dumps({"answer": "x", "confidence": confidence, "look_next": None}))
    assert reply.confidence == read
    assert reply.notes == ([note] if note else [])


def test_look_next_in_other_shapes() -> None:
    text = '{"answer": "a", "confidence": 0.2, "look_next": {"question": " the goal ", "start": "1:05", "end": "70s"}}'
    assert parse_agent_reply(text).look_next == LookNext("the goal", 65.0, 70.0)
    assert parse_agent_reply('{"answer": "a", "confidence": 0.2, "look_next": [10, "0:20"]}').look_next == LookNext(
        None, 10.0, 20.0
    )
    assert parse_agent_reply('{"answer": "a", "confidence": 0.2, "look_next": "who scores?"}').look_next == LookNext(
        "who scores?"
    )
    empty = parse_agent_reply(
        '{"answer": "a", "confidence": 0.2, "look_next": {"question": "", "start": null, "end": null}}'
    )
    assert empty.look_next is None


def test_text_without_json_is_the_answer() -> None:
    reply = parse_agent_reply("The goal is at [00:10:00]. Confidence: 0.6")
    assert reply.format == "text"
    assert reply.answer == "The goal is at [00:10:00]. Confidence: 0.6"
    assert reply.confidence == 0.6
    assert reply.notes == ["the reply was not JSON: its text is taken as the answer"]


def test_the_schema_follows_the_strict_rules() -> None:
    schema = AGENT_REPLY_SCHEMA.as_dict()
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(schema["properties"])
    inner = schema["properties"]["look_next"]["anyOf"][0]
    assert inner["additionalProperties"] is False
    assert sorted(inner["required"]) == sorted(inner["properties"])
    with pytest.raises(InvalidArgumentError):
        ResponseSchema("has space", {"type": "object"})
    with pytest.raises(InvalidArgumentError):
        ResponseSchema("ok", {"type": "array"})
