"""The argument checks and error wording every LLM-called tool shares (``gens_tools.agent._args``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._args import (
    AGENT_ERRORS,
    DEFAULT_K,
    FrameRequest,
    check_image_options,
    check_k,
    check_range,
    coerce_k,
    error_kind,
    parse_optional_time,
    resolve_sampler,
    tool_error_text,
    validate_frame_request,
)
from gens_tools.errors import (
    AccessDeniedError,
    BackendUnavailableError,
    EmptyVideoError,
    InvalidArgumentError,
    ModelUnavailableError,
    NotAVideoError,
    SamplerError,
    TimeRangeError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers.uniform import UniformSampler

# --- k ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"), [(8, 8), (8.0, 8), ("8", 8), (" 12 ", 12), (1, 1), (np.int64(5), 5), (None, None)]
)
def test_k_accepts_what_models_send(given: object, expected: int | None) -> None:
    assert coerce_k(given) == expected


@pytest.mark.parametrize(
    "given", [0, -3, 2.5, "eight", "-2", "2.0", "", "²", True, False, [4], float("nan"), float("inf")]
)
def test_k_rejects_non_counts(given: object) -> None:
    with pytest.raises(InvalidArgumentError, match="k must be a positive whole number of frames, got"):
        coerce_k(given)


def test_check_k_fills_the_default_and_applies_the_cap() -> None:
    policy = AccessPolicy(max_k=10)
    assert check_k(None) == DEFAULT_K == 8
    assert check_k(None, default_k=3, policy=policy) == 3
    assert check_k("10", policy=policy) == 10
    with pytest.raises(InvalidArgumentError, match=r"k=11 is more than this tool allows \(10\)"):
        check_k(11, policy=policy)
    # A default above the cap is refused too: the tool must not silently return more than allowed.
    with pytest.raises(InvalidArgumentError, match="more than this tool allows"):
        check_k(None, default_k=12, policy=policy)
    assert check_k(500) == 500  # without a policy only the pipeline's own limit applies


# --- times and ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        (0, 0.0),
        (90, 90.0),
        (754.5, 754.5),
        ("90", 90.0),
        ("90s", 90.0),
        ("1:30", 90.0),
        ("12:34", 754.0),
        ("01:02:03.5", 3723.5),
    ],
)
def test_times_accept_seconds_and_clock_strings(given: object, expected: float | None) -> None:
    assert parse_optional_time(given, "start") == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("abc", r"start: invalid time 'abc': use seconds \(90.5\) or \[hh:\]mm:ss"),
        (-4, "start: invalid time -4: must be a finite number of seconds >= 0"),
        ("1:75", "start: invalid time '1:75': minutes and seconds must be below 60"),
        (float("inf"), "start: invalid time inf"),
        (True, r"start must be seconds \(e.g. 754.5\) or \[hh:\]mm:ss"),
        ({"t": 1}, "start must be seconds"),
    ],
)
def test_bad_times_are_time_range_errors_naming_the_argument(given: object, message: str) -> None:
    with pytest.raises(TimeRangeError, match=message):
        parse_optional_time(given, "start")


def test_ranges_parse_both_ends() -> None:
    assert check_range("1:30", 120) == (90.0, 120.0)
    assert check_range(None, "00:02:03.5") == (None, 123.5)
    assert check_range("", None) == (None, None)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("abc", None, "start: invalid time 'abc'"),
        (None, -4, "end: invalid time -4"),
        (30, 30, "end=30s must be after start=30s"),
        ("1:00", "0:10", "end=10s must be after start=60s"),
        (0, 61, "the range 0s-61s is 61s long; this tool processes at most 60s per call: narrow start/end"),
        ("10:00", "11:00.5", "is 60.5s long"),
        (None, {"t": 1}, "end must be seconds"),
    ],
)
def test_bad_ranges_are_time_range_errors(start: object, end: object, message: str) -> None:
    policy = AccessPolicy.allow(["/tmp"], max_duration=60)
    with pytest.raises(TimeRangeError, match=message):
        check_range(start, end, policy=policy)


def test_duration_cap_allows_exactly_the_limit_and_open_ranges() -> None:
    policy = AccessPolicy(max_duration=60)
    assert check_range(0, 60, policy=policy) == (0.0, 60.0)
    assert check_range("1:00:00", None, policy=policy) == (3600.0, None)  # checked once the video is open
    assert check_range(0, 3600) == (0.0, 3600.0)  # no policy, no cap


# --- whole requests ------------------------------------------------------------------------------------------


def test_request_is_checked_against_the_policy(tmp_path: Path) -> None:
    inside = tmp_path / "ok" / "v.mp4"
    policy = AccessPolicy.allow([tmp_path / "ok"], max_k=10)
    req = validate_frame_request(str(inside), "  what happens?  ", k="4", start="0:05", policy=policy)
    assert req == FrameRequest(video=str(inside.resolve()), question="what happens?", k=4, start=5.0, end=None)
    assert validate_frame_request(str(inside), "q", policy=policy, default_k=6).k == 6
    # Relative paths are taken under the first allowed root, never the working directory.
    assert validate_frame_request("v.mp4", "q", policy=policy).video == str(inside.resolve())
    assert validate_frame_request(inside, "q", policy=policy).video == str(inside.resolve())  # a PathLike

    with pytest.raises(AccessDeniedError, match="outside the allowed folders"):
        validate_frame_request(str(tmp_path / "ok" / ".." / "secret.mp4"), "q", policy=policy)
    with pytest.raises(AccessDeniedError, match="URL scheme 'file' is not allowed"):
        validate_frame_request("file:///etc/passwd", "q", policy=policy)
    with pytest.raises(AccessDeniedError, match="opening URLs is not allowed"):
        validate_frame_request("https://example.com/v.mp4", "q", policy=policy)
    with pytest.raises(InvalidArgumentError, match="more than this tool allows"):
        validate_frame_request(str(inside), "q", k=11, policy=policy)
    with pytest.raises(InvalidArgumentError, match="question is empty"):
        validate_frame_request(str(inside), "   ", policy=policy)
    with pytest.raises(InvalidArgumentError, match="question must be a string"):
        validate_frame_request(str(inside), None, policy=policy)
    with pytest.raises(InvalidArgumentError, match="video is required"):
        validate_frame_request(None, "q", policy=policy)
    with pytest.raises(InvalidArgumentError, match="video is required"):
        validate_frame_request("  ", "q", policy=policy)
    with pytest.raises(InvalidArgumentError, match="video must be a path or URL string, got int"):
        validate_frame_request(42, "q")
    with pytest.raises(TimeRangeError, match="end=1s must be after start=2s"):
        validate_frame_request(str(inside), "q", start=2, end=1, policy=policy)


def test_access_is_checked_before_the_other_arguments(tmp_path: Path) -> None:
    # A model probing for files learns nothing from argument errors: the path is refused first.
    policy = AccessPolicy.allow([tmp_path])
    with pytest.raises(AccessDeniedError):
        validate_frame_request("/etc/passwd", "", k="many", start="soon", policy=policy)


def test_allowed_url_passes_unchanged() -> None:
    policy = AccessPolicy.allow(url_prefixes=["https://cdn.example.com/v/"])
    req = validate_frame_request("https://cdn.example.com/v/a.mp4", "q", k=2.0, end="1:00", policy=policy)
    assert (req.video, req.k, req.start, req.end) == ("https://cdn.example.com/v/a.mp4", 2, None, 60.0)


def test_without_a_policy_the_video_is_taken_as_given() -> None:
    req = validate_frame_request(" /anywhere/v.mp4 ", "q")
    assert (req.video, req.k) == ("/anywhere/v.mp4", DEFAULT_K)


# --- tool configuration --------------------------------------------------------------------------------------


class _Named(FrameSampler):
    name: ClassVar[str] = "named-test"

    def score_window(self, window: Window, question: str) -> WindowScores:
        return WindowScores(window.index, [0.0] * len(window.frames))


def test_resolve_sampler() -> None:
    given = _Named()
    assert resolve_sampler(given) is given
    default = resolve_sampler(None)  # "auto": GenS when it can run; uniform sampling here, with a notice
    assert default.name == "auto"
    assert default.label == "uniform"
    assert default.notice is not None
    built = resolve_sampler("uniform", {"window_size": 16})
    assert isinstance(built, UniformSampler)
    assert built.window_size == 16
    with pytest.raises(InvalidArgumentError, match="unknown sampler"):
        resolve_sampler("no-such-sampler")
    with pytest.raises(InvalidArgumentError, match="sampler must be a FrameSampler or a sampler name, got 42"):
        resolve_sampler(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="only when the sampler is given by name"):
        resolve_sampler(given, {"window_size": 16})


def test_check_image_options() -> None:
    check_image_options(1, None)
    check_image_options(95, 16)
    for quality in (0, 96, 85.0, True):
        with pytest.raises(InvalidArgumentError, match="jpeg_quality must be a whole number from 1 to 95"):
            check_image_options(quality, None)
    with pytest.raises(InvalidArgumentError, match="image_max_side must be a whole number of pixels >= 16"):
        check_image_options(85, 15)
    with pytest.raises(InvalidArgumentError, match=r"^max_side must be"):
        check_image_options(85, 0, max_side_name="max_side")


# --- error text -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (AccessDeniedError("'/etc/x' is outside"), "Access denied: '/etc/x' is outside"),
        (TimeRangeError("end before start"), "Invalid time range: end before start"),
        (InvalidArgumentError("k too big"), "Invalid argument: k too big"),
        (VideoNotFoundError("video not found: /v/a.mp4"), "Video not found: video not found: /v/a.mp4"),
        (NotAVideoError("a.txt is text"), "Not a video: a.txt is text"),
        (EmptyVideoError("no frames"), "Empty video: no frames"),
        (UnsupportedCodecError("av1"), "Unsupported video codec: av1"),
        (VideoError("broken"), "Cannot read the video: broken"),
        (SamplerError("server down"), "Error: server down"),
        (RuntimeError(""), "Error: RuntimeError"),
        (InvalidArgumentError("line one\n   line two\n"), "Invalid argument: line one line two"),
    ],
)
def test_error_text_names_the_kind_of_problem(exc: Exception, text: str) -> None:
    assert tool_error_text(exc) == text
    assert "\n" not in tool_error_text(exc)


def test_agent_errors_are_the_caller_s_problems_only() -> None:
    for exc in (AccessDeniedError("x"), TimeRangeError("x"), VideoNotFoundError("x"), NotAVideoError("x")):
        assert isinstance(exc, AGENT_ERRORS)
    for exc in (BackendUnavailableError("x"), ModelUnavailableError("x"), SamplerError("x"), RuntimeError()):
        assert not isinstance(exc, AGENT_ERRORS)


class ValidationError(ValueError):
    """Shaped like pydantic's: the error text is recognised by shape, without importing pydantic."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__("a long multi-line pydantic dump\nthat the model should not see")
        self.items = items

    def errors(self) -> list[dict[str, Any]]:
        return self.items


def test_schema_errors_read_one_problem_per_argument() -> None:
    exc = ValidationError(
        [
            {"loc": ("k",), "msg": "Input should be a valid integer"},
            {"loc": ("start", "float"), "msg": "Input should be a valid number"},
            {"loc": ("start", "str"), "msg": "Input should be a valid string"},
            {"loc": ("fps",), "msg": "Extra inputs are not permitted"},
            {"loc": (), "msg": "Input should be an object"},
        ]
    )
    assert error_kind(exc) == "Invalid argument"
    assert tool_error_text(exc) == (
        "Invalid argument: k: Input should be a valid integer; start: Input should be a valid number or "
        "Input should be a valid string; fps: Extra inputs are not permitted; arguments: Input should be an "
        "object"
    )


def test_real_pydantic_errors_are_worded_the_same_way() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Args(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        video: str
        k: int | None = pydantic.Field(default=None, ge=1)

    with pytest.raises(pydantic.ValidationError) as info:
        Args.model_validate({"k": 0, "fps": 10})
    assert tool_error_text(info.value) == (
        "Invalid argument: video: Field required; k: Input should be greater than or equal to 1; "
        "fps: Extra inputs are not permitted"
    )


def test_core_module_imports_no_agent_framework() -> None:
    code = (
        "import sys, gens_tools.agent._args; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('langchain', 'langchain_core', 'llama_index', 'pydantic', 'torch', 'transformers', 'openai')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
