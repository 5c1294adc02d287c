"""Prompt layout, data model, time parsing and the access policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from gens_tools._timeparse import parse_time
from gens_tools.agent._access import AccessPolicy
from gens_tools.errors import AccessDeniedError, InvalidArgumentError, TimeRangeError
from gens_tools.frames import Frame, FrameSelection, ScoredSpan, format_timestamp, spans_from_scores
from gens_tools.samplers._prompt import GENS_INSTRUCTION, build_prompt_text, split_prompt, validate_question
from gens_tools.video._base import VideoInfo, sampling_grid


# ------------------------------------------------------------------ prompt
def test_instruction_is_byte_exact() -> None:
    lines = GENS_INSTRUCTION.split("\n")
    assert len(lines) == 4
    assert lines[0] == "Please identify the video frames most relevant to the given question and provide "
    for line in lines[1:]:
        assert line.startswith(" " * 14)
        assert not line.startswith(" " * 15)
    assert all(line.endswith(" ") for line in lines[:3])
    assert lines[3].endswith('{"timestamp": score, ...}.')


def test_prompt_layout() -> None:
    text = build_prompt_text(3, "  Where is the cat? ")
    assert text == "[0]<image>\n[1]<image>\n[2]<image>\nQuestion: Where is the cat?\n" + GENS_INSTRUCTION
    pieces = split_prompt(3, "Where is the cat?")
    assert "<image>".join(pieces) == text


def test_split_prompt_is_safe_when_the_question_mentions_image_tokens() -> None:
    pieces = split_prompt(2, "what does <image> mean?")
    assert len(pieces) == 3
    assert pieces[-1].startswith("\nQuestion: what does <image> mean?")


@pytest.mark.parametrize("q", ["", "   ", "\n\t", None, 3, "x" * 5000])
def test_bad_questions_are_refused(q: object) -> None:
    with pytest.raises(InvalidArgumentError):
        validate_question(q)


# ------------------------------------------------------------------ data model
def test_format_timestamp() -> None:
    assert format_timestamp(0) == "00:00:00.0"
    assert format_timestamp(751.04) == "00:12:31.0"
    assert format_timestamp(3723.45, decimals=0) == "01:02:03"
    assert format_timestamp(59.96) == "00:01:00.0"
    with pytest.raises(ValueError, match="finite"):
        format_timestamp(-1)


def test_spans_group_contiguous_equal_scores() -> None:
    ts = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    spans = spans_from_scores(ts, [0, 5, 5, 4, None, 3, 3], 1.0)
    assert spans == [ScoredSpan(1.0, 3.0, 5), ScoredSpan(3.0, 4.0, 4), ScoredSpan(5.0, 7.0, 3)]


def test_selection_json_and_save(tmp_path: Path) -> None:
    frames = [
        Frame(timestamp=1.0, image=Image.new("RGB", (32, 18), (255, 0, 0)), score=5.0, index=1),
        Frame(timestamp=61.5, image=Image.new("RGB", (32, 18), (0, 0, 255)), score=None, index=61),
    ]
    sel = FrameSelection(video="v.mp4", question="q?", frames=frames, spans=[ScoredSpan(1, 2, 5)], fps=1.0)
    data = json.loads(sel.to_json(images="base64"))
    assert [f["timestamp"] for f in data["frames"]] == [1.0, 61.5]
    assert data["frames"][1]["label"] == "00:01:01.5"
    assert data["frames"][0]["mime_type"] == "image/jpeg"
    assert data["spans"][0]["score"] == 5
    manifest = sel.save(tmp_path / "out")
    saved = json.loads(manifest.read_text())
    paths = [Path(f["path"]) for f in saved["frames"]]
    assert all(p.exists() for p in paths)
    with Image.open(paths[0]) as img:
        r, g, b = img.convert("RGB").getpixel((5, 5))
        assert r > 200
        assert g < 60
        assert b < 60
    assert Frame(timestamp=0, path=paths[1]).require_image().size == (32, 18)
    assert frames[0].to_data_url().startswith("data:image/jpeg;base64,")


# ------------------------------------------------------------------ time parsing and the grid
@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90.5", 90.5), ("1:30", 90), ("01:02:03.5", 3723.5), ("12s", 12), (7, 7.0)]
)
def test_parse_time(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["abc", "-1", "1:75", "nan", "inf"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_time(text)


def _info(duration: float) -> VideoInfo:
    return VideoInfo(source="x", duration=duration, fps=30.0, width=64, height=36, codec="h264")


def test_sampling_grid() -> None:
    assert sampling_grid(_info(5.0)) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert sampling_grid(_info(5.5)) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert sampling_grid(_info(10.0), 2.0, start=2, end=4) == [2.0, 2.5, 3.0, 3.5]
    assert len(sampling_grid(_info(3600.0))) == 3600
    assert sampling_grid(_info(0.2)) == [0.0]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (10, None), (11, 12), (5, 5), (6, 2), (0, 11), (None, 0)])
def test_sampling_grid_rejects_bad_ranges(start: float | None, end: float | None) -> None:
    with pytest.raises(TimeRangeError):
        sampling_grid(_info(10.0), 1.0, start, end)


def test_sampling_grid_rejects_bad_fps() -> None:
    with pytest.raises(InvalidArgumentError):
        sampling_grid(_info(10.0), 0)


# ------------------------------------------------------------------ access policy
def test_policy_allows_files_under_roots_only(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    root.mkdir()
    (root / "a.mp4").write_bytes(b"x")
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"x")
    (root / "link.mp4").symlink_to(secret)
    policy = AccessPolicy.allow([root])
    assert policy.check(str(root / "a.mp4")) == str((root / "a.mp4").resolve())
    assert policy.check("a.mp4") == str((root / "a.mp4").resolve())  # relative to the first root
    for bad in [str(secret), str(root / ".." / "secret.mp4"), "../secret.mp4", str(root / "link.mp4"), "/etc/passwd"]:
        with pytest.raises(AccessDeniedError, match="outside the allowed folders"):
            policy.check(bad)


def test_policy_urls() -> None:
    policy = AccessPolicy.allow([], ["https://cdn.example.com/videos/"])
    assert policy.check("https://cdn.example.com/videos/a.mp4") == "https://cdn.example.com/videos/a.mp4"
    assert policy.check("HTTPS://CDN.example.com/videos/a.mp4")
    for bad in [
        "https://cdn.example.com/videos2/a.mp4",
        "https://cdn.example.com/other/a.mp4",
        "https://cdn.example.com.evil.net/videos/a.mp4",
        "https://user:pw@cdn.example.com/videos/a.mp4",
        "https://cdn.example.com/videos/../secret.mp4",
        "https://cdn.example.com/videos/%2e%2e/secret.mp4",
        "file:///etc/passwd",
        "rtsp://cdn.example.com/videos/a",
    ]:
        with pytest.raises(AccessDeniedError):
            policy.check(bad)
    with pytest.raises(AccessDeniedError, match="local files is not allowed"):
        policy.check("/tmp/x.mp4")
    with pytest.raises(AccessDeniedError, match="URLs is not allowed"):
        AccessPolicy.allow(["/tmp"]).check("https://cdn.example.com/videos/a.mp4")


def test_policy_caps_k_and_validates_prefixes() -> None:
    policy = AccessPolicy.allow(["/tmp"], max_k=8)
    assert policy.check_k(8) == 8
    with pytest.raises(InvalidArgumentError):
        policy.check_k(9)
    with pytest.raises(InvalidArgumentError):
        policy.check_k(0)
    with pytest.raises(InvalidArgumentError):
        AccessPolicy.allow([], ["cdn.example.com/videos"])
    with pytest.raises(AccessDeniedError):
        policy.check("")


# ------------------------------------------------------------------ shared helpers
def test_add_lost_span_merges_and_sorts() -> None:
    from gens_tools.video._base import add_lost_span

    spans = add_lost_span([], 10.0, 12.0)
    spans = add_lost_span(spans, 2.0, 3.0)
    spans = add_lost_span(spans, 11.5, 14.0)  # overlaps the first
    spans = add_lost_span(spans, 3.0, 4.0)  # touches the second
    assert spans == [(2.0, 4.0), (10.0, 14.0)]
    assert add_lost_span(spans, 5.0, 5.0) == spans  # empty span: unchanged


def test_span_of_and_frame_interval() -> None:
    sel = FrameSelection(
        video="v", question="q", frames=[], spans=[ScoredSpan(10.0, 13.0, 5.0)], fps=1.0, duration=20.5
    )
    assert sel.span_of(Frame(timestamp=10.0)) == ScoredSpan(10.0, 13.0, 5.0)
    assert sel.span_of(Frame(timestamp=12.0)) == ScoredSpan(10.0, 13.0, 5.0)
    assert sel.span_of(Frame(timestamp=13.0)) is None
    assert sel.frame_interval(Frame(timestamp=4.0)) == (4.0, 5.0)
    assert sel.frame_interval(Frame(timestamp=20.0)) == (20.0, 20.5)  # cut at the end of the video
