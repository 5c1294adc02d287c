"""A provider registered from outside the package (``toy_provider``) works everywhere a built-in one does:
``make_assistant``, the planner with its own image rule and setting, ``VideoQA``, and ``gens-tools ask`` with
its own options; and registration refuses declarations that cannot work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gens_tools.assistants import (
    MODEL_TABLE,
    Assistant,
    FramePlan,
    ProviderOption,
    Reply,
    assistant_providers,
    estimate_image_tokens,
    make_assistant,
    provider_for,
    register_assistant,
    resolve_limits,
    suggest_frame_count,
    unregister_assistant,
)
from gens_tools.cli._main import main
from gens_tools.errors import InvalidArgumentError
from gens_tools.qa import VideoQA

from .toy_provider import ToyAssistant, ToyPixelRule, toy_assistant_registered


@pytest.fixture
def toy() -> Iterator[type[ToyAssistant]]:
    with toy_assistant_registered() as cls:
        yield cls


def test_make_assistant_finds_the_toy_by_name(toy: type[ToyAssistant]) -> None:
    assert provider_for("toy-vlm") == ("toy", "toy-vlm")
    assert provider_for("toy") == ("toy", "toy-vlm")
    assert provider_for("toy:anything") == ("toy", "anything")
    assistant = make_assistant("toy-vlm", style="pirate", max_frames=3)
    assert isinstance(assistant, ToyAssistant)
    assert (assistant.style, assistant.max_frames) == ("pirate", 3)
    # Its table row and image rule are the planner's now.
    limits = resolve_limits("toy-vlm")
    assert (limits.family, limits.provider, limits.image_rule) == ("toy-vlm", "toy", "toy_pixels")
    assert limits.max_images == 12
    assert estimate_image_tokens("toy-vlm", 1000, 1000, grain="fine") == 1000
    assert estimate_image_tokens("toy-vlm", 1000, 1000, grain="coarse") == 250
    assert suggest_frame_count("toy-vlm") == 6
    # The built-ins are untouched.
    assert provider_for("gemini-2.5-flash") == ("gemini", "gemini-2.5-flash")
    assert provider_for("my-vlm") == ("openai", "my-vlm")


def test_the_toys_own_options_are_checked(toy: type[ToyAssistant]) -> None:
    with pytest.raises(InvalidArgumentError, match="style"):
        make_assistant("toy-vlm", style="shouty")
    with pytest.raises(InvalidArgumentError, match="grain must be one of fine, coarse"):
        make_assistant("toy-vlm", grain="sandy")
    with pytest.raises(InvalidArgumentError, match="detail is not an option of the toy assistant"):
        make_assistant("toy-vlm", detail="low")
    with pytest.raises(InvalidArgumentError, match="does not accept"):
        make_assistant("toy-vlm", api="chat")
    # Another provider's models do not take the toy's image setting.
    with pytest.raises(InvalidArgumentError, match="grain does not apply to 'gpt-4o'"):
        estimate_image_tokens("gpt-4o", 100, 100, grain="fine")


def test_unregistering_removes_provider_rows_and_rule() -> None:
    with toy_assistant_registered():
        assert "toy-vlm" in MODEL_TABLE
        assert "toy" in assistant_providers()
    assert "toy" not in assistant_providers()
    assert "toy-vlm" not in MODEL_TABLE
    assert provider_for("toy-vlm") == ("openai", "toy-vlm")  # back to the catch-all provider
    assert resolve_limits("toy-vlm").family == "unknown"
    with pytest.raises(InvalidArgumentError, match="unknown image_rule 'toy_pixels'"):
        resolve_limits("gpt-4o", {"image_rule": "toy_pixels"})


def test_video_qa_with_the_toy(video_40s: Path, toy: type[ToyAssistant]) -> None:
    with VideoQA("uniform", make_assistant("toy-vlm", style="pirate"), k=4) as qa:
        answer = qa.ask(video_40s, "What is shown?")
    (sent,) = toy.sent
    assert len(sent) == 4
    # Every image showed the time of its label, in time order.
    for frame in sent:
        assert abs(frame.painted - _seconds(frame.label)) <= 1.0
    assert [f.painted for f in sent] == sorted(f.painted for f in sent)
    assert {f.grain for f in sent} == {"fine"}
    assert answer.provider == "toy"
    assert answer.model == "toy-vlm-001"
    assert answer.text.startswith("Arr, I saw 4 frames")
    assert answer.citations == [_seconds(sent[0].label), _seconds(sent[-1].label)]
    assert answer.usage.input_tokens == answer.estimate["input_tokens"]
    assert answer.estimate["image_settings"] == {"grain": "fine"}
    assert answer.estimate["grain"] == "fine"
    # No k: the toy's table row decides (default_frames 6).
    assert VideoQA("uniform", make_assistant("toy")).choose_k("q") == 6


def test_a_tight_budget_lowers_the_toys_own_setting(video_40s: Path, toy: type[ToyAssistant]) -> None:
    assistant = make_assistant("toy-vlm", budget={"context_window": 300})
    answer = VideoQA("uniform", assistant, k=6).ask(video_40s, "What is shown?")
    plan: dict[str, Any] = answer.estimate
    assert plan["n_frames"] == 6
    assert plan["image_settings"] == {"grain": "coarse"}
    assert {f.grain for f in toy.sent[-1]} == {"coarse"}
    assert plan["input_tokens"] <= plan["budget"]
    fine = 6 * estimate_image_tokens("toy-vlm", 160, 90, grain="fine")
    assert plan["text_tokens"] + fine > plan["budget"]  # the better grain would not have fitted
    assert any("grain=coarse" in note for note in plan["notes"])


def _seconds(label: str) -> float:
    h, m, s = label.strip("[]").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


# --- gens-tools ask ----------------------------------------------------------------------------------------------


def _ask(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ask", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_ask_with_the_toy_and_its_options(
    video_40s: Path, toy: type[ToyAssistant], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _ask(
        capsys,
        str(video_40s),
        "What is on screen?",
        "--assistant",
        "toy-vlm",
        "--style",
        "pirate",
        "--grain",
        "coarse",
        "-k",
        "3",
        "--json",
        "--no-cache",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["provider"] == "toy"
    assert data["answer"].startswith("Arr, I saw 3 frames")
    assert data["estimate"]["image_settings"] == {"grain": "coarse"}
    assert [f.grain for f in toy.sent[-1]] == ["coarse"] * 3
    assert data["citations"] == [_seconds(data["images"][0]["label"]), _seconds(data["images"][-1]["label"])]
    code, out, err = _ask(
        capsys, str(video_40s), "What is on screen?", "--assistant", "toy", "-k", "2", "-q", "--no-cache"
    )
    assert code == 0, err
    assert out.startswith("I saw 2 frames")
    assert "(grain=fine, ≤160px)" in out
    assert "(toy toy-vlm-001)" in out


def test_cli_help_lists_the_toys_options(toy: type[ToyAssistant], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    out = capsys.readouterr().out
    assert "--style {plain,pirate}" in out
    assert "how the toy words its answer [toy]" in out
    assert "OpenAI image detail (default: planner) [openai]" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--assistant", "toy-vlm", "--detail", "low"], "--detail does not apply to the toy assistant (toy-vlm)"),
        (["--assistant", "toy-vlm", "--api", "responses"], "--api does not apply to the toy assistant"),
        (["--assistant", "gpt-4o", "--style", "pirate"], "--style does not apply to the openai assistant (gpt-4o)"),
        (["--assistant", "gemini-2.5-flash", "--grain", "fine"], "its own options: --media-resolution"),
    ],
)
def test_cli_refuses_options_of_another_provider(
    video_40s: Path,
    toy: type[ToyAssistant],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unused")
    monkeypatch.setenv("GEMINI_API_KEY", "unused")
    code, out, err = _ask(capsys, str(video_40s), "What?", *args)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert toy.sent == []


# --- what registration refuses -----------------------------------------------------------------------------------


class _Silent(Assistant):
    provider: ClassVar[str] = "silent"
    default_model: ClassVar[str] = "silent-1"

    def _request(self, plan: FramePlan, question: str) -> Reply:
        return Reply("")

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        return Reply("")


def _variant(**attrs: Any) -> type[Assistant]:
    return type("Variant", (_Silent,), dict(attrs))


@pytest.mark.parametrize(
    ("attrs", "needle"),
    [
        ({"provider": "OpenAI"}, "lower-case name"),
        ({"provider": "openai"}, "already registered"),
        ({"default_model": ""}, "default_model"),
        ({"model_prefixes": ("gemini",)}, "already served by the gemini provider"),
        ({"serves_any_model": True}, "already serves every other model name"),
        ({"provider_options": (ProviderOption("timeout", "mine"),)}, "'timeout'"),
        ({"model_table": {"silent-1": {"context_window": 1000}}}, "incomplete"),
        (
            {
                "model_table": {
                    "silent-1": {"context_window": 9000, "output_reserve": 10, "image_rule": "nope", "max_images": 5}
                }
            },
            "unknown image_rule 'nope'",
        ),
        (
            {
                "model_table": {
                    "gpt-4o": {
                        "context_window": 9000,
                        "output_reserve": 10,
                        "image_rule": "openai_tile",
                        "max_images": 5,
                    }
                }
            },
            "belongs to the openai provider",
        ),
        ({"image_rules": (ToyPixelRule(), "flat")}, "ImageRule"),
    ],
)
def test_registration_refuses_what_cannot_work(attrs: dict[str, Any], needle: str) -> None:
    before = (assistant_providers(), dict(MODEL_TABLE))
    with pytest.raises(InvalidArgumentError, match=needle):
        register_assistant(_variant(**attrs))
    assert (assistant_providers(), dict(MODEL_TABLE)) == before
    with pytest.raises(InvalidArgumentError, match="unknown image_rule 'toy_pixels'"):
        resolve_limits("gpt-4o", {"image_rule": "toy_pixels"})  # a refused provider leaves no rule behind


def test_registration_refuses_abstract_classes_and_non_assistants() -> None:
    class Half(Assistant):
        provider: ClassVar[str] = "half"
        default_model: ClassVar[str] = "half-1"

    with pytest.raises(InvalidArgumentError, match="_request"):
        register_assistant(Half)
    with pytest.raises(InvalidArgumentError, match="Assistant subclass"):
        register_assistant(dict)  # type: ignore[type-var]


def test_a_provider_can_be_registered_with_the_decorator_and_replaced() -> None:
    try:

        @register_assistant
        class Quiet(_Silent):
            provider: ClassVar[str] = "quiet"
            default_model: ClassVar[str] = "quiet-1"

        assert provider_for("quiet") == ("quiet", "quiet-1")
        assert isinstance(make_assistant("quiet"), Quiet)

        @register_assistant(replace=True)
        class Quieter(_Silent):
            provider: ClassVar[str] = "quiet"
            default_model: ClassVar[str] = "quiet-2"

        assert provider_for("quiet") == ("quiet", "quiet-2")
        assert isinstance(make_assistant("quiet"), Quieter)
    finally:
        unregister_assistant("quiet")
    assert "quiet" not in assistant_providers()


class _Echo(_Silent):
    """Answers with its own ``fps`` option (a name whose flag ``--fps`` the sampling options already use)."""

    provider: ClassVar[str] = "echo"
    default_model: ClassVar[str] = "echo-1"
    provider_options = (ProviderOption("fps", "echo's own frame rate", type=float),)

    def __init__(self, model: str, *, fps: float = 1.0, **options: Any) -> None:
        super().__init__(model, **options)
        self.fps = fps

    def _request(self, plan: FramePlan, question: str) -> Reply:
        return Reply(f"echo fps={self.fps:g} with {len(plan.images)} frames")


def test_a_provider_flag_already_taken_gets_the_provider_prefix(
    video_40s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_assistant(_Echo)
    try:
        code, out, err = _ask(
            capsys,
            str(video_40s),
            "What?",
            "--assistant",
            "echo",
            "--echo-fps",
            "3",
            "--fps",
            "0.5",
            "-k",
            "2",
            "--json",
            "--no-cache",
        )
        assert code == 0, err
        assert json.loads(out)["answer"] == "echo fps=3 with 2 frames"
        code, out, err = _ask(capsys, str(video_40s), "What?", "--echo-fps", "3")
        assert code == 1
        assert "--echo-fps does not apply to the openai assistant (gpt-4o)" in err
    finally:
        unregister_assistant("echo")
