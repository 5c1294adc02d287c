#!/usr/bin/env bash
# Install gens-tools with every extra, the LangChain and LlamaIndex integrations and the test tools into
# ./.venv (created if missing), pinned by scripts/constraints.txt. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
C=(-c scripts/constraints.txt)
python -m pip install -q --upgrade pip
# The CPU build of torch (an unpinned `torch` would pull a multi-GB CUDA build).
python -m pip install -q "${C[@]}" "torch==2.13.0"
python -m pip install -q "${C[@]}" \
  -e ".[local,decord,openai,gemini,mcp,report,eval,ray,dev]" \
  -e "integrations/langchain[test]" \
  -e "integrations/llama-index[test]"
