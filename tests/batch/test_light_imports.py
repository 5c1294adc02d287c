"""The evaluation and batch modules, and the CLI that registers them, import none of their optional
dependencies (ray, matplotlib, pyarrow) nor a provider SDK until a run asks for them."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ["ray", "matplotlib", "pyarrow", "openai", "torch"]


def test_eval_and_batch_import_light() -> None:
    code = (
        "import sys, gens_tools.eval, gens_tools.batch, gens_tools.cli, gens_tools.synthetic;"
        "import gens_tools.samplers.precomputed;"
        "gens_tools.cli.build_parser();"
        f"print(','.join(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at startup: {proc.stdout.strip()}"
