"""The assistants package stays light: no SDK is imported until an assistant is built, and a missing SDK is
a clear, typed error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gens_tools.assistants import make_assistant, provider_for
from gens_tools.errors import BackendUnavailableError, InvalidArgumentError


def test_importing_does_not_load_the_sdks() -> None:
    code = (
        "import sys\n"
        "import gens_tools.assistants, gens_tools.cli._ask, gens_tools.qa\n"
        "from gens_tools.assistants import plan_frames, estimate_image_tokens, parse_citations\n"
        "bad = [m for m in ('openai', 'google.genai', 'httpx2', 'aiohttp') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("module", "name", "hint"),
    [("openai", "gpt-4o", "gens-tools[openai]"), ("google.genai", "gemini-2.5-flash", "gens-tools[gemini]")],
)
def test_missing_sdk_is_a_backend_error(monkeypatch: pytest.MonkeyPatch, module: str, name: str, hint: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    if module == "google.genai":
        monkeypatch.setitem(sys.modules, "google", None)
    with pytest.raises(BackendUnavailableError, match=hint.replace("[", r"\[").replace("]", r"\]")):
        make_assistant(name, api_key="k")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o", ("openai", "gpt-4o")),
        ("gemini-2.5-flash", ("gemini", "gemini-2.5-flash")),
        ("gemini", ("gemini", "gemini-flash-latest")),
        ("openai:my-vlm", ("openai", "my-vlm")),
        ("gemini:custom-tuned", ("gemini", "custom-tuned")),
        ("o3", ("openai", "o3")),
    ],
)
def test_provider_by_name(name: str, expected: tuple[str, str]) -> None:
    assert provider_for(name) == expected


def test_bad_assistant_names_and_options() -> None:
    for bad in ("", "openai:", "  "):
        with pytest.raises(InvalidArgumentError):
            provider_for(bad)
    with pytest.raises(InvalidArgumentError, match="does not accept"):
        make_assistant("gpt-4o", api_key="k", no_such_option=1)
