#!/usr/bin/env bash
# Install gens-tools with every extra, the integrations and the test tools into ./.venv (created if missing).
# Safe to run again: an up-to-date venv installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU build of torch (an unpinned `torch` would pull a multi-GB CUDA build).
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[local,decord,openai,gemini,dev]"
for pkg in integrations/langchain integrations/llama-index; do
  if [ -f "$pkg/pyproject.toml" ]; then
    python -m pip install -q -e "$pkg[test]" 2>/dev/null || python -m pip install -q -e "$pkg"
  fi
done
