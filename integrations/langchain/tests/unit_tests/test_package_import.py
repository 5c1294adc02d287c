"""The package imports light: no video decoder, model runtime, provider SDK or agent framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import langchain_gens

HEAVY = ["av", "decord", "torch", "transformers", "openai", "google.genai", "langchain", "langgraph"]


def test_import_pulls_in_no_optional_dependency() -> None:
    package_dir = Path(langchain_gens.__file__).resolve().parents[1]
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import langchain_gens; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(package_dir)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_public_names() -> None:
    for name in langchain_gens.__all__:
        assert getattr(langchain_gens, name) is not None, name
