"""How GenSVideoFramesTool is configured and what the model is told about it (no video is opened)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gens_tools import AccessPolicy, UniformSampler
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError

from langchain_gens import GenSVideoFramesTool


def test_schema_sent_to_the_model_describes_every_argument() -> None:
    tool = GenSVideoFramesTool(allowed_roots=["/srv/videos"])
    spec = convert_to_openai_tool(tool)["function"]
    assert spec["name"] == "video_frames"
    params = spec["parameters"]
    assert params["required"] == ["video", "question"]
    assert set(params["properties"]) == {"video", "question", "k", "start", "end"}
    for name, prop in params["properties"].items():
        assert len(prop.get("description", "")) > 30, name
    # The zoom-in use of start/end is explained where the model reads it.
    assert "zoom" in params["properties"]["start"]["description"]


def test_description_states_the_configured_limits() -> None:
    tool = GenSVideoFramesTool(allowed_roots=["/srv/videos"], max_k=12, default_k=5, max_duration=600)
    assert "Returns 5 frames unless you set k (at most 12)" in tool.description
    assert "at most 600 seconds" in tool.description
    assert "start and end" in tool.description
    bare = GenSVideoFramesTool(allowed_roots=["/srv/videos"])
    assert "seconds of video per call" not in bare.description
    custom = GenSVideoFramesTool(allowed_roots=["/srv/videos"], description="Look at lecture recordings.")
    assert custom.description == "Look at lecture recordings."


def test_policy_is_built_from_roots_and_caps(tmp_path: Path) -> None:
    tool = GenSVideoFramesTool(
        allowed_roots=[tmp_path],
        allowed_url_prefixes=["https://cdn.example.com/v/"],
        max_k=7,
        max_duration=90,
    )
    assert isinstance(tool.policy, AccessPolicy)
    assert tool.policy.max_k == 7
    assert tool.policy.max_duration == 90
    assert tool.policy.check(str(tmp_path / "a.mp4")) == str((tmp_path / "a.mp4").resolve())
    assert tool.policy.check("https://cdn.example.com/v/a.mp4") == "https://cdn.example.com/v/a.mp4"


def test_explicit_policy_sets_the_caps_shown_to_the_model(tmp_path: Path) -> None:
    policy = AccessPolicy.allow([tmp_path], max_k=6, max_duration=120)
    tool = GenSVideoFramesTool(policy=policy, default_k=3)
    assert tool.policy is policy
    assert (tool.max_k, tool.max_duration) == (6, 120)
    assert "at most 6" in tool.description


def test_no_roots_means_nothing_can_be_opened() -> None:
    tool = GenSVideoFramesTool()
    from gens_tools import AccessDeniedError

    assert tool.policy is not None
    with pytest.raises(AccessDeniedError):
        tool.policy.check("/etc/passwd")
    with pytest.raises(AccessDeniedError):
        tool.policy.check("https://example.com/a.mp4")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": AccessPolicy.allow(["/srv"]), "allowed_roots": ["/srv"]}, "either policy"),
        ({"allowed_roots": ["/srv"], "default_k": 40, "max_k": 32}, "default_k"),
        ({"allowed_roots": ["/srv"], "default_k": 0}, "default_k"),
        ({"allowed_roots": ["/srv"], "sampler": "no-such-sampler"}, "unknown sampler"),
        ({"allowed_roots": ["/srv"], "sampler": 42}, "sampler"),
        ({"allowed_url_prefixes": ["ftp://host/"]}, "http(s)"),
        ({"allowed_roots": ["/srv"], "jpeg_quality": 0}, "jpeg_quality"),
        ({"allowed_roots": ["/srv"], "image_max_side": 4}, "image_max_side"),
        ({"allowed_roots": ["/srv"], "max_spans": 0}, "max_spans"),
        ({"allowed_roots": ["/srv"], "artifact_format": "pickle"}, "artifact_format"),
    ],
)
def test_bad_configuration_fails_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        GenSVideoFramesTool(**kwargs)
    assert message in str(info.value)


def test_sampler_name_is_resolved_once() -> None:
    tool = GenSVideoFramesTool(allowed_roots=["/srv"], sampler="uniform")
    assert isinstance(tool.frame_sampler, UniformSampler)
    given = UniformSampler(window_size=16)
    assert GenSVideoFramesTool(allowed_roots=["/srv"], sampler=given).frame_sampler is given
