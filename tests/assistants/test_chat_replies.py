"""The pieces the assistants and the remote GenS sampler share (``gens_tools._chat``): one rule for masking
keys, one reader of chat completions for both the JSON body and the ``openai`` SDK's object."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from gens_tools._chat import Reply, TokenUsage, one_line, read_chat_completion, redact
from gens_tools.samplers.remote._failures import PLACEHOLDER_API_KEY
from gens_tools.samplers.remote._failures import redact as remote_redact
from gens_tools.samplers.remote._reply import read_reply

KEY = "sk-proj-0123456789abcdefSECRET"


def test_redact_masks_keys_and_their_ends() -> None:
    text = f"bad key {KEY}; you sent sk-proj-…{KEY[-8:]} (starts {KEY[:8]})"
    masked = redact(text, KEY, None)
    assert KEY not in masked
    assert KEY[-8:] not in masked
    assert KEY[:8] not in masked
    assert redact("abc ab", "ab") == "abc ab"  # too short to be a secret: left alone
    assert one_line("a\n  b\tc", 4) == "a b…"


def test_the_remote_sampler_masks_with_the_same_rule() -> None:
    text = f"server said:\n key {KEY} ends {KEY[-8:]}"
    assert remote_redact(text, KEY, 200) == one_line(redact(text, KEY), 200)
    assert "\n" not in remote_redact(text, KEY, 200)
    # Its placeholder key (sent to servers without keys) is not a secret.
    assert remote_redact("model EMPTY", PLACEHOLDER_API_KEY, 200) == "model EMPTY"


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 7,
            "total_tokens": 127,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
    }


@pytest.mark.parametrize(
    ("message", "finish", "expected"),
    [
        (
            {"role": "assistant", "content": "At [00:00:05]."},
            "stop",
            {"text": "At [00:00:05].", "refusal": None, "refusal_reason": None, "problem": None},
        ),
        (
            {"role": "assistant", "content": None, "refusal": "I can't help"},
            "stop",
            {
                "text": None,
                "refusal": "I can't help",
                "refusal_reason": "refusal",
                "problem": "server answered without text",
            },
        ),
        (
            {"role": "assistant", "content": ""},
            "content_filter",
            {"text": "", "refusal": None, "refusal_reason": "content_filter", "problem": None},
        ),
    ],
)
def test_one_reader_for_json_bodies_and_sdk_objects(
    message: dict[str, Any], finish: str, expected: dict[str, Any]
) -> None:
    body = _completion(message, finish)
    from_json = read_chat_completion(body)
    from_sdk = read_chat_completion(ChatCompletion.model_validate(body))
    assert from_json == from_sdk
    for name, value in expected.items():
        assert getattr(from_json, name) == value
    assert from_json.finish_reason == finish
    assert from_json.usage == TokenUsage(120, 7, 127, 64, 3)
    assert (from_json.response_id, from_json.model) == ("chatcmpl-1", "gpt-4o-2024-08-06")


def test_content_parts_and_missing_choices() -> None:
    parts = {"role": "assistant", "content": [{"type": "text", "text": '{"1-2": '}, {"type": "text", "text": "5}"}]}
    assert read_chat_completion(_completion(parts)).text == '{"1-2": 5}'
    empty = read_chat_completion({"id": "x", "choices": [], "usage": {"prompt_tokens": 3}})
    assert empty == Reply(
        None, "no_choices", TokenUsage(input_tokens=3), "x", None, problem="server answered without any choice"
    )


def test_the_remote_sampler_reads_with_the_shared_reader() -> None:
    import json

    def mask(text: str, limit: int) -> str:
        return remote_redact(text, KEY, limit)

    ok = read_reply(json.dumps(_completion({"content": '{"1-2": 5}'}, "length")).encode(), 2, mask)
    assert (ok.text, ok.finish_reason, ok.retries, ok.problem) == ('{"1-2": 5}', "length", 2, None)
    assert ok.usage == {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127, "cached_tokens": 64}
    refused = read_reply(json.dumps(_completion({"content": None, "refusal": f"no ({KEY})"})).encode(), 0, mask)
    assert refused.text is None
    assert refused.problem == "server answered without text (refusal: 'no (***)')"
    assert read_reply(b"<html>", 0, mask).problem == "server answered with a body that is not JSON: '<html>'"
