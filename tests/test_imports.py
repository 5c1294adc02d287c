"""The core imports without the optional integrations (and without paying for them at import time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "transformers", "openai", "google.genai", "langchain_core", "llama_index", "decord", "mcp", "uvicorn"]


def test_core_and_cli_do_not_import_optional_dependencies() -> None:
    code = (
        "import sys, gens_tools, gens_tools.pipeline, gens_tools.cli, gens_tools.assistants, gens_tools.samplers,"
        " gens_tools.agent, gens_tools.mcp;"
        "gens_tools.cli.build_parser();"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules];"
        "print(','.join(loaded))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at startup: {proc.stdout.strip()}"


def test_public_api_is_typed_and_documented() -> None:
    import importlib.resources
    import inspect

    import gens_tools

    assert importlib.resources.files("gens_tools").joinpath("py.typed").is_file()
    for name in gens_tools.__all__:
        obj = getattr(gens_tools, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
